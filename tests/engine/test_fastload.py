"""engine/fastload.py's one-pass reader gives, for every file it takes, exactly what the
general reader (read_json -> migrate -> from_document) gives, and `loads` gives the general
reader's answer for every file: the same Workflow (field by field, value types included), the
same problems, the same error sentence. Over the shipped files, their fuzzed variants and
randomly made documents of every odd shape (extra keys, missing positions, unicode ids, nested
params, duplicate keys, numbers the reader refuses, deep nesting, frames, bad edges)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from engine import WorkflowFileError, fileformat
from engine.fastload import usual_workflow
from engine.model import Edge, Node, Workflow, new_edge, new_node
from tests.engine.fuzzing import KINDS, SHIPPED, mutate


def _typed(value: Any) -> Any:
    """`value` with the type of every part kept, so 1, 1.0 and True differ, as do [] and ()."""
    if isinstance(value, dict):
        return ("dict", type(value), [(k, _typed(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value), [_typed(v) for v in value])
    return (type(value), repr(value))


def _model(workflow: Workflow) -> Any:
    return _typed({
        "name": workflow.name, "description": workflow.description, "extra": workflow.extra,
        "nodes": [(type(n), vars(n)) for n in workflow.nodes.values()],
        "node ids": list(workflow.nodes),
        "edges": [(type(e), vars(e)) for e in workflow.edges],
        "frames": [(type(f), vars(f)) for f in workflow.frames.values()],
    })


def _general(text: str) -> Any:
    """The general reader's answer: (model, problems) or the error sentence."""
    try:
        doc, problems = fileformat._parse(text, "the workflow")
        loaded = fileformat.from_document(doc)
    except WorkflowFileError as exc:
        return str(exc)
    return _model(loaded.workflow), [str(p) for p in problems + loaded.problems]


def _loads(text: str) -> Any:
    try:
        loaded = fileformat.loads(text)
    except WorkflowFileError as exc:
        return str(exc)
    return _model(loaded.workflow), [str(p) for p in loaded.problems]


def _compare(text: str) -> bool:
    """Asserts fast == general where the fast path answers and loads == general always;
    whether the fast path answered."""
    general = _general(text)
    assert _loads(text) == general
    fast = usual_workflow(text, fileformat.FORMAT, fileformat.VERSION)
    if fast is None:
        return False
    assert not isinstance(general, str), general
    assert general == (_model(fast), []), "the fast path read the file differently"
    return True


_IDS = ("n1", "n2", "n3", "é", "节点", "😀", "a b", "", "n1", "x" * 300, "\u202e", "n\"q")
_STRINGS = ("", "x", "x + 1", "é", "😀", "\\", '"', "line\nbreak", "1", "null", "{", "]")
_NUMBERS = (0, -1, 1, 2 ** 63, -(10 ** 299), 10 ** 299, 1.5, -0.0, 0.0, 1e300, 1e-300, 2.0)


def _scalar(rng: random.Random) -> Any:
    return rng.choice([rng.choice(_STRINGS), rng.choice(_NUMBERS), True, False, None])


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.55:
        return _scalar(rng)
    if roll < 0.8:
        return [rng.choice(_STRINGS) for _ in range(rng.randrange(4))] if rng.random() < 0.5 \
            else [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(_STRINGS) or "k": _value(rng, depth + 1) for _ in range(rng.randrange(4))}


def _node(rng: random.Random, index: int) -> Any:
    if rng.random() < 0.02:
        return rng.choice([None, 1, "n", [], [{"id": "x"}]])
    node: dict[str, Any] = {}
    if rng.random() < 0.97:
        node["id"] = rng.choice(_IDS) if rng.random() < 0.2 else f"n{index}"
    if rng.random() < 0.97:
        node["type"] = rng.choice(["data.expression", "flow.foreach", "é.type", "", 3])
    if rng.random() < 0.6:
        node["title"] = rng.choice(["", "A title", "é", 5])
    if rng.random() < 0.9:
        node["params"] = {rng.choice(["expr", "inputs", "n", "é", "x"]): _value(rng)
                          for _ in range(rng.randrange(4))} if rng.random() < 0.98 else [1]
    if rng.random() < 0.8:
        node["position"] = rng.choice([[0, 0], [1.5, -2], [10 ** 299, 0], [True, 0], [1, 2, 3],
                                       [0.25, 0.5], "0,0", [-0.0, 3]])
    for key in ("retry", "on_error", "timeout_s", "limits", "pool", "priority", "disabled",
                "ui", "x-note"):
        if rng.random() < 0.02:
            node[key] = _value(rng)
    keys = list(node)
    rng.shuffle(keys)
    return {k: node[k] for k in keys}


