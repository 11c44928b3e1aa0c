"""One-line status texts for a run ("[3/7] running Fetch", "Run succeeded in 0.41 s — …").

`StatusLines.feed(batch, fold)` turns a batch of events, already folded into the run's
`engine.runfold.RunFold`, into lines (kept in `lines`, the run's short log) and returns the last
one: the status bar shows one text per batch, never one per event. The "[done/total]" counter is
the fold's count of settled executions, as it stood at each event.
"""

from __future__ import annotations

import logging
from typing import Any

from engine import events as ev
from engine.runfold import RunFold

log = logging.getLogger(__name__)

_SETTLING = (ev.NodeFinished, ev.NodeFailed, ev.NodeSkipped)


class StatusLines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._titles: dict[str, str] = {}

    def reset(self, workflow: Any) -> None:
        self._titles = {nid: n.title or nid for nid, n in workflow.nodes.items()}
        self.lines = []

    def say(self, text: str) -> None:
        self.lines.append(text)
        log.debug("%s", text)

    def feed(self, batch: list[Any], fold: RunFold) -> str | None:
        before = len(self.lines)
        # the fold has counted the whole batch: count back to where each event stood
        done = fold.settles - sum(1 for e in batch if isinstance(e, _SETTLING))
        for event in batch:
            if isinstance(event, _SETTLING):
                done += 1
            text = self._line(event, done)
            if text is not None:
                self.say(text)
        return self.lines[-1] if len(self.lines) > before else None

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
