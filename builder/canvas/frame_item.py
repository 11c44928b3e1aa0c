"""The picture of a frame: a titled, tinted box around its member nodes.

Its rectangle is computed from the member node items (plus padding), so it follows them as they
move; it is grabbed (selected, dragged) by its title bar only, so the inside stays free for
rubber-band selection. The frame itself is the workflow's `Frame` (engine/model.py); the scene
calls `set_frame` when that one frame changes.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from builder.canvas.look import Look
from engine.model import Frame

FRAME_PAD = 24.0
FRAME_TITLE_H = 28.0
DEFAULT_FRAME_COLOR = "#5a6f8c"


class FrameItem(QGraphicsItem):
    def __init__(self, frame: Frame, look: Look) -> None:
        super().__init__()
        self.look = look
        self.rect = QRectF()
        self.setZValue(-3.0)
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.set_frame(frame)

    @property
    def frame_id(self) -> str:
        return self.frame.id

    @property
    def node_ids(self) -> list[str]:
        """The members as last drawn (a copy: the scene unindexes them when the frame changes)."""
        return self._members

    def set_frame(self, frame: Frame) -> None:
        self.frame = frame
        self._members = list(frame.nodes)
        color = QColor(frame.color or DEFAULT_FRAME_COLOR)
        if not color.isValid():
            color = QColor(DEFAULT_FRAME_COLOR)
        fill = QColor(color)
        fill.setAlpha(48)
        edge = QColor(color)
        edge.setAlpha(170)
        title = QColor(color)
        title.setAlpha(120)
        self._fill, self._title_brush = QBrush(fill), QBrush(title)
        self._pen = QPen(edge, 1.5)
        self._selected_pen = QPen(self.look.theme.selection, 2.2)
        self.setToolTip(frame.title)
        self.update()

    def set_member_rect(self, members: QRectF) -> None:
        """Fit the frame around the united rectangle of its member nodes."""
        rect = members.adjusted(-FRAME_PAD, -FRAME_PAD - FRAME_TITLE_H, FRAME_PAD, FRAME_PAD)
        if rect != self.rect:
            self.prepareGeometryChange()
            self.rect = rect

    def title_rect(self) -> QRectF:
        return QRectF(self.rect.left(), self.rect.top(), self.rect.width(), FRAME_TITLE_H)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self.rect.adjusted(-2, -2, 2, 2)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.title_rect())
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        if self.rect.isEmpty():
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self._selected_pen if self.isSelected() else self._pen)
        painter.setBrush(self._fill)
        painter.drawRoundedRect(self.rect, 8, 8)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._title_brush)
        title = self.title_rect()
        painter.drawRoundedRect(title.adjusted(1, 1, -1, 0), 7, 7)
        painter.drawRect(title.adjusted(1, FRAME_TITLE_H / 2, -1, 0))
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod >= 0.3:
            painter.setPen(self.look.theme.frame_text)
            painter.setFont(self.look.title_font)
            painter.drawText(title.adjusted(12, 0, -12, 0),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             self.frame.title)
