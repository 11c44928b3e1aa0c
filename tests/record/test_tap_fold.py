"""RunTap keeps the ends of node executions as they come and folds them into `nodes` when it is
read (issue 17, sixth pass: one append a node on the loop thread): `nodes` and `sequence` are
what handling each event as it came gave, read once at the end or many times along the way."""

from __future__ import annotations

import random
from typing import Any

from engine import events as ev
from engine.record.tap import RunTap


def _eager(events: list[Any]) -> tuple[dict[Any, dict[str, Any]], list[tuple[str, str]]]:
    """The tap's rule before the fold, event by event."""
    nodes: dict[Any, dict[str, Any]] = {}
    sequence: list[tuple[str, str]] = []

    def end(e: Any, status: str, outputs: Any = None, error: Any = None,
            cached: bool = False) -> None:
        nodes[(e.node_id, e.iteration)] = {"status": status, "outputs": outputs,
                                           "error": error, "cached": cached}
        sequence.append((e.node_id, status))

    for e in events:
        kind = type(e)
        if kind is ev.NodeFinished:
            end(e, "succeeded", outputs=e.outputs, cached=e.cached)
        elif kind is ev.NodeFailed:
            end(e, "failed", error=e.error)
        elif kind is ev.NodeSkipped:
            done = nodes.get((e.node_id, e.iteration))
            if done is None or done["status"] == "skipped":
                end(e, "skipped", error=e.reason)
        elif kind is ev.NodeCancelled:
            end(e, "cancelled")
    return nodes, sequence


def _events(rng: random.Random) -> list[Any]:
    found: list[Any] = []
    for _ in range(rng.randrange(1, 60)):
        nid = rng.choice(["a", "b", "c"])
        it = rng.choice([(), (), (0,), (1, 2)])
        roll = rng.random()
        if roll < 0.35:
            found.append(ev.NodeFinished(nid, it, 0.1, {"out": rng.choice([1, "x", None])},
                                         0.0, cached=rng.random() < 0.3))
        elif roll < 0.5:
            found.append(ev.NodeFailed(nid, it, 0.1, "boom", 1, 0.0))
        elif roll < 0.75:
            found.append(ev.NodeSkipped(nid, it, rng.choice(["no input", "branch"]), 0.0))
        elif roll < 0.85:
            found.append(ev.NodeCancelled(nid, it, 0.0))
        elif roll < 0.95:
            found.append(ev.NodeStarted(nid, it, 1, 0.0))
        else:
            found.append(ev.ApprovalDecided(nid, it, True, "ok", "me", 0.0))
    return found


def test_the_folded_nodes_are_the_eager_ones_read_at_any_time():
    for seed in range(300):
        rng = random.Random(seed)
        events = _events(rng)
        tap = RunTap()
        start = 0
        while start < len(events):  # batches of any size, the tap read between some
            end = start + rng.randrange(1, 8)
            tap._on_batch(events[start:end])
            start = end
            if rng.random() < 0.3:
                nodes, sequence = _eager(events[:start])
                assert (tap.nodes, tap.sequence) == (nodes, sequence), seed
        nodes, sequence = _eager(events)
        assert list(tap.nodes.items()) == list(nodes.items()), seed  # the order too
        assert tap.sequence == sequence
        assert [a[:2] for a in tap.approvals] == [
            (e.node_id, e.iteration) for e in events if type(e) is ev.ApprovalDecided]
