"""The welcome card: what a newcomer needs to start, over the canvas of their first workflow.

It stays until dismissed ("Got it", remembered in QSettings under WELCOME_KEY), unlike a status
message: Run ▶, drag a node from the palette, drag from an output to an input, and links to the
template gallery and the user guide.

It never covers a node (#13): it takes the first corner of the canvas (top-left, top-right,
bottom-left; bottom-right when the minimap is off) where no node is on screen, and looks again
whenever the view moves. Just after it is shown (and the view fitted) it may shift the view
sideways or down to make that room; later it never moves the person's view, and when no corner
is free it folds to its one-line heading ("Show tips" unfolds it again), and when even that
would cover a node it steps aside (hidden) until a corner is free again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.mainwindow import MainWindow

WELCOME_KEY = "welcome/dismissed"
MARGIN = 14
SHIFT_S = 1.5  # after showing, the card may move the view this long (the first fit lands)
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
        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 12)
        outer.setSpacing(8)
        top = QHBoxLayout()
        heading = QLabel("<b>Welcome to Flowloom</b>")
        heading.setProperty("role", "heading")
        top.addWidget(heading, 1)
        self.unfold_button = QPushButton("Show tips")
        self.unfold_button.setObjectName("WelcomeUnfold")
        self.unfold_button.setToolTip("Show the welcome tips (the view moves to make room)")
        self.unfold_button.clicked.connect(self.unfold)
        top.addWidget(self.unfold_button)
        outer.addLayout(top)
        self.body = QWidget()
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        outer.addWidget(self.body)
        self.folded = False
        self.showing = False  # offered and not dismissed (hidden while the graph fills the view)
        self._shift_until = 0.0
        self._asked = False
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
        # (no event filter on the viewport to follow the view: a Python filter there ran
        # during the window's destruction and crashed the process; the minimap already hears
        # of every pan, zoom and resize from the canvas's own paint)
        window.canvas.minimap.view_moved.connect(self._view_moved)
        self.unfold_button.hide()
        self.hide()

    @property
    def dismissed(self) -> bool:
        return self.window.settings.value(WELCOME_KEY, False) in (True, "true")

    def offer(self) -> bool:
        """Show the card unless the person dismissed it before."""
        if self.dismissed:
            return False
        self.show_card(asked=False)
        return True

    def show_card(self, asked: bool = True) -> None:
        """Show the whole card; `asked` (Help ▸ Welcome card, "Show tips") lets it push the
        graph further past the canvas's edge to make room (the minimap shows where)."""
        self._asked = asked
        self._fold(False)
        self._shift_until = time.monotonic() + SHIFT_S
        self.showing = True
        self.show()
        self.raise_()
        self.place()

    def unfold(self) -> None:
        """"Show tips": the whole card again, making room for it by moving the view."""
        self.show_card()

    def dismiss(self) -> None:
        self.window.settings.setValue(WELCOME_KEY, True)
        self.showing = False
        self.hide()

    # --- keeping out of the graph's way -----------------------------------------------------
    def _fold(self, folded: bool) -> None:
        self.folded = folded
        self.body.setVisible(not folded)
        self.unfold_button.setVisible(folded)
        self.adjustSize()

    def _view_moved(self) -> None:
        if self.showing:
            self.place()

    def node_rects(self) -> list[QRect]:
        """Where the nodes are on screen, in the view's coordinates (the card's parent)."""
        canvas = self.window.canvas
        corner = canvas.viewport().geometry().topLeft()
        return [canvas.mapFromScene(item.sceneBoundingRect()).boundingRect().translated(corner)
                for item in canvas.visible_node_items()]

    def _corners(self) -> list[QRect]:
        area = self.window.canvas.viewport().geometry()
        minimap = self.window.canvas.minimap
        w, h = self.width(), self.height()
        left, top = area.left() + MARGIN, area.top() + MARGIN
        right, bottom = area.right() + 1 - MARGIN - w, area.bottom() + 1 - MARGIN - h
        spots = [QRect(left, top, w, h), QRect(right, top, w, h), QRect(left, bottom, w, h),
                 QRect(right, bottom, w, h)]
        return [r for r in spots if not (minimap.isVisible() and r.intersects(
            minimap.geometry().adjusted(-4, -4, 4, 4)))]

    def _free_corner(self, nodes: list[QRect]) -> QRect | None:
        for spot in self._corners():
            grown = spot.adjusted(-4, -4, 4, 4)
            if not any(grown.intersects(node) for node in nodes):
                return spot
        return None

    def place(self) -> None:
        """Put the card where it covers no node (see the module docstring)."""
        self.adjustSize()
        nodes = self.node_rects()
        spot = self._free_corner(nodes)
        if spot is None and time.monotonic() < self._shift_until \
                and self._make_room(nodes, overflow=self._asked):
            nodes = self.node_rects()
            spot = self._free_corner(nodes)
        if spot is None and not self.folded:
            self._fold(True)
            spot = self._free_corner(nodes)
        if spot is None and time.monotonic() < self._shift_until \
                and self._make_room(nodes, overflow=True):
            spot = self._free_corner(self.node_rects())
        if spot is None:  # the graph fills the canvas: out of its way until a corner frees up
            self.setVisible(False)
            return
        if spot.topLeft() != self.pos():
            self.move(spot.topLeft())
        if not self.isVisible():
            self.show()
            self.raise_()

    def _make_room(self, nodes: list[QRect], overflow: bool = False) -> bool:
        """Scroll the graph right of (or below) the card's top-left spot, when it fits there
        (or, with `overflow`, below it even if the graph then reaches further past the edge:
        the minimap shows where)."""
        if not nodes:
            return False
        canvas = self.window.canvas
        area = canvas.viewport().geometry()
        graph = nodes[0]
        for rect in nodes[1:]:
            graph = graph.united(rect)
        need_x = area.left() + 2 * MARGIN + self.width() - graph.left()
        need_y = area.top() + 2 * MARGIN + self.height() - graph.top()
        if graph.right() + need_x <= area.right() - MARGIN:
            bar, need = canvas.horizontalScrollBar(), need_x
        elif overflow or graph.bottom() + need_y <= area.bottom() - MARGIN:
            bar, need = canvas.verticalScrollBar(), need_y
        else:
            return False
        bar.setValue(bar.value() - need)  # (the minimap hears of it at the next paint)
        return True
