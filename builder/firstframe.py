"""Knowing when a window's first frame has been painted.

`FirstFrame(widget)` watches for the first paint event of `widget` (the canvas viewport: every
frame of the window paints it); the window's widgets are painted in one pass, so once control is
back in the event loop the frame is complete: it records `painted_at` (`time.time()`) and
`painted_cpu` (CPU seconds of the process so far, `time.process_time()`) and emits `painted()`,
once. The window builds what its first frame does not show right after
it, and `python -m builder.app --first-frame` reports the time to it (bench/startup_editor.py).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget


class FirstFrame(QObject):
    painted = Signal()

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.painted_at: float | None = None
        self.painted_cpu: float | None = None
        self._seen = False
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if not self._seen and event.type() == QEvent.Type.Paint:
            self._seen = True
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self, self._done)  # after the rest of this paint pass
        return False

    def _done(self) -> None:
        self.painted_at, self.painted_cpu = time.time(), time.process_time()
        self.painted.emit()