def _edge(rng: random.Random, ids: list[str]) -> Any:
    if rng.random() < 0.02:
        return rng.choice([None, "e", [], {}])
    edge: dict[str, Any] = {"source": rng.choice(ids or ["n1"]), "source_port": "out",
                            "target": rng.choice(ids or ["n1"]),
                            "target_port": rng.choice(["x", "in", "a0", "é"])}
    if rng.random() < 0.03:
        del edge[rng.choice(list(edge))]
    if rng.random() < 0.03:
        edge[rng.choice(list(edge))] = rng.choice(["", 1, None])
    if rng.random() < 0.03:
        edge["label"] = _value(rng)
    return edge


def _document(rng: random.Random) -> str:
    count = rng.choice([0, 1, 3, 20, 60])
    nodes = [_node(rng, i) for i in range(count)]
    if rng.random() < 0.5:  # every node with its five keys, as a saved file has them
        usual = {"id": "n", "type": "data.expression", "title": "", "params": {},
                 "position": [0, 0]}
        nodes = [{**usual, **n} if isinstance(n, dict) else n for n in nodes]
    ids = [n["id"] for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)]
    edges = [_edge(rng, ids) for _ in range(rng.randrange(2 * count + 1))]
    if edges and rng.random() < 0.05:
        edges.append(dict(edges[0]) if isinstance(edges[0], dict) else edges[0])  # a repeat
    doc: dict[str, Any] = {"format": fileformat.FORMAT, "version": 1, "name": "w",
                           "description": "", "nodes": nodes, "edges": edges}
    for key, value in (("format", "other"), ("version", rng.choice([0, 2, True, "1", 1.0])),
                       ("name", 3), ("description", None), ("nodes", {}), ("edges", "x")):
        if rng.random() < 0.02:
            doc[key] = value
    for key in ("name", "description", "nodes", "edges"):
        if rng.random() < 0.02:
            del doc[key]
    if rng.random() < 0.05:
        doc[rng.choice(["frames", "ui", "pools", "settings", "zzz"])] = _value(rng)
    text = json.dumps(doc, ensure_ascii=rng.random() < 0.5,
                      indent=rng.choice([None, 2]))
    return _raw_tokens(text, rng)


def _raw_tokens(text: str, rng: random.Random) -> str:
    """Raw JSON the encoder cannot write: numbers the reader refuses, deep nesting, a repeated
    key, put in place of a value (`"x + 1"` or `0` where the text has one)."""
    roll = rng.random()
    if roll > 0.25:
        return text
    raw = rng.choice(["1e400", "-1e400", "NaN", "Infinity", "9" * 301, "-" + "9" * 300,
                      "9" * 300, "[" * 96 + "]" * 96, "[" * 97 + "]" * 97, "{}", "1E5",
                      '{"a": 1, "a": 2}', '"\\ud800"', '"\\u00e9"'])
    for target in ('"x + 1"', " 0", '"x"'):
        if target in text:
            at = rng.choice([i for i in range(len(text)) if text.startswith(target, i)][:50])
            lead = " " if target.startswith(" ") else ""
            return text[:at] + lead + raw + text[at + len(target):]
    return text


@pytest.mark.parametrize("seed", range(6))
def test_random_documents_read_the_same_by_both_paths(seed):
    rng = random.Random(seed)
    fast = 0
    for _ in range(250):
        fast += _compare(_document(rng))
    assert fast >= 20  # the fast path is taken often enough to be tested


