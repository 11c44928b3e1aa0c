"""The picture of one edge: a smooth horizontal bezier from an output to an input.

Coloured by the type it carries, thicker when selected or when a node it touches is hovered, dashed
for a loop's back edge. Wires are selected by clicking, not by the rubber band, so a band never
deletes wires whose nodes stay. A back edge (its input left of its output) curves around
underneath the loop body instead of cutting through it. Painting is Qt's own
(QGraphicsPathItem); only the pen and the path change.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem

from builder.canvas.look import Look
from engine.model import Edge


def wire_path(start: QPointF, end: QPointF, below: float | None = None) -> QPainterPath:
    """A bezier leaving `start` to the right and entering `end` from the left.

    When `end` lies left of `start` and `below` is given, the wire loops under y = `below`.
    """
    return bezier(start.x(), start.y(), end.x(), end.y(), below)


def bezier(sx: float, sy: float, ex: float, ey: float, below: float | None = None
           ) -> QPainterPath:
    """`wire_path` on plain numbers (the scene builds thousands of these)."""
    path = QPainterPath()
    path.moveTo(sx, sy)
    if ex < sx - 20 and below is not None:
        reach = 80.0
        path.cubicTo(sx + reach, sy, sx + reach, below, sx, below)
        path.lineTo(ex, below)
        path.cubicTo(ex - reach, below, ex - reach, ey, ex, ey)
        return path
    dx = max(abs(ex - sx) * 0.5, 40.0)
    path.cubicTo(sx + dx, sy, ex - dx, ey, ex, ey)
    return path


def distance_to_curve(path: QPainterPath, pos: QPointF) -> float:
    """The distance from `pos` to the drawn line of `path` (its flattened polyline).

    Qt's own hit test for a path item is the *filled* path, which for a loop's back edge is
    the whole area the wire curves around; selection must use the line itself.
    """
    px, py = pos.x(), pos.y()
    best = float("inf")
    for polygon in path.toSubpathPolygons():
        points = [(p.x(), p.y()) for p in polygon]
        for (ax, ay), (bx, by) in zip(points, points[1:], strict=False):
            dx, dy = bx - ax, by - ay
            length2 = dx * dx + dy * dy
            t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy)
                                                      / length2))
            cx, cy = ax + t * dx - px, ay + t * dy - py
            best = min(best, cx * cx + cy * cy)
    return best ** 0.5


class WireItem(QGraphicsPathItem):
    """No Python `shape()` or `paint()`: Qt draws and bounds the path itself, so a scene of
    thousands of wires costs what a plain scene does. The press handler finds wires near the
    cursor with a small search rectangle instead of a fat shape."""

    def __init__(self, edge: Edge | None, look: Look, port_type: str = "any",
                 back: bool = False) -> None:
        super().__init__()
        self.edge = edge
        self.look = look
        self.port_type = port_type
        self.back = back
        self.highlighted = False
        self.selected = False  # wires keep their own selection (see GraphScene.select_wire)
        self.problem: str | None = None
        self.setPen(look.wire_pen(port_type, back=back))  # z 0: under nodes (z 1)

    def set_look(self, look: Look) -> None:
        self.look = look
        self.apply_pen()

    def set_ends(self, start: QPointF, end: QPointF, below: float | None = None) -> None:
        self.setPath(wire_path(start, end, below))

    def set_selected(self, on: bool) -> None:
        if on != self.selected:
            self.selected = on
            self.apply_pen()

    def set_highlighted(self, on: bool) -> None:
        if on != self.highlighted:
            self.highlighted = on
            self.setZValue(0.5 if on else 0.0)
            self.apply_pen()

    def set_problem(self, message: str | None) -> None:
        if message != self.problem:
            self.problem = message
            self.setToolTip(f"{self.edge}\n{message}" if message else "")
            self.apply_pen()

    def apply_pen(self) -> None:
        state = ("selected" if self.selected else "problem" if self.problem
                 else "highlighted" if self.highlighted else "normal")
        self.setPen(self.look.wire_pen(self.port_type, state, self.back))
