"""`run --json`'s one-pass writer (builder/cli_result.py) gives the text the full path gave,
`_dump({"run_id": ..., **result.to_json(), "alerts": ...})`, byte for byte: over random run
states holding awkward values (NaN and infinite floats, ints where floats go, big ints, ±0.0,
times at the edges of repr's notations, non-ASCII and lone-surrogate ids and errors, non-str
ids, odd statuses, loops, replayed nodes; outputs and alerts with bytes, sets, tuples, nested
dicts with non-str keys, objects), over real runs, and with a secret the run read masked."""

from __future__ import annotations

import asyncio
import json
import math
import random
from typing import Any

import pytest

from builder.cli import _dump, _json_key, jsonable
from builder.cli_result import _moment, dumps_result
from engine.compile import compile_workflow
from engine.context import Services
from engine.executor import Run
from engine.fileformat import loads
from engine.nodetype import NodeType, Port
from engine.registry import Registry
from engine.runstate import NodeRun, RunResult
from nodes import default_registry
from tests.record.conftest import edge, node, workflow

STATUSES = ["succeeded"] * 12 + ["failed", "skipped", "cancelled", "pending", "running",
                                 "Succeeded", "succeeded\n", "é"]
TIMES = [0.0, -0.0, 1e-06, 5e-07, 4.9999e-07, 2.5e-07, 1e-4, 9.99999e-05, 0.000123456, 0.5,
         1.7413251, 999999.9999994, 1e6, 1e7 + 0.25, 1e300, -0.25, math.nan, math.inf,
         -math.inf, 0, 3, True]
TEXTS = [None, "boom", "é ☃", "\ud800 lone", 'q"uote\n', "}{][, ", "", "\x00"]


class Odd:
    def __repr__(self) -> str:
        return "Odd<é>"


AWKWARD = [math.nan, math.inf, -math.inf, 2 ** 70000, -(2 ** 64), b"\x00\xffbytes",
           bytearray(b"ab"), {3, 1}, frozenset({"x"}), (1, "t"), {1: "one", (2, 3): [4]},
           {"nested": {"deep": [1.5, None, True, "\udcff"]}}, Odd(), "é☃", "\ud83d", 1e-7,
           -0.0, [], {}, [[]], {"$bytes": "x"}]


def _time(rng: random.Random) -> Any:
    if rng.random() < 0.7:
        return rng.choice([rng.uniform(0, 3), rng.uniform(0, 1e-4), 10 ** rng.uniform(-8, 5)])
    return rng.choice(TIMES)


def _node_run(rng: random.Random, node_id: Any, t0: Any) -> NodeRun:
    if rng.random() < 0.5 and isinstance(t0, float):  # as the engine leaves most nodes
        spent = rng.choice([rng.uniform(0, 1e-4), rng.uniform(0, 2)])
        start = t0 + rng.uniform(0, 10)
        return NodeRun(node_id, "succeeded", attempts=1, runs=1, successes=1,
                       duration_s=spent, attempt_durations_s=(spent,), started_t=start,
                       ended_t=start + spent + rng.choice([0.0, rng.uniform(0, 1e-5)]),
                       queued_s=rng.choice([0.0, 0.0, rng.uniform(0, 1e-3)]),
                       error=rng.choice(TEXTS))
    nr = NodeRun(node_id, rng.choice(STATUSES))
    nr.attempts = rng.choice([1, 1, 1, 0, 2, True, -1, 2 ** 14_001])
    nr.duration_s = _time(rng)
    nr.queued_s = 0.0 if rng.random() < 0.6 else _time(rng)
    roll = rng.random()
    if roll < 0.6:
        nr.attempt_durations_s = (nr.duration_s,)  # the same float, as the engine gives it
    elif roll < 0.7:
        nr.attempt_durations_s = (float(nr.duration_s) if type(nr.duration_s) is not bool
                                  else 1.0,)
    else:
        nr.attempt_durations_s = tuple(_time(rng) for _ in range(rng.choice([0, 1, 2, 3])))
    base = t0 if isinstance(t0, (int, float)) else 100.0
    if rng.random() < 0.9:
        nr.started_t = base + _time(rng) if rng.random() < 0.9 else rng.choice(TIMES)
    if rng.random() < 0.9:
        nr.ended_t = (nr.started_t or base) + _time(rng)
    nr.error = rng.choice(TEXTS)
    nr.reason = rng.choice(TEXTS)
    nr.cached = rng.random() < 0.1
    if rng.random() < 0.15:  # a node in a loop
        nr.runs, nr.successes, nr.failures, nr.skips = (rng.randint(0, 4) for _ in range(4))
    else:
        nr.runs = nr.successes = 1
    return nr


def _node_id(rng: random.Random, i: int) -> Any:
    if rng.random() < 0.9:
        return f"n{i}"
    return rng.choice([f"é{i}", f"\ud800{i}", i, str(i - 1), (i, "t"), f'q"{i}', f"n{i}\n"])


