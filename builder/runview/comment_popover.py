"""The small popover that decides an approval with a comment (the "…" pill under a waiting
node). The inline Approve / Reject pills decide in one click; this is for when a person wants
to say why. Enter approves, Escape closes it without deciding.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

Decide = Callable[[bool, str], None]


class CommentPopover(QFrame):
    def __init__(self, title: str, decide: Decide, parent=None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("ApprovalComment")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.decide = decide
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("Comment (optional)")
        self.approve_button = QPushButton("Approve")
        self.reject_button = QPushButton("Reject")
        self.approve_button.setDefault(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.reject_button)
        buttons.addWidget(self.approve_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        heading = QLabel(title)
        heading.setWordWrap(True)
        layout.addWidget(heading)
        layout.addWidget(self.comment)
        layout.addLayout(buttons)
        self.approve_button.clicked.connect(lambda: self._answer(True))
        self.reject_button.clicked.connect(lambda: self._answer(False))
        self.comment.returnPressed.connect(lambda: self._answer(True))
        self.setMinimumWidth(280)

    def _answer(self, approved: bool) -> None:
        self.close()
        self.decide(approved, self.comment.text().strip())

    def open_at(self, global_pos: QPoint) -> None:
        self.move(global_pos)
        self.show()
        self.comment.setFocus()
