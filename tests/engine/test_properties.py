"""Property tests over random DAGs of expressions, conditions and merges: every node runs once
or is skipped exactly as the rules say, execution order respects the edges, and independent
branches run at the same time."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import events as ev

from .helpers import run_sync, workflow

DEAD = object()
SETTINGS = settings(max_examples=50, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Spec:
    id: str
    kind: str  # value | expr | if | merge_all | merge_first
    parents: list[tuple[str, str]]  # (node id, output port), in edge order
    value: int = 0


@st.composite
def random_dags(draw) -> list[Spec]:
    count = draw(st.integers(min_value=2, max_value=14))
    specs = [Spec("n0", "value", [], draw(st.integers(-50, 50)))]
    for i in range(1, count):
        kind = draw(st.sampled_from(["value", "expr", "expr", "if", "merge_all",
                                     "merge_first"]))
        if kind == "value":
            specs.append(Spec(f"n{i}", kind, [], draw(st.integers(-50, 50))))
            continue
        outputs = [(s.id, port) for s in specs
                   for port in (("true", "false") if s.kind == "if" else ("out",))]
        most = 1 if kind == "if" else 3
        parents = draw(st.lists(st.sampled_from(outputs), min_size=1, max_size=most,
                                unique=True))
        specs.append(Spec(f"n{i}", kind, parents))
    return specs


def build(specs: list[Spec]):
    nodes: dict = {}
    edges: list[str] = []
    for s in specs:
        if s.kind == "value":
            nodes[s.id] = ("data.value", {"value": s.value})
        elif s.kind == "expr":
            names = [f"a{k}" for k in range(len(s.parents))]
            expr = " + ".join(f"len(str({n}))" for n in names) + f" + {s.id[1:]}"
            nodes[s.id] = ("data.expression", {"expr": expr, "inputs": names})
            edges += [f"{p}.{port} -> {s.id}.{n}" for (p, port), n in zip(s.parents, names)]
        elif s.kind == "if":
            nodes[s.id] = ("flow.if", {"condition": "len(str(x)) % 2 == 0"})
            edges += [f"{p}.{port} -> {s.id}.in" for p, port in s.parents]
        else:
            nodes[s.id] = ("flow.merge", {"mode": s.kind.removeprefix("merge_")})
            edges += [f"{p}.{port} -> {s.id}.in" for p, port in s.parents]
    return workflow(nodes, edges)


def expected_run(specs: list[Spec], outcome) -> dict[str, object]:
    """What the rules say each node outputs ({port: value}), or DEAD when it is skipped.

    merge(first) is the one choice the rules leave to timing: its actual value is read from
    the run, after checking it is one of the live values it could have taken."""
    values: dict[tuple[str, str], object] = {}
    expected: dict[str, object] = {}
    for s in specs:
        inputs = [values[p] for p in s.parents]
        if s.kind == "value":
            out = {"out": s.value}
        elif s.kind == "expr":
            if any(v is DEAD for v in inputs):
                out = DEAD
            else:
                out = {"out": sum(len(str(v)) for v in inputs) + int(s.id[1:])}
        elif s.kind == "if":
            (x,) = inputs
            if x is DEAD:
                out = DEAD
            else:
                out = {"true" if len(str(x)) % 2 == 0 else "false": x}
        else:
            alive = [v for v in inputs if v is not DEAD]
            if not alive:
                out = DEAD
            elif s.kind == "merge_all":
                out = {"out": alive}
            else:
                actual = outcome.finished(s.id).outputs
                assert actual["out"] in alive, f"{s.id} gave a value none of its inputs had"
                out = actual
        expected[s.id] = out
        ports = ("true", "false") if s.kind == "if" else ("out",)
        for port in ports:
            values[(s.id, port)] = DEAD if out is DEAD or port not in out else out[port]
    return expected


@SETTINGS
@given(random_dags())
def test_every_node_runs_once_or_is_skipped_as_the_rules_say(specs):
    outcome = run_sync(build(specs))
    assert outcome.result.ok, outcome.result.error
    expected = expected_run(specs, outcome)
    for s in specs:
        started = outcome.of(ev.NodeStarted, s.id)
        if expected[s.id] is DEAD:
            assert outcome.status(s.id) == "skipped", s.id
            assert not started
            assert len(outcome.of(ev.NodeSkipped, s.id)) == 1
        else:
            assert outcome.status(s.id) == "succeeded", s.id
            assert len(started) == 1
            assert outcome.finished(s.id).outputs == expected[s.id], s.id


@SETTINGS
@given(random_dags())
def test_execution_order_respects_every_edge(specs):
    outcome = run_sync(build(specs))
    position = {}
    for index, event in enumerate(outcome.events):
        if isinstance(event, (ev.NodeStarted, ev.NodeFinished, ev.NodeSkipped)):
            position[(type(event), event.node_id)] = index
    for s in specs:
        start = position.get((ev.NodeStarted, s.id), position.get((ev.NodeSkipped, s.id)))
        assert start is not None, f"{s.id} neither started nor was skipped"
        for parent, _ in s.parents:
            end = position.get((ev.NodeFinished, parent), position.get((ev.NodeSkipped, parent)))
            if s.kind == "merge_first" and (ev.NodeStarted, s.id) in position:
                continue  # it may run before its slower inputs: checked below
            assert end is not None and end < start, f"{parent} -> {s.id} out of order"
        if s.kind == "merge_first" and (ev.NodeStarted, s.id) in position:
            ends = [position.get((ev.NodeFinished, p)) for p, _ in s.parents]
            assert any(e is not None and e < start for e in ends)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=3), min_size=2, max_size=4))
def test_independent_branches_overlap_in_time(chain_lengths):
    nodes: dict = {"src": ("data.value", {"value": 0})}
    edges: list[str] = []
    for c, length in enumerate(chain_lengths):
        previous = "src"
        for k in range(length):
            node_id = f"c{c}_{k}"
            nodes[node_id] = ("test.sleep", {"seconds": 0.01})
            edges.append(f"{previous}.out -> {node_id}.in")
            previous = node_id
    outcome = run_sync(workflow(nodes, edges))
    assert outcome.result.ok
    spans = []
    for c, length in enumerate(chain_lengths):
        spans.append((outcome.started(f"c{c}_0").t, outcome.finished(f"c{c}_{length - 1}").t))
    for i, (start_a, end_a) in enumerate(spans):
        for start_b, end_b in spans[i + 1:]:
            assert max(start_a, start_b) < min(end_a, end_b), "branches did not overlap"
    assert outcome.probe.max_in_flight == len(chain_lengths)
