"""The recorder's fold on the loop thread: its written-out path for a top-level node's start
and end gives the state the general handlers give, event for event."""

from __future__ import annotations

import random
from typing import Any

from engine import events as ev
from engine.history.recorder import HistoryRecorder


def _state(recorder: HistoryRecorder) -> tuple[Any, ...]:
    return ([(key, rec.row()) for key, rec in recorder._nodes.items()],
            list(recorder._dirty), list(recorder._outputs), recorder._wall0)


def _events(rng: random.Random, n: int) -> list[Any]:
    found: list[Any] = [ev.RunStarted("r", "w", n, {}, 0.5, 1_700_000_000.25)]
    for _ in range(n):
        node = f"n{rng.randrange(12)}"
        iteration = rng.choice([(), (), (), (rng.randrange(3),), (1, rng.randrange(2))])
        t = rng.uniform(0, 50)
        kind = rng.randrange(6)
        if kind <= 1:
            found.append(ev.NodeStarted(node, iteration, rng.randrange(4), t))
        elif kind <= 3:
            outputs = rng.choice([{}, {"out": rng.randrange(100)}, {"a": "x", "b": None}])
            duration = rng.choice([None, 0.0, rng.uniform(0, 3)])
            found.append(ev.NodeFinished(node, iteration, duration, outputs, t,
                                         cached=rng.random() < 0.1))
        elif kind == 4:
            found.append(ev.NodeFailed(node, iteration, rng.uniform(0, 2), "it broke",
                                       rng.randrange(1, 4), t))
        else:
            found.append(ev.NodeSkipped(node, iteration, "branch not taken", t))
    return found


def test_the_fold_of_a_batch_equals_the_handlers_event_by_event() -> None:
    rng = random.Random(17)
    for _ in range(200):
        events = _events(rng, rng.randrange(1, 60))
        batched, single = HistoryRecorder(None, None), HistoryRecorder(None, None)
        cut = rng.randrange(len(events) + 1)  # fed in two batches
        batched._on_batch(events[:cut])
        batched._on_batch(events[cut:])
        for event in events:
            single._handlers[type(event)](event)
        assert _state(batched) == _state(single)