def _result(rng: random.Random) -> tuple[RunResult, dict[str, Any], dict[str, Any]]:
    t0 = rng.choice([1234.5678, 1234.5678, 0.0, None, 7, math.nan])
    ids = [_node_id(rng, i) for i in range(rng.choice([0, 1, 2, 5, 12]))]
    nodes = {nid: _node_run(rng, nid, t0) for nid in ids}
    outputs: dict[Any, Any] = {}
    for i in range(rng.choice([0, 0, 1, 3])):
        outputs[rng.choice([f"o{i}", i, f"ö{i}"])] = rng.choice(AWKWARD + [i, "x", 0.5])
    result = RunResult(rng.choice(["abc123", "ré\ud800"]), rng.choice(["succeeded", "failed"]),
                       outputs, nodes, error=rng.choice(TEXTS),
                       duration_s=rng.random(), started_t=t0)
    after: dict[str, Any] = {}
    roll = rng.random()
    if roll < 0.3:
        after["alerts"] = [{"name": "slow", "value": rng.choice(AWKWARD)}]
    elif roll < 0.35:
        after["status"] = "overridden"  # a key of the result: written where it was
    elif roll < 0.4:
        after["nodes"] = rng.choice(AWKWARD)
    return result, {"run_id": result.run_id}, after


def _full_path(result: RunResult, before: dict[str, Any], after: dict[str, Any]) -> str:
    return _dump({**before, **result.to_json(), **after})


def test_the_one_pass_text_is_the_full_paths_over_random_results(monkeypatch):
    rng = random.Random(1717)
    walked = []
    to_json = NodeRun.to_json

    def counted(self: NodeRun, run_t0: float | None = None) -> dict[str, Any]:
        walked.append(self.node_id)
        return to_json(self, run_t0)

    nodes = 0
    for _ in range(3000):
        result, before, after = _result(rng)
        expected = _full_path(result, before, after)
        monkeypatch.setattr(NodeRun, "to_json", counted)
        got = dumps_result(result, before, after, jsonable, _json_key)
        monkeypatch.setattr(NodeRun, "to_json", to_json)
        assert got == expected, (result, after)
        nodes += len(result.nodes)
    # both ways were taken often: the template for the usual node, the walk for the rest
    assert 0.2 * nodes < len(walked) < 0.8 * nodes


def test_a_usual_node_is_written_by_the_template_as_the_walk_writes_it(monkeypatch):
    nr = NodeRun("n1", "succeeded", attempts=1, runs=1, successes=1, duration_s=2.5e-05,
                 attempt_durations_s=(2.5e-05,), started_t=10.000123, ended_t=10.5)
    result = RunResult("r", "succeeded", {}, {"n1": nr}, started_t=10.0)
    monkeypatch.setattr(NodeRun, "to_json", None)  # the template needs no to_json
    text = dumps_result(result, {"run_id": "r"}, {}, jsonable, _json_key)
    monkeypatch.undo()
    assert text == _full_path(result, {"run_id": "r"}, {})
    assert json.loads(text)["nodes"]["n1"]["started_s"] == 0.000123


def test_a_time_is_written_as_repr_of_it_rounded_to_six_places():
    rng = random.Random(5)
    values = [rng.uniform(0, 5) for _ in range(20_000)]
    values += [10 ** rng.uniform(-9, 7) for _ in range(20_000)]
    values += [1e-4, 9.9999949e-05, 9.999995e-05, 999999.9999995, 1e6, 0.0, -0.0, -1e-9,
               0.1234565, 2.0000005, 1e300, -3.5]
    for value in values:
        assert _moment(value) == repr(round(value, 6)), value


def _chain(n: int) -> dict[str, Any]:
    nodes = [node("n0", "data.expression", expr="0", inputs=[])]
    nodes += [node(f"n{i}", "data.expression", expr="x + 1", inputs=["x"]) for i in range(1, n)]
    edges = [edge(f"n{i - 1}", f"n{i}", "out", "x") for i in range(1, n)]
    nodes.append(node("out", "flow.output", name="last"))
    edges.append(edge(f"n{n - 1}", "out", "out", "in"))
    return workflow("chain", nodes, edges)


def _run(doc: dict[str, Any], registry: Registry, services: Services | None = None
         ) -> RunResult:
    compiled = compile_workflow(loads(json.dumps(doc), registry).workflow, registry)
    return asyncio.run(Run(compiled, services=services).execute())


def test_a_real_run_is_written_as_before():
    result = _run(_chain(300), default_registry())
    assert result.ok, result.error
    text = dumps_result(result, {"run_id": result.run_id}, {}, jsonable, _json_key)
    assert text == _full_path(result, {"run_id": result.run_id}, {})
    assert json.loads(text)["outputs"] == {"last": 299}


SECRET = "tok-9f8e7d-very-secret"


class Leak(NodeType):
    """Hands the secret it reads on, inside a nested value."""

    type_id = "test.leak"
    outputs = (Port("out", "dict"),)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        token = ctx.secret("API_TOKEN")
        return {"out": {"header": f"Bearer {token}", "seen": [token, {"k": token}]}}


@pytest.mark.parametrize("fail", [False, True])
def test_a_secret_the_run_read_stays_masked(fail):
    registry = default_registry()
    registry.register(Leak)
    nodes = [node("leak", "test.leak"), node("out", "flow.output", 100, name="leaked")]
    edges = [edge("leak", "out", "out", "in")]
    if fail:  # the secret in an error too
        nodes.append(node("bad", "data.expression", 200, expr="x['nope' + x['header']]"))
        edges.append(edge("leak", "bad", "out", "x"))
    services = Services(secrets={"API_TOKEN": SECRET}.get)
    result = _run(workflow("leak", nodes, edges), registry, services)
    assert result.status == ("failed" if fail else "succeeded"), result.error
    text = dumps_result(result, {"run_id": result.run_id}, {"alerts": [SECRET[:3]]}, jsonable,
                        _json_key)
    assert text == _full_path(result, {"run_id": result.run_id}, {"alerts": [SECRET[:3]]})
    assert SECRET not in text
    assert "Bearer" in text