def test_shipped_files_and_their_fuzzed_variants_read_the_same():
    rng = random.Random(5)
    fast = 0
    for path in SHIPPED:
        text = path.read_text(encoding="utf-8")
        fast += _compare(text)
        for kind in KINDS:
            variant = mutate(text, kind, rng, small=True)
            try:
                fast += _compare(variant.decode("utf-8"))
            except UnicodeDecodeError:
                continue  # load() refuses such bytes before any reader sees them
    assert fast >= 9  # every example without extra top-level keys, and some variants


def test_a_chain_in_the_usual_shape_takes_the_fast_path_and_keeps_its_text():
    nodes = [{"id": f"n{i}", "type": "data.expression", "title": "",
              "params": {"expr": "x + 1", "inputs": ["x"]}, "position": [i * 1.5, 0]}
             for i in range(200)]
    edges = [{"source": f"n{i}", "source_port": "out", "target": f"n{i + 1}",
              "target_port": "x"} for i in range(199)]
    text = json.dumps({"format": fileformat.FORMAT, "version": 1, "name": "c",
                       "description": "", "nodes": nodes, "edges": edges}, indent=2)
    assert _compare(text)
    canonical = fileformat.dumps(fileformat.loads(text).workflow)
    assert _compare(canonical)
    assert fileformat.dumps(fileformat.loads(canonical).workflow) == canonical


def test_refusals_keep_their_sentences():
    base = {"format": fileformat.FORMAT, "version": 1, "nodes": [
        {"id": "a", "type": "t", "params": {"n": 0}}], "edges": []}
    text = json.dumps(base)
    for raw, words in (("9" * 301, "MAX_INT_DIGITS"), ("1e400", "too large"),
                       ("NaN", "not a JSON number"), ("[" * 101 + "]" * 101, "MAX_DEPTH")):
        variant = text.replace('"n": 0', f'"n": {raw}')
        assert usual_workflow(variant, fileformat.FORMAT, fileformat.VERSION) is None
        with pytest.raises(WorkflowFileError, match=words):
            fileformat.loads(variant)
    for position in (f"[0, {'9' * 301}]", f"[-{'9' * 301}, 0]", f"[1.5, {'9' * 301}]"):
        for title in ("", '"title": "", '):  # a node of three keys, or of all five
            big = text.replace('"params"', f'{title}"position": {position}, "params"')
            assert usual_workflow(big, fileformat.FORMAT, fileformat.VERSION) is None
            with pytest.raises(WorkflowFileError, match="MAX_INT_DIGITS"):
                fileformat.loads(big)
    # a params value sits at level 5 (document, nodes, node, params): 96 brackets reach 100
    for brackets, fast in ((96, True), (97, False)):
        variant = text.replace('"n": 0', f'"n": {"[" * brackets}{"]" * brackets}')
        assert _compare(variant) is fast
        if not fast:
            with pytest.raises(WorkflowFileError, match="MAX_DEPTH"):
                fileformat.loads(variant)
    twice = text.replace('"n": 0', '"n": 0, "n": 1')
    assert usual_workflow(twice, fileformat.FORMAT, fileformat.VERSION) is None
    assert "appears more than once" in str(fileformat.loads(twice).problems[0])


def test_new_node_is_the_dataclass_with_its_defaults():
    made = new_node("a", "t", "T", {"p": 1}, (1, 2.5))
    assert vars(made) == vars(Node("a", "t", "T", {"p": 1}, (1, 2.5)))
    assert list(vars(made)) == list(vars(Node("a", "t", "T", {"p": 1}, (1, 2.5))))
    assert made == Node("a", "t", "T", {"p": 1}, (1, 2.5))


def test_new_edge_is_the_dataclass():
    made = new_edge("a", "out", "b", "x")
    assert list(vars(made).items()) == list(vars(Edge("a", "out", "b", "x")).items())
    assert made == Edge("a", "out", "b", "x") and hash(made) == hash(Edge("a", "out", "b", "x"))
    assert made.extra is not new_edge("a", "out", "b", "x").extra
    assert new_node("a", "t", "", {}, (0, 0)).extra is not new_node("a", "t", "", {}, (0, 0)).extra
