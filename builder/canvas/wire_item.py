"""The picture of one edge: a smooth horizontal bezier from an output to an input.

Coloured by the type it carries, thicker when selected or when a node it touches is hovered, dashed
for a loop's back edge. A wire that runs backwards (its input left of its output, as back edges do)
curves around underneath both nodes instead of cutting through them. Painting is Qt's own
(QGraphicsPathItem); only the pen and the path change.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from builder.canvas.look import Look
from engine.model import Edge


def wire_path(start: QPointF, end: QPointF, below: float | None = None) -> QPainterPath:
    """A bezier leaving `start` to the right and entering `end` from the left.

    When `end` lies left of `start` and `below` is given, the wire loops under y = `below`.
    """
    path = QPainterPath(start)
    sx, sy, ex, ey = start.x(), start.y(), end.x(), end.y()
    if ex < sx - 20 and below is not None:
        reach = 50.0
        path.cubicTo(QPointF(sx + reach * 1.6, sy), QPointF(sx + reach * 1.6, below),
                     QPointF(sx, below))
        path.lineTo(QPointF(ex, below))
        path.cubicTo(QPointF(ex - reach * 1.6, below), QPointF(ex - reach * 1.6, ey), end)
        return path
    dx = max(abs(ex - sx) * 0.5, 40.0)
    path.cubicTo(QPointF(sx + dx, sy), QPointF(ex - dx, ey), end)
    return path


class WireItem(QGraphicsPathItem):
    def __init__(self, edge: Edge | None, look: Look, port_type: str = "any",
                 back: bool = False) -> None:
        super().__init__()
        self.edge = edge
        self.look = look
        self.port_type = port_type
        self.back = back
        self.highlighted = False
        self.problem: str | None = None
        self.setZValue(-1.0)
        if edge is not None:
            self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
            self.setToolTip(str(edge))
        self.apply_pen()

    def set_look(self, look: Look) -> None:
        self.look = look
        self.apply_pen()

    def set_ends(self, start: QPointF, end: QPointF, below: float | None = None) -> None:
        self.setPath(wire_path(start, end, below))

    def set_highlighted(self, on: bool) -> None:
        if on != self.highlighted:
            self.highlighted = on
            self.setZValue(-0.5 if on else -1.0)
            self.apply_pen()

    def set_problem(self, message: str | None) -> None:
        if message != self.problem:
            self.problem = message
            tip = str(self.edge) if self.edge is not None else ""
            self.setToolTip(f"{tip}\n{message}" if message else tip)
            self.apply_pen()

    def apply_pen(self) -> None:
        theme = self.look.theme
        color = QColor(theme.problem if self.problem else self.look.port_color(self.port_type))
        width = 2.2
        if self.isSelected():
            width, color = 4.0, QColor(theme.selection)
        elif self.highlighted:
            width = 3.2
            color = color.lighter(125) if theme.dark else color.darker(120)
        pen = QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        if self.back:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12.0)
        return stroker.createStroke(self.path())

    def itemChange(self, change, value):  # noqa: N802 - Qt override
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.apply_pen()
        return super().itemChange(change, value)
