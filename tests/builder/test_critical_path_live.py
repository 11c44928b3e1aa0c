"""The timeline's critical path carried forward while a run goes on (TimelineModel.advance)
ends as the whole pass over the finished run (`_longest_chain`, the specification): random
graphs with loops, failures, cancellations, retries and ties in time, advanced after random
batches."""

from __future__ import annotations

import random
from types import SimpleNamespace

from builder.panels.timeline_model import TimelineModel
from engine import events as ev
from engine.model import Edge, Node, Workflow
from engine.runfold import RunFold


def graph(rng: random.Random, count: int) -> tuple[SimpleNamespace, Workflow]:
    nodes = [Node(f"n{i}", "data.value", "", {}, (0.0, 0.0)) for i in range(count)]
    edges = []
    for i in range(1, count):
        for j in rng.sample(range(i), min(i, rng.randint(0, 3))):
            edges.append(Edge(f"n{j}", "out", f"n{i}", f"in{len(edges)}"))
    workflow = Workflow(nodes=nodes, edges=edges)
    kinds = {n.id: SimpleNamespace(kind="foreach" if rng.random() < 0.1 else "node")
             for n in nodes}
    return SimpleNamespace(nodes=kinds, workflow=workflow), workflow


def run_events(rng: random.Random, workflow: Workflow) -> list[object]:
    """Events of a run in time order: executions overlap, some share a time, some are in
    iterations, some retry, fail or are cancelled by the run's end."""
    out: list[object] = [ev.RunStarted("r", "w", len(workflow.nodes), {}, 100.0, 0.0)]
    clock = 100.0
    pending = []  # (end time, events at the end)
    for node in workflow.nodes.values():
        for iteration in ([()] if rng.random() < 0.8 else [(k,) for k in range(3)]):
            if rng.random() < 0.7:
                clock += rng.choice([0.0, 0.001, 0.01, 0.05])
            start = clock
            out.append(ev.NodeStarted(node.id, iteration, 1, start))
            end = start + rng.choice([0.0, 0.002, 0.02, 0.2, 1.0])
            ending: list[object] = []
            if rng.random() < 0.1:
                ending.append(ev.NodeRetrying(node.id, iteration, 1, 0.0, "flaky", end))
                ending.append(ev.NodeStarted(node.id, iteration, 2, end))
                end += 0.01
            kind = rng.random()
            if kind < 0.1:
                ending.append(ev.NodeFailed(node.id, iteration, end - start, "boom", 1, end))
            elif kind < 0.15:
                ending = []  # still running when the run ends: cancelled then
            else:
                ending.append(ev.NodeFinished(node.id, iteration, end - start, {}, end))
            pending.append((end, ending))
            # executions that ended by now come out before the next start
            pending.sort(key=lambda p: p[0])
            while pending and pending[0][0] <= clock:
                out.extend(pending.pop(0)[1])
    for _end, ending in sorted(pending, key=lambda p: p[0]):
        out.extend(ending)
    last = max([getattr(e, "t", 0.0) for e in out])
    out.append(ev.RunFinished("r", "succeeded", {}, None, last - 100.0, last))
    return out


def test_the_path_carried_forward_is_the_whole_pass_over_the_run():
    rng = random.Random(5)
    for case in range(150):
        compiled, workflow = graph(rng, rng.randint(1, 40))
        stream = run_events(rng, workflow)
        fold = RunFold()
        fold.reset(workflow)
        model = TimelineModel()
        model.reset(compiled, fold)
        i = 0
        while i < len(stream):
            n = rng.randint(1, 8)
            fold.feed(stream[i:i + n])
            i += n
            if fold.running and rng.random() < 0.5:
                model.advance()
        carried = model.critical_path()
        whole = model._longest_chain()
        assert [id(b) for b in carried] == [id(b) for b in whole], case
        if case % 10 == 0:  # the same once more, advanced only at the end
            fresh = TimelineModel()
            fresh.reset(compiled, fold)
            assert [id(b) for b in fresh.critical_path()] == [id(b) for b in whole]


def test_a_bar_that_starts_before_a_passed_chunk_gives_the_whole_pass():
    compiled, workflow = graph(random.Random(1), 3)
    fold = RunFold()
    fold.reset(workflow)
    model = TimelineModel()
    model.reset(compiled, fold)
    fold.feed([ev.RunStarted("r", "w", 3, {}, 0.0, 0.0), ev.NodeStarted("n0", (), 1, 1.0),
               ev.NodeFinished("n0", (), 1.0, {}, 2.0), ev.NodeStarted("n1", (), 1, 3.0)])
    model.advance()
    assert model._chain.cursor == 1
    # out of order: a bar starting before the chunk already passed
    fold.feed([ev.NodeStarted("n2", (), 1, 0.5), ev.NodeFinished("n2", (), 0.1, {}, 0.6),
               ev.NodeFinished("n1", (), 0.1, {}, 3.1),
               ev.RunFinished("r", "succeeded", {}, None, 3.1, 3.1)])
    model.advance()
    assert model._chain.result() is None  # not trusted: the whole pass is taken instead
    assert [id(b) for b in model.critical_path()] == [id(b) for b in model._longest_chain()]
