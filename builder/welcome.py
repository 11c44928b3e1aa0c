"""The welcome card: what a newcomer needs to start, over the canvas of their first workflow.

It stays until dismissed ("Got it", remembered in QSettings under WELCOME_KEY), unlike a status
message: Run ▶, drag a node from the palette, drag from an output to an input, and links to the
template gallery and the user guide. It sits in the canvas's top-left corner, so the middle of
the canvas (where nodes land) stays free.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.mainwindow import MainWindow

WELCOME_KEY = "welcome/dismissed"
MARGIN = 14
STEPS = (
    ("Run ▶", "Press <b>Run ▶</b> (F5) to run this workflow and watch each node light up."),
    ("", "Drag a node from the <b>palette</b> on the left onto the canvas "
         "(or double-click the canvas and type its name)."),
    ("", "Drag from an <b>output</b> (a dot on a node's right) to an <b>input</b> "
         "(a dot on the left) to connect them."),
)


class WelcomeCard(QFrame):
    def set_theme(self, theme: Any) -> None:
        """An opaque card in the node colours: on the bare canvas colour the card read as text
        floating over the graph, with wires showing through its gaps."""
        self.setStyleSheet(
            f"#WelcomeCard {{ background: {theme.node_body.name()}; "
            f"border: 1px solid {theme.node_border.name()}; border-radius: 8px; }}")

    def __init__(self, window: MainWindow, open_gallery: Callable[[], object],
                 open_guide: Callable[[], object]) -> None:
        # a child of the view, not its viewport: scrolling the view moves the viewport's
        # children (QWidget.scroll), and the card would slide off with the canvas
        super().__init__(window.canvas)
        self.setObjectName("WelcomeCard")
        self.window = window
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.set_theme(window.theme)
        self.setMaximumWidth(340)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        heading = QLabel("<b>Welcome to Flowloom</b>")
        heading.setProperty("role", "heading")
        layout.addWidget(heading)
        self.run_button = QPushButton("Run ▶")
        self.run_button.setObjectName("WelcomeRun")
        self.run_button.setToolTip("Run this workflow (F5)")
        self.run_button.clicked.connect(lambda: window.run_workflow())
        for number, (_button, text) in enumerate(STEPS, start=1):
            row = QHBoxLayout()
            label = QLabel(f"{number}. {text}")
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            row.addWidget(label, 1)
            if number == 1:
                row.addWidget(self.run_button, 0, Qt.AlignmentFlag.AlignTop)
            layout.addLayout(row)
        links = QHBoxLayout()
        self.gallery_button = QPushButton("Template gallery…")
        self.gallery_button.setObjectName("WelcomeGallery")
        self.gallery_button.clicked.connect(lambda: open_gallery())
        self.guide_button = QPushButton("User guide")
        self.guide_button.setObjectName("WelcomeGuide")
        self.guide_button.clicked.connect(lambda: open_guide())
        self.dismiss_button = QPushButton("Got it")
        self.dismiss_button.setObjectName("WelcomeDismiss")
        self.dismiss_button.setToolTip("Hide this card for good (Help ▸ Welcome shows it again)")
        self.dismiss_button.clicked.connect(self.dismiss)
        for button in (self.gallery_button, self.guide_button):
            links.addWidget(button)
        links.addStretch(1)
        links.addWidget(self.dismiss_button)
        layout.addLayout(links)
        # (no event filter on the viewport to follow resizes: the card is the view's child,
        # so its corner stays put; a Python filter there ran during the window's destruction
        # and crashed the process)
        self.hide()

    @property
    def dismissed(self) -> bool:
        return self.window.settings.value(WELCOME_KEY, False) in (True, "true")

    def offer(self) -> bool:
        """Show the card unless the person dismissed it before."""
        if self.dismissed:
            return False
        self.show_card()
        return True

    def show_card(self) -> None:
        self.adjustSize()
        self.move(self.window.canvas.viewport().geometry().topLeft() + QPoint(MARGIN, MARGIN))
        self.show()
        self.raise_()

    def dismiss(self) -> None:
        self.window.settings.setValue(WELCOME_KEY, True)
        self.hide()
