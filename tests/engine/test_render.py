"""The canonical renderer (fileformat._render, through the C JSON encoder) writes exactly what the
hand-written recursive renderer it replaced wrote, byte for byte, for random values and random
workflows, and refuses what that one refused with the same sentence."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import Edge, Node, Workflow, WorkflowFileError, dumps, fileformat

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- the previous renderer, kept here as the specification ---------------------------------
def _scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list)) or not value


def reference(value: Any, indent: int) -> str:
    if isinstance(value, dict) and value:
        for key in value:
            if not isinstance(key, str):
                raise WorkflowFileError(f"cannot write the key {key!r:.60}: JSON object keys "
                                        f"must be strings")
        items = [(json.dumps(k, ensure_ascii=False), v) for k, v in value.items()]
        if all(_scalar(v) for _, v in items):
            line = "{" + ", ".join(f"{k}: {reference(v, 0)}" for k, v in items) + "}"
            if indent + len(line) <= 100:
                return line
        pad = " " * (indent + 2)
        body = ",\n".join(f"{pad}{k}: {reference(v, indent + 2)}" for k, v in items)
        return "{\n" + body + "\n" + " " * indent + "}"
    if isinstance(value, list) and value:
        if all(_scalar(v) for v in value):
            line = "[" + ", ".join(reference(v, 0) for v in value) + "]"
            if indent + len(line) <= 100:
                return line
        pad = " " * (indent + 2)
        body = ",\n".join(pad + reference(v, indent + 2) for v in value)
        return "[\n" + body + "\n" + " " * indent + "]"
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise WorkflowFileError(f"cannot write {value!r:.60}: not a JSON value") from None


def reference_dumps(workflow: Workflow) -> str:
    return reference(fileformat.to_document(workflow), 0) + "\n"


# --- strategies ---------------------------------------------------------------------------
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40) | st.sampled_from(
    ["", "x" * 95, "é\u2028\"\\\n\t", "💡" * 30])
scalars = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
           | st.floats(allow_nan=False, allow_infinity=False) | texts)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=8)
                      | st.dictionaries(texts, inner, max_size=8), max_leaves=20)


@st.composite
def workflows(draw) -> Workflow:
    count = draw(st.integers(0, 4))
    nodes = [Node(f"n{i}", draw(st.sampled_from(["data.value", "data.expression", "x.y"])),
                  title=draw(texts), params=draw(st.dictionaries(texts, values, max_size=3)),
                  position=(draw(st.floats(-1e6, 1e6)), draw(st.floats(-1e6, 1e6))),
                  extra=draw(st.dictionaries(st.sampled_from(["ui", "note", "zz"]), values,
                                             max_size=2)))
             for i in range(count)]
    ids = [n.id for n in nodes]
    edges = []
    if ids:
        for _ in range(draw(st.integers(0, 6))):
            edges.append(Edge(draw(st.sampled_from(ids)), draw(texts).strip() or "out",
                              draw(st.sampled_from(ids)), "in",
                              extra=draw(st.dictionaries(st.just("ui"), values, max_size=1))))
    return Workflow(draw(texts), description=draw(texts), nodes=nodes, edges=edges,
                    extra=draw(st.dictionaries(st.sampled_from(["ui", "meta"]), values,
                                               max_size=2)))


# --- properties ---------------------------------------------------------------------------
@SETTINGS
@given(values, st.integers(0, 40))
def test_any_value_renders_as_the_previous_renderer_did(value, indent):
    assert fileformat._render(value, indent) == reference(value, indent)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(workflows())
def test_any_workflow_dumps_as_the_previous_renderer_did(workflow):
    text = dumps(workflow)
    assert text == reference_dumps(workflow)
    assert json.loads(text) == json.loads(reference_dumps(workflow))


@pytest.mark.parametrize("bad", [
    {"ok": 1, "bad": math.nan}, [1, {2}], {"a": [1, object()]}, {1: "x"},
    {"a": {"b": {3: 4}}}, ["fine", math.inf, {1, 2}], {"t": ({1: 2}, {3})},
    {"long": ["x" * 90, {"k": b"bytes"}]},
])
def test_values_json_cannot_write_are_refused_with_the_same_sentence(bad):
    with pytest.raises(WorkflowFileError) as old:
        reference(bad, 0)
    with pytest.raises(WorkflowFileError) as new:
        fileformat._render(bad, 0)
    assert str(new.value) == str(old.value)


def test_tuples_and_subclasses_render_as_before():
    class Tag(str):
        pass

    value = {"t": (1, "a", {"k": [2]}), "s": Tag("x"), "nested": [[], {}, (), [1, [2]]]}
    assert fileformat._render(value, 0) == reference(value, 0)
    assert fileformat._render(value, 70) == reference(value, 70)
