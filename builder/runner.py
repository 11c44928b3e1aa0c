"""Run ▸ Run / Stop for the window: runs the drawn workflow through the engine, without blocking.

`RunControl.start()` compiles a snapshot of the workflow (edits made while it runs do not reach
the running copy), executes it as an `engine.Run` task on the asyncio (qasync) loop, and turns the
run's events into one-line status texts (`status(str)`) and log records. The full live view
(timeline, node states on the canvas) belongs to a later issue; this keeps the hook minimal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine import events as ev
from engine.compile import compile_workflow
from engine.context import Services
from engine.errors import CompileError, FlowloomError
from engine.executor import Run
from engine.model import Workflow
from engine.runstate import RunResult

log = logging.getLogger(__name__)


class RunControl(QObject):
    status = Signal(str)
    running_changed = Signal(bool)
    finished = Signal(object)  # RunResult

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run: Run | None = None
        self.task: asyncio.Future[Any] | None = None
        self.result: RunResult | None = None
        self.lines: list[str] = []  # what the status bar said, in order (the run's short log)
        self._titles: dict[str, str] = {}
        self._done = 0

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def start(self, workflow: Workflow, registry: Any, base_dir: Path | None = None,
              secrets: Callable[[str], str | None] | None = None) -> str | None:
        """Start a run; returns why it cannot start, or None when it started."""
        if self.running:
            return "A run is already in progress."
        snapshot = workflow.copy()
        try:
            compiled = compile_workflow(snapshot, registry)
            run = Run(compiled, services=Services(secrets=secrets, base_dir=base_dir))
        except CompileError as exc:
            errors = [p for p in exc.problems if p.is_error]
            return f"Cannot run: {errors[0] if errors else exc}"
        except FlowloomError as exc:
            return f"Cannot run: {exc}"
        self._titles = {nid: n.title or nid for nid, n in snapshot.nodes.items()}
        self._done = 0
        self.lines = []
        self.result = None
        self.run = run
        run.subscribe(self._on_events, batched=True)
        self.task = asyncio.ensure_future(self._execute(run))
        self.running_changed.emit(True)
        return None

    def stop(self) -> None:
        if self.run is not None and self.running:
            self._say("Stopping…")
            self.run.cancel()

    async def _execute(self, run: Run) -> RunResult | None:
        try:
            result = await run.execute()
        except Exception as exc:  # an engine bug must not take the editor down
            log.exception("run %s crashed", run.run_id)
            self._say(f"Run crashed: {type(exc).__name__}: {exc}")
            result = None
        self.result = result
        self.running_changed.emit(False)
        self.finished.emit(result)
        return result

    def _say(self, text: str) -> None:
        self.lines.append(text)
        log.info("%s", text)
        self.status.emit(text)

    def _on_events(self, batch: list[Any]) -> None:
        total = len(self._titles)
        for event in batch:
            name = self._titles.get(getattr(event, "node_id", ""), getattr(event, "node_id", ""))
            if isinstance(event, ev.RunStarted):
                self._say(f"Running {event.workflow or 'workflow'} ({total} nodes)…")
            elif isinstance(event, ev.NodeStarted):
                self._say(f"[{self._done}/{total}] running {name}")
            elif isinstance(event, ev.NodeFinished):
                self._done += 1
                self._say(f"[{self._done}/{total}] {name} done in "
                          f"{event.duration_s * 1000:.0f} ms → {event.summary}")
            elif isinstance(event, ev.NodeFailed):
                self._done += 1
                self._say(f"{name} failed: {event.error}")
            elif isinstance(event, ev.NodeSkipped):
                self._done += 1
                self._say(f"{name} skipped: {event.reason}")
            elif isinstance(event, ev.NodeRetrying):
                self._say(f"{name} retrying in {event.delay_s:.1f} s: {event.error}")
            elif isinstance(event, ev.RunFinished):
                if event.status == "succeeded":
                    outputs = ", ".join(f"{k} = {ev.summarise(v)}"
                                        for k, v in event.outputs.items())
                    self._say(f"Run succeeded in {event.duration_s:.2f} s"
                              + (f" — {outputs}" if outputs else ""))
                elif event.status == "failed":
                    self._say(f"Run failed after {event.duration_s:.2f} s: {event.error}")
                else:
                    self._say("Run cancelled")
