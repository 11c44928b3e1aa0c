"""One-line status texts for a run ("[3/7] running Fetch", "Run succeeded in 0.41 s — …").

`StatusLines.feed(batch, fold)` turns a batch of events, already folded into the run's
`engine.runfold.RunFold`, into lines (kept in `lines`, the run's short log) and returns the last
one: the status bar shows one text per batch, never one per event. The "[done/total]" counter is
the fold's count of settled executions, as it stood at each event.

Only the batch's last line is worded when the batch comes; the others are worded when `lines` is
read (the same texts, in the same order): a 1 000-node run has ~2 000 lines, and wording each
as it came (a summary of every node's outputs) cost its batches ~30 ms of the loop per run.
With debug logging on, every line is worded and logged as it comes, as before.
"""

from __future__ import annotations

import logging
from typing import Any

from engine import events as ev
from engine.runfold import RunFold

log = logging.getLogger(__name__)

_SETTLING = (ev.NodeFinished, ev.NodeFailed, ev.NodeSkipped)
# the events a line is worded for (`_line` gives None for every other one)
_WORDED = (ev.RunStarted, ev.NodeStarted, ev.NodeFinished, ev.NodeFailed, ev.NodeSkipped,
           ev.NodeRetrying, ev.RunFinished)


class StatusLines:
    def __init__(self) -> None:
        self._lines: list[str] = []
        # events whose lines are not worded yet: (event, done count at it), oldest first
        self._unworded: list[tuple[Any, int]] = []
        self._titles: dict[str, str] = {}

    @property
    def lines(self) -> list[str]:
        """Every line of the run so far, oldest first."""
        if self._unworded:
            unworded, self._unworded = self._unworded, []
            line = self._line
            self._lines.extend(line(event, done) for event, done in unworded)  # type: ignore
        return self._lines

    @lines.setter
    def lines(self, lines: list[str]) -> None:
        self._lines, self._unworded = lines, []

    @property
    def last(self) -> str | None:
        """The newest line (None before the first), without wording the ones before it."""
        if self._unworded:
            return self._line(*self._unworded[-1])
        return self._lines[-1] if self._lines else None

    def reset(self, workflow: Any) -> None:
        self._titles = {nid: n.title or nid for nid, n in workflow.nodes.items()}
        self.lines = []

    def say(self, text: str) -> None:
        self.lines.append(text)  # (after the lines still to word)
        log.debug("%s", text)

    def feed(self, batch: list[Any], fold: RunFold) -> str | None:
        if log.isEnabledFor(logging.DEBUG):
            return self._feed_worded(batch, fold)
        # the fold has counted the whole batch: count back to where each event stood
        done = fold.settles - sum(1 for e in batch if isinstance(e, _SETTLING))
        unworded = self._unworded
        count = len(unworded)
        for event in batch:
            if isinstance(event, _SETTLING):
                done += 1
            if isinstance(event, _WORDED):
                unworded.append((event, done))
        return self._line(*unworded[-1]) if len(unworded) > count else None

    def _feed_worded(self, batch: list[Any], fold: RunFold) -> str | None:
        """`feed` with every line worded and logged as it comes (debug logging)."""
        lines = self.lines
        before = len(lines)
        done = fold.settles - sum(1 for e in batch if isinstance(e, _SETTLING))
        for event in batch:
            if isinstance(event, _SETTLING):
                done += 1
            text = self._line(event, done)
            if text is not None:
                self.say(text)
        return lines[-1] if len(lines) > before else None

    def _line(self, event: Any, done: int) -> str | None:
        total = len(self._titles)
        node_id = getattr(event, "node_id", "")
        name = self._titles.get(node_id, node_id)
        if isinstance(event, ev.RunStarted):
            return f"Running {event.workflow or 'workflow'} ({total} nodes)…"
        if isinstance(event, ev.NodeStarted):
            if event.attempt == 0:
                return f"[{done}/{total}] {name}: reusing the last run's outputs"
            return f"[{done}/{total}] running {name}"
        if isinstance(event, ev.NodeFinished):
            return (f"[{done}/{total}] {name} done in {event.duration_s * 1000:.0f} ms "
                    f"→ {event.summary}")
        if isinstance(event, ev.NodeFailed):
            return f"{name} failed: {event.error}"
        if isinstance(event, ev.NodeSkipped):
            return f"{name} skipped: {event.reason}"
        if isinstance(event, ev.NodeRetrying):
            return f"{name} retrying in {event.delay_s:.1f} s: {event.error}"
        if isinstance(event, ev.RunFinished):
            if event.status == "succeeded":
                outputs = ", ".join(f"{k} = {ev.summarise(v)}" for k, v in event.outputs.items())
                return (f"Run succeeded in {event.duration_s:.2f} s"
                        + (f" — {outputs}" if outputs else ""))
            if event.status == "failed":
                return f"Run failed after {event.duration_s:.2f} s: {event.error}"
            return "Run cancelled"
        return None
