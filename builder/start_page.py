"""The start page: shown over the canvas while no workflow is open (at start, after Close).

Recent files (newest first) and the templates, each one click away, plus New. It hides as soon
as a workflow is opened or the empty one gets its first node, and comes back after Close. It sits
in the canvas's top-left corner so drops and clicks in the middle of the canvas still reach it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout

from builder.recent_names import short_names

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.document import Document
    from builder.mainwindow import MainWindow

MARGIN = 14
RECENT_SHOWN = 6
TEMPLATES_SHOWN = 6


class StartPage(QFrame):
    def __init__(self, window: MainWindow) -> None:
        # a child of the view, not its viewport: scrolling the view moves the viewport's
        # children (QWidget.scroll), and the card would slide off with the canvas
        super().__init__(window.canvas)
        self.setObjectName("StartPage")
        self.window = window
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setMaximumWidth(330)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(14, 12, 14, 12)
        self._layout.setSpacing(4)
        self.buttons: dict[str, QPushButton] = {}  # "recent:<path>", "template:<slug>"
        self._document: Document | None = None
        # Built when the window is first shown (`window_shown`), not before: a start with a
        # file to open never shows the page, and reading the templates is not start-up work.
        self._window_shown = False
        window.session.document_replaced.connect(self.follow)
        window.session.recent_changed.connect(self.refresh)
        self.follow(window.session.document)

    def follow(self, document: Document) -> None:
        if self._document is not None:
            try:
                self._document.changed.disconnect(self.refresh)
            except (RuntimeError, TypeError):  # already gone with its document
                pass
        self._document = document
        document.changed.connect(self.refresh)
        self.refresh()

    def wanted(self) -> bool:
        """No workflow is open: the window shows an empty, untouched, unsaved one."""
        document = self.window.session.document
        welcome = getattr(self.window, "welcome", None)
        return (document.path is None and not document.workflow.nodes
                and not document.modified and getattr(document, "template", None) is None
                and not (welcome is not None and welcome.isVisible()))

    def window_shown(self) -> None:
        """The window is on screen for the first time: show the page if nothing is open."""
        if not self._window_shown:
            self._window_shown = True
            self.refresh()

    def refresh(self, *_args: object) -> None:
        if not self._window_shown or not self.wanted():
            self.hide()
            return
        # rebuilt while hidden: rows added to a shown card stay hidden until the next event-loop
        # turn, so the card was measured without them and stayed a 30x26 box
        self.hide()
        self._rebuild()
        self.adjustSize()
        self.move(self.window.canvas.viewport().geometry().topLeft() + QPoint(MARGIN, MARGIN))
        self.show()
        self.raise_()

    def _rebuild(self) -> None:
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.buttons = {}
        session = self.window.session
        self._heading("Start")
        new = self._button("new", "New empty workflow")
        new.setToolTip("Drag nodes from the palette onto the canvas, or double-click the "
                       "canvas and type a node's name")
        new.clicked.connect(self._start_empty)
        hint = QLabel("then drag nodes from the palette, or double-click the canvas")
        hint.setProperty("role", "dim")
        hint.setWordWrap(True)  # the card is at most 330 px wide: a long line was cut
        hint.setContentsMargins(6, 0, 0, 4)
        self._layout.addWidget(hint)
        recent = session.recent.paths()[:RECENT_SHOWN]
        if recent:
            self._heading("Recent files")
            labels = short_names(recent)
            for path in recent:
                button = self._button(f"recent:{path}", labels[path])
                button.setToolTip(path)
                button.clicked.connect(lambda _c=False, p=path: self.window.open_path(p))
        self._heading("Templates")
        # (built when first shown, never on a start that opens a file: nor are these imported)
        from builder.gallery import open_template
        from builder.templates import find_templates

        for template in find_templates()[:TEMPLATES_SHOWN]:
            button = self._button(f"template:{template.slug}", template.title)
            button.setToolTip(template.description)
            button.clicked.connect(lambda _c=False, t=template: open_template(session, t))
        more = self._button("gallery", "More templates…")
        more.clicked.connect(lambda: self.window.new_from_template())

    def _heading(self, text: str) -> None:
        label = QLabel(f"<b>{text}</b>")
        label.setProperty("role", "heading")
        self._layout.addWidget(label)

    def _button(self, key: str, text: str) -> QPushButton:
        button = QPushButton(text)
        button.setFlat(True)
        button.setStyleSheet("text-align: left; padding: 3px 6px;")
        self._layout.addWidget(button)
        self.buttons[key] = button
        return button

    def _start_empty(self) -> None:
        self.hide()
        self.window.canvas.setFocus()
        self.window.show_status("Drag a node from the palette onto the canvas, or "
                                "double-click the canvas and type its name.")
