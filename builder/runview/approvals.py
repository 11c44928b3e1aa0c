"""Approvals in the editor: the run's `Services.approver`, answered from the canvas or a dialog.

`Approvals` is awaited by `human.approval` nodes (through `ctx.ask`): each question becomes a
pending future keyed by node id and is announced with `requested(node_id)`; the overlay shows
Approve/Reject on the waiting node. `review(node_id, approve)` opens the review dialog (the value
under review, the node's message and an optional comment); its answer, or a direct
`decide(node_id, approved, comment)`, resolves the future and `settled(node_id)` follows. The
dialog is a function the window may replace (tests pass one that answers at once), and it is
non-blocking: it calls `done(approved, comment)` later, or never if the person cancels.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.context import ApprovalRequest, Decision

log = logging.getLogger(__name__)

Done = Callable[[bool, str], None]
ReviewDialog = Callable[[QWidget | None, ApprovalRequest, bool | None, Done], Any]


def pretty(value: Any) -> str:
    """The value under review as readable text (JSON when it can be, repr otherwise)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=_plain)
    except (TypeError, ValueError):
        return repr(value)


def _plain(value: Any) -> str:
    """What JSON cannot hold: bytes (an HTTP body) as their size, never a repr of megabytes."""
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value):,} bytes>"
    return repr(value)


class ApprovalDialog(QDialog):
    """Shows what waits for a decision and takes an optional comment."""

    def __init__(self, request: ApprovalRequest, approve: bool | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ApprovalDialog")
        self.setWindowTitle(f"Approval — {request.title}")
        self.approved: bool | None = None
        layout = QVBoxLayout(self)
        if request.message:
            message = QLabel(request.message)
            message.setWordWrap(True)
            layout.addWidget(message)
        layout.addWidget(QLabel(f"Value at node {request.node_id!r}:"))
        self.value_view = QPlainTextEdit(pretty(request.value))
        self.value_view.setReadOnly(True)
        layout.addWidget(self.value_view)
        layout.addWidget(QLabel("Comment (optional):"))
        self.comment = QPlainTextEdit()
        self.comment.setPlaceholderText("Why, or what to change…")
        self.comment.setMaximumHeight(80)
        layout.addWidget(self.comment)
        buttons = QDialogButtonBox()
        self.approve_button = QPushButton("Approve")
        self.reject_button = QPushButton("Reject")
        buttons.addButton(self.approve_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.reject_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.approve_button.clicked.connect(lambda: self._answer(True))
        self.reject_button.clicked.connect(lambda: self._answer(False))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        (self.approve_button if approve is not False else self.reject_button).setDefault(True)
        self.resize(520, 420)

    def _answer(self, approved: bool) -> None:
        self.approved = approved
        self.accept()


def show_review_dialog(parent: QWidget | None, request: ApprovalRequest, approve: bool | None,
                       done: Done) -> ApprovalDialog:
    """The default review: a window-modal dialog that answers through `done` when closed."""
    dialog = ApprovalDialog(request, approve, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.finished.connect(lambda _code: dialog.approved is not None and done(
        dialog.approved, dialog.comment.toPlainText().strip()))
    dialog.open()
    return dialog


class Approvals(QObject):
    """The editor's approver: `Services(approver=approvals)`."""

    requested = Signal(str)  # node id now waiting
    settled = Signal(str)  # node id answered (or its question withdrawn)

    def __init__(self, parent: QObject | None = None,
                 dialog: ReviewDialog = show_review_dialog,
                 parent_widget: Callable[[], QWidget | None] | None = None) -> None:
        super().__init__(parent)
        self.dialog = dialog
        self.parent_widget = parent_widget or (lambda: None)
        self.pending: dict[str, tuple[ApprovalRequest, asyncio.Future[Decision]]] = {}
        self.decided: list[tuple[str, Decision]] = []  # this session's answers, in order
        self.user = _user()

    async def __call__(self, request: ApprovalRequest) -> Decision:
        future: asyncio.Future[Decision] = asyncio.get_running_loop().create_future()
        self.pending[request.node_id] = (request, future)
        self.requested.emit(request.node_id)
        try:
            return await future
        finally:
            if self.pending.get(request.node_id, (None, None))[1] is future:
                del self.pending[request.node_id]
            self.settled.emit(request.node_id)

    def request(self, node_id: str) -> ApprovalRequest | None:
        entry = self.pending.get(node_id)
        return entry[0] if entry else None

    def review(self, node_id: str, approve: bool | None = None) -> bool:
        """Open the review dialog for the question waiting at `node_id` (False: none waits)."""
        request = self.request(node_id)
        if request is None:
            return False
        self.dialog(self.parent_widget(), request, approve,
                    lambda approved, comment: self.decide(node_id, approved, comment))
        return True

    def decide(self, node_id: str, approved: bool, comment: str = "") -> bool:
        entry = self.pending.get(node_id)
        if entry is None or entry[1].done():
            return False
        decision = Decision(approved, comment, self.user)
        self.decided.append((node_id, decision))
        entry[1].set_result(decision)
        return True

    def withdraw_all(self) -> None:
        """The run stopped: drop every open question."""
        for _request, future in list(self.pending.values()):
            if not future.done():
                future.cancel()


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name on this platform: decisions stay anonymous
        return ""
