"""The canvas background: a dotted grid drawn in device space, so its cost does not grow with the
area shown or the zoom."""

from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QPainter, QPen

from builder.canvas.look import GRID
from builder.theme import Theme


def draw_grid(painter: QPainter, rect: QRectF, theme: Theme) -> None:
    """A dotted grid: vertical lines drawn with a dash pattern whose period is the grid step,
    in device pixels, so the cost is a few hundred lines whatever the zoom."""
    painter.fillRect(rect, theme.background)
    transform = painter.worldTransform()
    scale = transform.m11()
    if scale <= 0 or transform.isRotating():
        return
    step = GRID
    while step * scale < 16.0:
        step *= 5.0
    painter.save()
    painter.resetTransform()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    device = transform.mapRect(rect)
    origin = transform.map(QPointF(0.0, 0.0))
    for spacing, color, width in ((step, theme.grid, 2.0), (step * 5, theme.grid_major, 2.0)):
        pixels = spacing * scale
        if pixels > max(device.width(), device.height()) * 2:
            continue
        pen = QPen(color, width)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        pen.setDashPattern([1.0, pixels / width - 1.0])
        first_y = origin.y() + math.floor((device.top() - origin.y()) / pixels) * pixels
        pen.setDashOffset(-(first_y - width / 2 - device.top()) / width)
        painter.setPen(pen)
        x = origin.x() + math.ceil((device.left() - origin.x()) / pixels) * pixels
        lines = []
        top, bottom = device.top(), device.bottom()
        while x <= device.right():
            lines.append(QLineF(x, top, x, bottom))
            x += pixels
        painter.drawLines(lines)
    painter.restore()
