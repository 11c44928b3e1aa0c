"""Breakpoints drawn on the canvas: a red dot per breakpoint, a ring and a pill on paused nodes.

A node's breakpoint is a red dot at its top-left corner, a wire's a red dot at the wire's middle;
a conditional one carries a `?` and its condition in the tooltip. A node paused at a breakpoint
gets an amber ring and a "Paused" pill above it (the run overlay shows it still pending: it has
not started); a node held because the whole run is paused gets a dim "Held" pill. The marks are
a handful of small scene items above the run overlay, repositioned whenever the scene changes
(nodes dragged, wires re-routed, the scene rebuilt on a theme change), so they never need the
canvas to tell them anything.
"""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from engine.breakpoints import Breakpoint

DOT = 14.0
MARK_Z = 4.6  # above the run overlay's layer (4), below a wire being drawn (5)
PILL_H = 20.0


class BreakpointDot(QGraphicsItem):
    """One breakpoint's red dot (a `?` in it when it has a condition)."""

    def __init__(self, bp: Breakpoint, color: QColor) -> None:
        super().__init__()
        self.bp = bp
        self.color = color
        self.setZValue(MARK_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        # the same size on screen at every zoom: a breakpoint must show on a zoomed-out graph
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        tip = f"Breakpoint on {bp.where}"
        self.setToolTip(tip + (f"\nwhen {bp.condition}" if bp.condition else "\n(always)"))

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return QRectF(-DOT / 2 - 1, -DOT / 2 - 1, DOT + 2, DOT + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(255, 255, 255, 200), 1.5))
        painter.setBrush(self.color)
        painter.drawEllipse(QRectF(-DOT / 2, -DOT / 2, DOT, DOT))
        if self.bp.condition:
            font = QFont(painter.font())
            font.setPixelSize(11)
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(QColor("white"))
            painter.drawText(QRectF(-DOT / 2, -DOT / 2, DOT, DOT),
                             Qt.AlignmentFlag.AlignCenter, "?")


class PausedMark(QGraphicsItem):
    """An amber ring around a paused node and a pill above it ("Paused" or "Held")."""

    def __init__(self, hit: bool, color: QColor, text_color: QColor) -> None:
        super().__init__()
        self.hit = hit
        self.text = "Paused" if hit else "Held"
        self.color, self.text_color = color, text_color
        self.rect = QRectF()
        self.setZValue(MARK_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_rect(self, rect: QRectF) -> None:
        if rect != self.rect:
            self.prepareGeometryChange()
            self.rect = QRectF(rect)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self.rect.adjusted(-8, -PILL_H - 12, 80, 8)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self.color, 3.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(self.rect.adjusted(-4, -4, 4, 4), 10, 10)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        bars = 12.0 if self.hit else 0.0  # the pause sign, drawn (fonts may lack ⏸)
        width = painter.fontMetrics().horizontalAdvance(self.text) + 20 + bars
        pill = QRectF(self.rect.left() + DOT, self.rect.top() - PILL_H - 8, width, PILL_H)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.color)
        painter.drawRoundedRect(pill, PILL_H / 2, PILL_H / 2)
        painter.setBrush(self.text_color)
        if bars:
            top, h = pill.top() + 6, PILL_H - 12
            painter.drawRect(QRectF(pill.left() + 10, top, 3, h))
            painter.drawRect(QRectF(pill.left() + 15, top, 3, h))
        painter.setPen(self.text_color)
        painter.drawText(pill.adjusted(bars + 10, 0, -10, 0), Qt.AlignmentFlag.AlignVCenter
                         | Qt.AlignmentFlag.AlignLeft, self.text)


class BreakpointMarks:
    """The canvas marks of the open document's breakpoints and of the nodes paused now."""

    def __init__(self, canvas: Any) -> None:
        self.canvas = canvas  # its `theme` colours the marks (a new theme rebuilds the scene)
        self.breakpoints: list[Breakpoint] = []
        self.paused: dict[str, bool] = {}  # node id -> hit (True) or held (False)
        self.dots: dict[Breakpoint, BreakpointDot] = {}
        self.rings: dict[str, PausedMark] = {}
        canvas.graph_scene.changed.connect(self._follow)

    def set_breakpoints(self, breakpoints: list[Breakpoint]) -> None:
        self.breakpoints = list(breakpoints)
        self.refresh()

    def set_paused(self, paused: dict[str, bool]) -> None:
        self.paused = dict(paused)
        self.refresh()

    def _follow(self, *_args: Any) -> None:
        if self.dots or self.rings:
            self.refresh()

    def refresh(self) -> None:
        """Make, move or drop each mark so it matches the breakpoints and the scene now; a
        mark already where it belongs is left alone (this runs on every scene change)."""
        scene = self.canvas.graph_scene
        wanted = set(self.breakpoints)
        for bp in list(self.dots):
            if bp not in wanted:
                self._drop(self.dots.pop(bp))
        for bp in self.breakpoints:
            where = self._anchor(bp)
            dot = self.dots.get(bp)
            if where is None:
                if dot is not None:
                    self._drop(self.dots.pop(bp))
                continue
            if dot is None or not shiboken6.isValid(dot) or dot.scene() is not scene:
                dot = self.dots[bp] = BreakpointDot(bp, self.canvas.theme.problem)
                scene.addItem(dot)
            if dot.pos() != where:
                dot.setPos(where)
        for node_id in list(self.rings):
            if node_id not in self.paused or node_id not in scene.nodes:
                self._drop(self.rings.pop(node_id))
        for node_id, hit in self.paused.items():
            item = scene.nodes.get(node_id)
            if item is None:
                continue
            ring = self.rings.get(node_id)
            if ring is None or not shiboken6.isValid(ring) or ring.scene() is not scene \
                    or ring.hit != hit:
                if ring is not None:
                    self._drop(ring)
                theme = self.canvas.theme
                color = theme.state_color("waiting") if hit else theme.text_dim
                ring = self.rings[node_id] = PausedMark(hit, color, QColor("#1d1f23"))
                scene.addItem(ring)
            ring.set_rect(item.mapRectToScene(item.rect))

    def _anchor(self, bp: Breakpoint) -> QPointF | None:
        scene = self.canvas.graph_scene
        if bp.wire is not None:
            wire = scene.wires.get(bp.wire)
            if wire is None or not shiboken6.isValid(wire):
                return None
            return wire.mapToScene(wire.path().pointAtPercent(0.5))
        item = scene.nodes.get(bp.node)
        if item is None or not shiboken6.isValid(item):
            return None
        return item.mapToScene(item.rect.topLeft())

    @staticmethod
    def _drop(item: QGraphicsItem) -> None:
        if shiboken6.isValid(item) and item.scene() is not None:
            item.scene().removeItem(item)
