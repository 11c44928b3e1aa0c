"""One-line status texts for a run ("[3/7] running Fetch", "Run succeeded in 0.41 s — …").

`StatusLines.feed(batch)` turns a batch of events into lines (kept in `lines`, the run's short
log) and returns the last one: the status bar shows one text per batch, never one per event.
"""

from __future__ import annotations

import logging
from typing import Any

from engine import events as ev

log = logging.getLogger(__name__)


class StatusLines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self._titles: dict[str, str] = {}
        self._done = 0

    def reset(self, workflow: Any) -> None:
        self._titles = {nid: n.title or nid for nid, n in workflow.nodes.items()}
        self._done = 0
        self.lines = []

    def say(self, text: str) -> None:
        self.lines.append(text)
        log.debug("%s", text)

    def feed(self, batch: list[Any]) -> str | None:
        before = len(self.lines)
        for event in batch:
            text = self._line(event)
            if text is not None:
                self.say(text)
        return self.lines[-1] if len(self.lines) > before else None

    def _line(self, event: Any) -> str | None:
        total = len(self._titles)
        node_id = getattr(event, "node_id", "")
        name = self._titles.get(node_id, node_id)
        if isinstance(event, ev.RunStarted):
            return f"Running {event.workflow or 'workflow'} ({total} nodes)…"
        if isinstance(event, ev.NodeStarted):
            if event.attempt == 0:
                return f"[{self._done}/{total}] {name}: reusing the last run's outputs"
            return f"[{self._done}/{total}] running {name}"
        if isinstance(event, ev.NodeFinished):
            self._done += 1
            return (f"[{self._done}/{total}] {name} done in {event.duration_s * 1000:.0f} ms "
                    f"→ {event.summary}")
        if isinstance(event, ev.NodeFailed):
            self._done += 1
            return f"{name} failed: {event.error}"
        if isinstance(event, ev.NodeSkipped):
            self._done += 1
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
