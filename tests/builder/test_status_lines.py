"""StatusLines words a batch's last line as it comes and the others when `lines` is read: the
same lines, in the same order, as wording every event as it came (the old StatusLines, kept
here as the specification), however the events are split into batches."""

from __future__ import annotations

import logging
import random
from typing import Any

from builder.runview.status import StatusLines
from engine import events as ev
from engine.model import Node, Workflow
from engine.runfold import RunFold

_SETTLING = (ev.NodeFinished, ev.NodeFailed, ev.NodeSkipped)


class OldStatusLines(StatusLines):
    """Every event worded as it comes (the code before the lazy wording)."""

    def feed(self, batch: list[Any], fold: RunFold) -> str | None:
        before = len(self.lines)
        done = fold.settles - sum(1 for e in batch if isinstance(e, _SETTLING))
        for event in batch:
            if isinstance(event, _SETTLING):
                done += 1
            text = self._line(event, done)
            if text is not None:
                self.say(text)
        return self.lines[-1] if len(self.lines) > before else None


def events(rng: random.Random, ids: list[str], status: str) -> list[Any]:
    out: list[Any] = [ev.RunStarted("r", "wf", len(ids), {}, 0.0, 0.0)]
    t = 0.0
    for nid in ids:
        t += 0.01
        kind = rng.choice(["ok", "ok", "fail", "skip", "retry", "reuse", "loop"])
        if kind == "skip":
            out.append(ev.NodeSkipped(nid, (), "its branch was not taken", t))
            continue
        out.append(ev.NodeStarted(nid, (), 0 if kind == "reuse" else 1, t))
        out.append(ev.NodeProgressed(nid, (), 0.5, "half", t))
        out.append(ev.NodeLogged(nid, (), "info", "a line", t))
        if kind == "retry":
            out.append(ev.NodeRetrying(nid, (), 1, 0.5, "flaky", t, 0.01))
        if kind == "loop":
            out.append(ev.LoopIterated(nid, (), 1, 3, t) if hasattr(ev, "LoopIterated")
                       else ev.NodeLogged(nid, (), "info", "loop", t))
        if kind == "fail":
            out.append(ev.NodeFailed(nid, (), 0.01, "boom", 1, t))
        else:
            out.append(ev.NodeFinished(nid, (), 0.01, {"out": [t, nid]}, t))
    out.append(ev.RunFinished("r", status, {"x": 1} if status == "succeeded" else {},
                              "boom" if status == "failed" else None, t, t))
    return out


def feed_both(batches: list[list[Any]], workflow: Workflow, read_between: bool):
    old, new = OldStatusLines(), StatusLines()
    old.reset(workflow)
    new.reset(workflow)
    old.say("Compiling…")
    new.say("Compiling…")
    fold = RunFold()
    fold.reset(workflow)
    returned_old, returned_new = [], []
    for i, batch in enumerate(batches):
        fold.feed(batch)
        returned_old.append(old.feed(batch, fold))
        returned_new.append(new.feed(batch, fold))
        assert new.last == old.lines[-1]
        if read_between and i % 3 == 0:
            assert new.lines == old.lines
        if i == len(batches) // 2:
            old.say("Stopping…")
            new.say("Stopping…")
    return old, new, returned_old, returned_new


def test_lines_and_each_batchs_line_are_those_worded_as_they_came():
    rng = random.Random(17)
    for case in range(60):
        ids = [f"n{i}" for i in range(rng.randint(1, 40))]
        workflow = Workflow(nodes=[Node(nid, "data.value", rng.choice(["", f"Title {nid}"]),
                                        {}, (0.0, 0.0)) for nid in ids])
        stream = events(rng, ids, rng.choice(["succeeded", "failed", "cancelled"]))
        batches, i = [], 0
        while i < len(stream):
            n = rng.randint(1, 12)
            batches.append(stream[i:i + n])
            i += n
        old, new, returned_old, returned_new = feed_both(batches, workflow, case % 2 == 0)
        assert returned_new == returned_old
        assert new.lines == old.lines
        assert new.last == old.lines[-1]
        new.reset(workflow)
        assert new.lines == [] and new.last is None


def test_with_debug_logging_every_line_is_logged_as_it_comes(caplog):
    workflow = Workflow(nodes=[Node("a", "data.value", "", {}, (0.0, 0.0))])
    stream = events(random.Random(3), ["a"], "succeeded")
    old, _new, _returned_old, _returned_new = feed_both([stream], workflow, False)
    new = StatusLines()
    new.reset(workflow)
    fold = RunFold()
    fold.reset(workflow)
    new.say("Compiling…")
    with caplog.at_level(logging.DEBUG, logger="builder.runview.status"):
        fold.feed(stream)
        assert new.feed(stream, fold) == old.lines[-2]  # (before old's "Stopping…")
        logged = [r.getMessage() for r in caplog.records if r.name == "builder.runview.status"]
    assert logged == old.lines[1:-1] and new.lines == old.lines[:-1]
