"""The one Qt adapter for engine runs: turns a Run's events into coalesced Qt signals.

`RunBridge.attach(run)` subscribes to the run (batched, on the loop thread) and buffers what
arrives; a 16 ms timer emits the buffer as one `events(list)` batch, so the UI hears at most
~60 batches a second however many events a run produces. A batch holding `RunFinished` is
emitted at once (nothing is left waiting for the timer). A burst the timer finds bigger than
MAX_BATCH events (hundreds of quick nodes ending at once) goes out MAX_BATCH at a time, one batch
per loop turn: every view folds and shows a batch in one step, ~10 us an event on a slow machine,
so a 1 000-event batch was a 10 ms step of the loop. `run_started(compiled)` is emitted on
attach, `run_finished(result)` when the host hands over the RunResult with `finish(result)`.
A replay (events rebuilt from history) goes through `replay(events)`: one batch, no run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from engine import events as ev

log = logging.getLogger(__name__)

FLUSH_MS = 16  # ~60 Hz
MAX_BATCH = 250  # events per batch the timer emits; the rest on the loop's next turns


class RunBridge(QObject):
    events = Signal(list)
    run_started = Signal(object)  # the Compiled workflow of the run
    run_finished = Signal(object)  # its RunResult (None when the run crashed)

    def __init__(self, parent: QObject | None = None, interval_ms: int = FLUSH_MS) -> None:
        super().__init__(parent)
        self.run: Any = None
        self.batches = 0  # emitted so far (for tests and the benchmark)
        self._buffer: list[Any] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._interval = interval_ms
        self._timer.timeout.connect(self._flush_some)

    def attach(self, run: Any) -> None:
        """Follow `run` (call before `run.execute()`); detaches from any previous run."""
        self.detach()
        self.run = run
        self._unsubscribe = run.subscribe(self._on_batch, batched=True)
        self.run_started.emit(run.compiled)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.flush()

    def finish(self, result: Any) -> None:
        """The run is over: emit what is buffered, then `run_finished(result)`."""
        self.detach()
        self.run_finished.emit(result)

    def _on_batch(self, batch: list[Any]) -> None:
        self._buffer.extend(batch)
        if any(isinstance(e, ev.RunFinished) for e in batch):
            self.flush()
        elif not self._timer.isActive():
            self._timer.start()

    def _flush_some(self) -> None:
        """The timer's flush: at most MAX_BATCH events, the rest at the loop's next turn."""
        if len(self._buffer) <= MAX_BATCH:
            self.flush()
            return
        batch, self._buffer = self._buffer[:MAX_BATCH], self._buffer[MAX_BATCH:]
        self._timer.start(0)
        self.batches += 1
        self.events.emit(batch)

    def flush(self) -> None:
        """Emit everything buffered now, as one batch."""
        self._timer.stop()
        self._timer.setInterval(self._interval)
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        self.batches += 1
        self.events.emit(batch)
