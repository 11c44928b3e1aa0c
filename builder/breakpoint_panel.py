"""The Breakpoint panel: where a paused run's value is shown, edited, and let go.

It shows one stop at a time: where and why the run paused, the value (the wire's value or the
node's inputs, secrets masked) as editable JSON in a monospace field, and Continue (F8), Step
(F10) and Abort. An edit that is not JSON, or drops a node's input, is refused with a sentence
under the field and nothing resumes. Text left as it was shown resumes with the original value.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.breakpoints import ABORT, CONTINUE, STEP, Resume, Stop

MAX_TEXT = 200_000  # characters of JSON put in the editor; a bigger value is shown cut, read-only


class BreakpointPanel(QWidget):
    resumed = Signal(object)  # a Resume for the stop shown

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.stop: Stop | None = None
        self.shown_text = ""
        self.title = QLabel("No run is paused.")
        self.title.setWordWrap(True)
        self.what = QLabel("")
        self.what.setProperty("role", "dim")
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setAccessibleName("Value at the breakpoint")
        self.problem = QLabel("")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #e0524d")
        self.continue_button = QPushButton("Continue (F8)")
        self.step_button = QPushButton("Step (F10)")
        self.abort_button = QPushButton("Abort")
        self.continue_button.setToolTip("Run on with the value above")
        self.step_button.setToolTip("Run this node, then pause at the next one")
        self.abort_button.setToolTip("Cancel the run")
        self.continue_button.clicked.connect(lambda: self.resume(CONTINUE))
        self.step_button.clicked.connect(lambda: self.resume(STEP))
        self.abort_button.clicked.connect(lambda: self.resume(ABORT))
        buttons = QHBoxLayout()
        for button in (self.continue_button, self.step_button, self.abort_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.what)
        layout.addWidget(self.editor, 1)
        layout.addWidget(self.problem)
        layout.addLayout(buttons)
        self.show_stop(None)

    def show_stop(self, stop: Stop | None, waiting: int = 0, message: str = "") -> None:
        """Show `stop` (None: nothing is paused; `message` says what goes on instead)."""
        if stop is self.stop and stop is not None:
            self._set_more(waiting)
            return
        self.stop = stop
        self.problem.setText("")
        for button in (self.continue_button, self.step_button, self.abort_button):
            button.setEnabled(stop is not None)
        if stop is None:
            self.title.setText(message or "No run is paused.")
            self.what.setText("")
            self.editor.setPlainText("")
            self.editor.setReadOnly(True)
            self.shown_text = ""
            return
        self.title.setText(stop.title)
        self._set_more(waiting)
        text = json.dumps(stop.value, indent=2, ensure_ascii=False)
        too_big = len(text) > MAX_TEXT
        self.shown_text = text[:MAX_TEXT] + ("\n…" if too_big else "")
        self.editor.setPlainText(self.shown_text)
        self.editor.setReadOnly(too_big)
        self.editor.setFocus()

    def _set_more(self, waiting: int) -> None:
        stop = self.stop
        if stop is None:
            return
        what = f"The value on the wire into {stop.port!r}" if stop.port \
            else f"The inputs of {stop.node_id!r}"
        more = f" · {waiting} more paused" if waiting else ""
        self.what.setText(f"{what}, as JSON (edit it to run with another value){more}")

    def edited(self) -> tuple[Any, str | None, bool]:
        """(value, problem, changed) for the text in the editor now."""
        text = self.editor.toPlainText()
        if text.strip() == self.shown_text.strip():
            return None, None, False
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, (f"That is not JSON: {exc.msg} (line {exc.lineno}, column "
                          f"{exc.colno})."), True
        problem = self.stop.problem(value) if self.stop is not None else None
        return value, (problem[0].upper() + problem[1:] + "." if problem else None), True

    def resume(self, action: str) -> bool:
        """Let the shown stop go (with the edit, unless aborting); False if the edit is bad."""
        if self.stop is None:
            return False
        if action == ABORT:
            self.resumed.emit(Resume(ABORT))
            return True
        value, problem, changed = self.edited()
        if problem is not None:
            self.problem.setText(problem)
            return False
        self.resumed.emit(Resume(action, value, edited=True) if changed else Resume(action))
        return True
