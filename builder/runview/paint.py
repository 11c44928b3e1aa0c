"""How one node's run state looks on the canvas: painting only, no state, no geometry decisions.

`Decorations` paints a node's decoration (state ring, header tint, labels above, progress bar and
message below, the failed badge) for the run layer. Near in, each decoration is drawn once into a
pixmap at the view's scale and kept, keyed by everything it shows (state, size, texts, progress,
the pulse's step, the zoom, the theme): a repaint of a node whose look did not change — because a
neighbour changed, the pointer passed, a wire moved — is one blit instead of a dozen text and
path draws, and every pending node shares one pixmap. Far out (zoom < FAR_LOD) it paints square
rings and header fills directly, as cheap as the node items' own far look.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QTransform,
)

from builder.canvas.look import HEADER_H, RADIUS
from builder.theme import Theme
from engine.runfold import PAUSED, RETRYING, WAITING, NodeState

BAR_H = 3.0
FAR_LOD = 0.3  # below this zoom the layer drops text and antialiasing (as node items do)
# what a node's decoration covers around its rect: everything painted for a node (ring,
# labels above, buttons' caption below) stays inside, so a repaint leaves no pixels
AREA = (-6.0, -26.0, 6.0, 50.0)
CAPTION_Y = 30.0  # a waiting node's caption, under its Approve/Reject buttons
RING = (-6.0, -6.0, 6.0, 6.0)  # what the pulse repaints
BADGE = 18.0
PULSE_STEPS = 12  # the pulse's brightness in this many steps (each step one cached pixmap)
CACHE_SIZE = 1500  # decorations kept (a few MB at a typical zoom)
LIVE = ("running", WAITING, RETRYING, PAUSED)


def badge_rect(r: QRectF) -> QRectF:
    return QRectF(r.right() - 22, r.top() - 24, BADGE, BADGE)


def pill(painter: QPainter, rect: QRectF, color: QColor, text: str) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    radius = rect.height() / 2
    painter.drawRoundedRect(rect, radius, radius)
    painter.setPen(QPen(QColor("white")))
    font = QFont(painter.font())
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def duration_text(s: NodeState) -> str:
    if s.duration_s is None:
        return ""
    d = s.duration_s
    return f"{d * 1000:.0f} ms" if d < 1 else f"{d:.1f} s" if d < 60 else f"{d / 60:.1f} min"


def _ratio(painter: QPainter) -> float:
    device = painter.device()
    return device.devicePixelRatioF() if device is not None else 1.0


def pulse_step(phase: float) -> int:
    return round((0.5 + 0.5 * math.sin(phase)) * PULSE_STEPS)


class Decorations:
    """Paints node decorations in one theme and font, near ones through a pixmap cache."""

    def __init__(self, theme: Theme, font: QFont | None = None) -> None:
        self.theme = theme
        self.font = QFont(font) if font is not None else QFont()
        self.veil = QColor(theme.background)
        self.veil.setAlpha(150)
        self._colors: dict[str, QColor] = {}
        self._cache: OrderedDict[tuple[Any, ...], QPixmap] = OrderedDict()

    def state_color(self, state: str) -> QColor:
        """The colour `state` is drawn in (made once per theme, not per paint)."""
        color = self._colors.get(state)
        if color is None:
            color = QColor(self.theme.state_color(
                "waiting" if state in (WAITING, RETRYING, PAUSED) else state))
            self._colors[state] = color
        return color

    # --- far out ------------------------------------------------------------------------------
    def paint_far(self, painter: QPainter, state: str, r: QRectF, pulse_on: bool) -> None:
        color = self.state_color(state)
        if state == "skipped":
            painter.fillRect(r, self.veil)
        elif state != "pending":
            painter.fillRect(QRectF(r.left(), r.top(), r.width(), HEADER_H), color)
        width = 4.0 if state == "running" and pulse_on else 3.0
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(color, 1.5 if state == "pending" else width))
        painter.drawRect(r.adjusted(-3, -3, 3, 3))

    # --- near in ------------------------------------------------------------------------------
    def paint_near(self, painter: QPainter, s: NodeState, r: QRectF, phase: float,
                   scale: float, to_device: QTransform) -> None:
        """One node's decoration around its scene rect `r`, `scale` device pixels per unit;
        the painter has no transform (`to_device` maps scene to device), so the pixmap, made
        at that scale, is blitted pixel for pixel instead of resampled."""
        state = s.shown
        left, right = self._labels(s, state)
        live = state in LIVE
        key = (state, r.width(), r.height(), left, right,
               round(s.progress, 3) if live and s.progress is not None else None,
               s.message if live else "", pulse_step(phase) if state == "running" else 0,
               round(scale, 4), dpr := _ratio(painter))
        pixmap = self._cache.get(key)
        if pixmap is None:
            pixmap = self._render(s, state, r, left, right, phase, scale, dpr)
            self._cache[key] = pixmap
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        corner = to_device.map(QPointF(r.left() + AREA[0], r.top() + AREA[1]))
        painter.drawPixmap(round(corner.x()), round(corner.y()), pixmap)

    def _render(self, s: NodeState, state: str, r: QRectF, left: str, right: str,
                phase: float, scale: float, dpr: float) -> QPixmap:
        area = QRectF(0.0, 0.0, r.width(), r.height()).adjusted(*AREA)
        pixmap = QPixmap(max(1, math.ceil(area.width() * scale * dpr)),
                         max(1, math.ceil(area.height() * scale * dpr)))
        pixmap.setDevicePixelRatio(dpr)  # (a HiDPI screen: as sharp as drawing directly)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.scale(scale, scale)
        painter.translate(-area.topLeft())
        self._draw(painter, s, state, QRectF(QPointF(0.0, 0.0), r.size()), left, right, phase)
        painter.end()
        return pixmap

    def _labels(self, s: NodeState, state: str) -> tuple[str, str]:
        left = " · ".join(t for t in (f"merge: {s.rule}" if s.rule else "",
                                      f"⟳ {s.iterations}" if s.iterations else "",
                                      f"retry {s.attempt}" if state == RETRYING else "",
                                      "cached" if s.cached else "") if t)
        right = duration_text(s)
        if state in ("failed", "cancelled", WAITING, PAUSED, "skipped"):
            right = {WAITING: "waiting for approval", PAUSED: "paused"}.get(state, state)
        return left, right if state != "failed" else ""

    def _draw(self, painter: QPainter, s: NodeState, state: str, r: QRectF, left: str,
              right: str, phase: float) -> None:
        color = self.state_color(state)
        if state == "skipped":  # faded: the body shows through a veil of the background
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(self.veil)
            painter.drawRoundedRect(r, RADIUS, RADIUS)
        if state != "pending":
            tint = QColor(color)
            tint.setAlpha(70)
            header = QPainterPath()
            header.addRoundedRect(QRectF(r.left(), r.top(), r.width(), HEADER_H), RADIUS, RADIUS)
            painter.fillPath(header, tint)
        ring = QColor(color)
        width = 2.5
        if state == "running":
            pulse = pulse_step(phase) / PULSE_STEPS
            ring.setAlphaF(0.45 + 0.55 * pulse)
            width = 2.0 + 2.0 * pulse
        elif state == "pending":
            ring.setAlpha(110)
            width = 1.5
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(ring, width))
        painter.drawRoundedRect(r.adjusted(-3, -3, 3, 3), RADIUS + 2, RADIUS + 2)
        painter.setFont(self.font)
        above = QRectF(r.left(), r.top() - 20, r.width(), 16)
        painter.setPen(QPen(color.lighter(130) if self.theme.dark else color.darker(130)))
        if left:
            painter.drawText(above, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             left)
        if right:
            painter.drawText(above, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                             right)
        live = state in LIVE
        if s.progress is not None and live:
            track = QRectF(r.left() + 4, r.bottom() + 3, r.width() - 8, BAR_H)
            painter.setPen(Qt.PenStyle.NoPen)
            back = QColor(color)
            back.setAlpha(60)
            painter.setBrush(back)
            painter.drawRect(track)
            painter.setBrush(QBrush(color))
            painter.drawRect(QRectF(track.left(), track.top(), track.width() * s.progress, BAR_H))
        if s.message and live:
            # inside the node's AREA (wider text was clipped at the area's edge — "aiting for
            # a person to dec…" — and left pixels behind); the tooltip gives the whole message
            below = CAPTION_Y if state in (WAITING, PAUSED) else 8  # (under the buttons)
            box = QRectF(r.left() + AREA[0], r.bottom() + below, r.width() + AREA[2] - AREA[0],
                         16)
            text = QFontMetricsF(self.font).elidedText(s.message, Qt.TextElideMode.ElideRight,
                                                       box.width() - 2)
            painter.setPen(QPen(self.theme.text_dim))
            painter.drawText(box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                             text)
        if state == "failed":
            pill(painter, badge_rect(r), color, "!")
