"""The picture of one workflow node: header with icon and title, a summary line, labelled ports.

A `NodeItem` is one QGraphicsItem (ports are painted, not child items, so a 2 000-node scene stays
light) sized to its labels. It knows nothing of the model: the scene hands it a `NodeContent`
computed from the node and its type, and asks it where ports are (`port_at`, `port_pos`).
Painting is level-of-detail aware: far out a coloured block, at middle distance square shapes
without text, close up the full picture. No item cache: at the zooms where painting costs most
(close up) few nodes are visible, and a cache would be rebuilt on every zoom step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPainterPath, QPixmap
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from builder.canvas.look import (
    HEADER_H,
    ICON,
    MIN_W,
    PAD,
    PORT_R,
    RADIUS,
    ROW_H,
    SUMMARY_H,
    Look,
)
from engine.loops import LOOP_KINDS
from engine.nodetype import Port

LOOP_RIGHT = 30.0  # the loop badge's room at the header's right
TITLE_GAP = 6.0  # between the icon and the title
MAX_TITLE_W = 300.0  # longer titles are elided (the tooltip gives them whole)
# Below this zoom the title is drawn at this fraction of its font on screen, not shrunk with
# the node (elided with a tooltip when it does not fit): titles read at every zoom.
MIN_TITLE_SCALE = 0.75
PORT_HIT_PX = 12.0  # a port's hit target on screen, at any zoom (pixels across)
_ELIDE_RIGHT = Qt.TextElideMode.ElideRight
_SELECTABLE = QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
BRANCH_TYPES = ("flow.if", "flow.switch")


@dataclass
class NodeContent:
    """What a node item shows; built by the scene from the model and the registry."""

    title: str
    category: str = "Other"
    summary: str = ""
    inputs: list[Port] = field(default_factory=list)  # the engine's Port records, as declared
    outputs: list[Port] = field(default_factory=list)
    kind: str = "normal"
    unknown: bool = False  # the node's type is not in the registry


def _body_layout(look: Look, content: NodeContent) -> tuple:
    """What a node's size takes from everything but its title: (title's right margin, summary
    as drawn, the width the summary and ports need, the ports' top, input rows, output rows,
    row count). Cached on the look per (loop?, summary, port names): nodes alike (most of a big
    file) compute it once."""
    loop = content.kind in LOOP_KINDS
    ins = tuple(p.name for p in content.inputs)
    outs = tuple(p.name for p in content.outputs)
    key = (loop, content.summary, ins, outs)
    found = look.node_layouts.get(key)
    if found is None:
        right = LOOP_RIGHT if loop else PAD
        summary, summary_w = look.summary_text(content.summary) if content.summary \
            else ("", 0.0)
        top = HEADER_H + (SUMMARY_H if summary else 0.0) + 4.0
        in_y, out_y, in_w, out_w = look.port_rows(ins, outs, top)
        ports_w = in_w + out_w + 4 * PAD + (PAD if in_w and out_w else 0)
        found = look.node_layouts[key] = (right, summary, max(MIN_W, summary_w + 2 * PAD,
                                                               ports_w), top, in_y, out_y,
                                          max(len(in_y), len(out_y), 1))
    return found


class NodeItem(QGraphicsItem):
    def __init__(self, node_id: str, content: NodeContent, look: Look) -> None:
        super().__init__()
        self.node_id = node_id
        self.look = look
        self.problems: list[str] = []
        self.hovered = False
        self.port_marks: dict[tuple[str, str], bool] = {}  # (side, name) -> compatible?
        self.setFlags(_SELECTABLE)
        self.setAcceptHoverEvents(True)
        self.setZValue(1.0)
        self._laid_out = False
        self._far_elided = False  # the zoomed-out title did not fit (tooltip gives it whole)
        self._painted_lod = 1.0  # the zoom of the last paint (see port_slack)
        self.set_content(content)

    # --- layout ---------------------------------------------------------------------------
    def set_content(self, content: NodeContent) -> None:
        if self._laid_out:
            self.prepareGeometryChange()
        self.content = content
        lk = self.look
        # The title's box in _paint_text is the width less the icon, the gaps and the right
        # margin (the loop badge's room on loops): size the node so the whole title fits it,
        # up to MAX_TITLE_W; a longer title is elided and the tooltip gives it whole.
        right, summary, least_w, top, in_y, out_y, rows = _body_layout(lk, content)
        title_room = PAD + ICON + TITLE_GAP + right + 2
        bound = lk.title_bound(content.title)
        if bound <= MAX_TITLE_W and bound + title_room <= least_w:
            # the title fits the body's width whole, however it shapes: no need to shape it
            self.title_text, title_w = content.title, least_w
        else:
            self.title_text, advance = lk.title_text(content.title, MAX_TITLE_W)
            title_w = advance + title_room
        self.title_elided = self.title_text != content.title
        self.summary = summary
        # up to the next 10 (rounding to the nearest cut the last letters of some titles)
        self.width = width = float(math.ceil(max(least_w, title_w) / 10) * 10)
        self.height = height = top + rows * ROW_H + 6.0
        self.rect = QRectF(0.0, 0.0, width, height)
        self._in_y, self._out_y = in_y, out_y
        self._bounds = QRectF(-PORT_R - 4, -10, width + 2 * PORT_R + 14, height + 18)
        if self._laid_out or self.title_elided:  # (a new item's tooltip is empty already)
            self._update_tooltip(None)
        if self._laid_out:
            self.update()
        self._laid_out = True

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self._bounds

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.rect.adjusted(-PORT_R - 3, 0, PORT_R + 3, 0))
        return path

    @property
    def in_rows(self) -> dict[str, float]:
        """Input port name -> y in the item (read-only: shared by items of the same ports)."""
        return self._in_y

    @property
    def out_rows(self) -> dict[str, float]:
        return self._out_y

    def port_pos(self, side: str, name: str) -> QPointF:
        """Scene position of a port ("in"/"out"); a missing port sits at the header's edge."""
        ys = self._in_y if side == "in" else self._out_y
        x = 0.0 if side == "in" else self.width
        return self.mapToScene(QPointF(x, ys.get(name, HEADER_H / 2)))

    def port_xy(self, side: str, name: str) -> tuple[float, float]:
        """`port_pos` as two numbers, without making a QPointF (for bulk routing)."""
        if side == "in":
            return self.x(), self.y() + self._in_y.get(name, HEADER_H / 2)
        return self.x() + self.width, self.y() + self._out_y.get(name, HEADER_H / 2)

    def port_type(self, side: str, name: str) -> str:
        for port in (self.content.inputs if side == "in" else self.content.outputs):
            if port.name == name:
                return port.type
        return "any"

    def port_at(self, scene_pos: QPointF, slack: float = 10.0) -> tuple[str, str] | None:
        """The port ("in"/"out", name) under a scene point: its dot or its label's half row."""
        p = self.mapFromScene(scene_pos)
        for side, ys, x in (("in", self._in_y, 0.0), ("out", self._out_y, self.width)):
            for name, y in ys.items():
                if abs(p.y() - y) > ROW_H / 2:
                    continue
                near_dot = abs(p.x() - x) <= slack
                on_label = (0 <= p.x() <= self.width / 2) if side == "in" else (
                    self.width / 2 <= p.x() <= self.width)
                if near_dot or on_label:
                    return side, name
        return None

    # --- state shown --------------------------------------------------------------------------
    def set_problems(self, messages: list[str]) -> None:
        if messages != self.problems:
            self.problems = list(messages)
            self._update_tooltip(None)
            self.update()

    def _update_tooltip(self, port: tuple[str, str] | None) -> None:
        """Over a port: its name and type (and help); elsewhere the full title when it is
        elided (or does not fit when zoomed out) and the node's problems."""
        if port is not None:
            side, name = port
            found = next((p for p in (self.content.inputs if side == "in"
                                      else self.content.outputs) if p.name == name), None)
            kind = "input" if side == "in" else "output"
            text = f"{name}: {found.type if found else 'any'} ({kind})"
            if found is not None and getattr(found, "help", ""):
                text += f"\n{found.help}"
        else:
            lines = [self.content.title] if self.title_elided or self._far_elided else []
            text = "\n".join(lines + self.problems)
        if text != self.toolTip():
            self.setToolTip(text)

    def hoverMoveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._update_tooltip(self.port_at(event.scenePos(), self.port_slack()))

    def port_slack(self, zoom: float | None = None) -> float:
        """Port hit radius in scene units: at least PORT_HIT_PX/2 screen pixels at any zoom.
        The zoom is the one this item was last painted at (event handlers never ask the view:
        hover events can arrive while a closing window's view is being destroyed)."""
        zoom = self._painted_lod if zoom is None else zoom
        return max(10.0, PORT_HIT_PX / 2 / max(zoom, 0.01))

    def set_port_marks(self, marks: dict[tuple[str, str], bool]) -> None:
        if marks != self.port_marks:
            self.port_marks = marks
            self.update()

    def hoverEnterEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._update_tooltip(self.port_at(event.scenePos(), self.port_slack()))
        self.hovered = True
        self.setZValue(3.0)
        scene = self.scene()
        if scene is not None and hasattr(scene, "highlight_wires"):
            scene.highlight_wires(self.node_id, True)
        self.update()

    def hoverLeaveEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.hovered = False
        self.setZValue(1.0)
        scene = self.scene()
        if scene is not None and hasattr(scene, "highlight_wires"):
            scene.highlight_wires(self.node_id, False)
        self.update()

    # --- painting -----------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        lk = self.look
        c = self.content
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        self._painted_lod = lod
        rect = self.rect
        header = lk.unknown_header if c.unknown else lk.header_brush(c.category)
        selected = self.isSelected()
        if lod < 0.3:  # far out: a block in the category colour, outlined when selected
            painter.setPen(lk.selected_pen if selected else lk.no_pen)
            painter.setBrush(header)
            painter.drawRect(rect)
            return
        if lod < 0.5:  # middle distance: square shapes, no antialiasing, only the title
            self._paint_simple(painter, header, selected, lod >= 0.4)
            self._paint_far_title(painter, lod)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        lift = 4.0 if self.hovered else 2.0
        painter.setPen(lk.no_pen)
        painter.setBrush(lk.shadow_brush)
        painter.drawRoundedRect(rect.translated(lift * 0.5, lift), RADIUS, RADIUS)
        painter.setBrush(lk.body_brush)
        painter.setPen(lk.hover_pen if self.hovered else lk.border_pen)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        # Header: rounded on top, square where it meets the body.
        painter.setPen(lk.no_pen)
        painter.setBrush(header)
        painter.drawRoundedRect(QRectF(0.5, 0.5, self.width - 1, HEADER_H), RADIUS, RADIUS)
        painter.drawRect(QRectF(0.5, HEADER_H - RADIUS, self.width - 1, RADIUS))
        if c.kind in LOOP_KINDS:
            self._paint_loop_marks(painter)
        self._paint_text(painter, lod)
        self._paint_ports(painter, lod)
        if selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(lk.selected_pen)
            painter.drawRoundedRect(rect.adjusted(-1.5, -1.5, 1.5, 1.5), RADIUS + 1, RADIUS + 1)
        if self.problems:
            self._paint_problem_badge(painter)

    def _paint_simple(self, painter: QPainter, header, selected: bool, ports: bool) -> None:
        lk = self.look
        c = self.content
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(lk.selected_pen if selected else lk.border_pen)
        painter.setBrush(lk.body_brush)
        painter.drawRect(self.rect)
        painter.fillRect(QRectF(0.5, 0.5, self.width - 1, HEADER_H), header)
        if not ports:
            return
        r = PORT_R
        for ports, ys, x in ((c.inputs, self._in_y, 0.0), (c.outputs, self._out_y, self.width)):
            for port in ports:
                painter.fillRect(QRectF(x - r, ys[port.name] - r, 2 * r, 2 * r),
                                 lk.port_brush(port.type))

    def _paint_far_title(self, painter: QPainter, lod: float, left: float = 0.0) -> None:
        """The title at a fixed on-screen size (3/4 of the normal one) inside the header, so
        nodes stay identifiable when zoomed out to fit a large graph: elided with "…" when it
        does not fit (the tooltip then gives it whole), never cut mid-letter. Its text is
        rendered once per width into a pixmap and blitted pixel for pixel."""
        room = max(8, int((self.width - PAD - left) * lod))
        pixmap = self._far_title_pixmap(room)
        elided = pixmap.width() > room
        if elided != self._far_elided:
            self._far_elided = elided
            self._update_tooltip(None)
        if elided:
            pixmap = self._far_title_pixmap(room, elide=True)
        height = pixmap.height() / lod  # in scene units: the view's zoom undoes the 1/lod
        target = QRectF(left or PAD / 2, max(0.0, (HEADER_H - height) / 2), pixmap.width() / lod,
                        height)
        painter.drawPixmap(target, pixmap, QRectF(0, 0, pixmap.width(), pixmap.height()))

    def _far_title_pixmap(self, room: int = 0, elide: bool = False) -> QPixmap:
        key = (self.content.title, id(self.look), room if elide else 0)
        if getattr(self, "_far_key", None) != key:
            font = QFont(self.look.title_font)
            if font.pointSizeF() > 0:
                font.setPointSizeF(font.pointSizeF() * MIN_TITLE_SCALE)
            else:
                font.setPixelSize(max(6, round(font.pixelSize() * MIN_TITLE_SCALE)))
            metrics = QFontMetrics(font)
            title = metrics.elidedText(self.content.title, _ELIDE_RIGHT, room - 2) if elide \
                else self.content.title
            pixmap = QPixmap(max(1, metrics.horizontalAdvance(title) + 2),
                             max(1, metrics.height()))
            pixmap.fill(Qt.GlobalColor.transparent)
            text = QPainter(pixmap)
            text.setRenderHint(QPainter.RenderHint.TextAntialiasing)
            text.setFont(font)
            text.setPen(self.look.text_pen)
            text.drawText(QPointF(1, metrics.ascent()), title)
            text.end()
            self._far_key, self._far_pixmap = key, pixmap
        return self._far_pixmap

    def _paint_text(self, painter: QPainter, lod: float) -> None:
        lk = self.look
        c = self.content
        painter.drawPixmap(QRectF(PAD, (HEADER_H - ICON) / 2, ICON, ICON),
                           lk.icon(c.category, 2.0), QRectF(0, 0, 2 * ICON, 2 * ICON))
        right = LOOP_RIGHT if c.kind in LOOP_KINDS else PAD
        if lod < MIN_TITLE_SCALE:  # shrunk with the node it would not read: fixed size
            self._paint_far_title(painter, lod, PAD + ICON + TITLE_GAP)
        else:
            painter.setPen(lk.text_pen)
            painter.setFont(lk.title_font)
            painter.drawText(QRectF(PAD + ICON + TITLE_GAP, 0,
                                    self.width - ICON - right - PAD - TITLE_GAP, HEADER_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             self.title_text)
        if self.summary:
            painter.setPen(lk.dim_pen)
            painter.setFont(lk.summary_font)
            painter.drawText(QRectF(PAD, HEADER_H + 2, self.width - 2 * PAD, SUMMARY_H),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                             self.summary)

    def _paint_loop_marks(self, painter: QPainter) -> None:
        """Loops: a circular-arrow badge in the header and a thick accent bar down the left."""
        lk = self.look
        painter.setBrush(lk.loop_badge_brush)
        painter.drawRoundedRect(QRectF(0.5, HEADER_H, 4, self.height - HEADER_H - RADIUS), 1, 1)
        cx, cy = self.width - 17.0, HEADER_H / 2
        painter.drawEllipse(QPointF(cx, cy), 9.0, 9.0)
        painter.setPen(lk.loop_arrow_pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawArc(QRectF(cx - 5, cy - 5, 10, 10), 40 * 16, 280 * 16)
        arrow = QPainterPath(QPointF(cx + 5.2, cy - 4.6))
        arrow.lineTo(cx + 4.4, cy - 0.6)
        arrow.lineTo(cx + 1.0, cy - 2.8)
        painter.drawPath(arrow)
        painter.setPen(lk.no_pen)

    def _paint_ports(self, painter: QPainter, lod: float) -> None:
        lk = self.look
        c = self.content
        labels = lod >= 0.5
        if labels:
            painter.setFont(lk.label_font)
        marks = self.port_marks
        for side, ports, ys, x in (("in", c.inputs, self._in_y, 0.0),
                                   ("out", c.outputs, self._out_y, self.width)):
            for port in ports:
                y = ys[port.name]
                mark = marks.get((side, port.name))
                if mark is not None:
                    painter.setOpacity(1.0 if mark else 0.25)
                    if mark:
                        painter.setPen(lk.glow_pen)
                        painter.setBrush(Qt.BrushStyle.NoBrush)
                        painter.drawEllipse(QPointF(x, y), PORT_R + 3.5, PORT_R + 3.5)
                painter.setPen(lk.port_pen)
                painter.setBrush(lk.port_brush(port.type))
                if port.multi:
                    painter.drawRoundedRect(QRectF(x - PORT_R, y - PORT_R - 1.5, 2 * PORT_R,
                                                   2 * PORT_R + 3), 2.5, 2.5)
                else:
                    painter.drawEllipse(QPointF(x, y), PORT_R, PORT_R)
                if labels:
                    painter.setPen(lk.text_pen)
                    if side == "in":
                        box = QRectF(PAD + 2, y - ROW_H / 2, self.width / 2, ROW_H)
                        align = Qt.AlignmentFlag.AlignLeft
                    else:
                        box = QRectF(self.width / 2 - PAD - 2, y - ROW_H / 2, self.width / 2,
                                     ROW_H)
                        align = Qt.AlignmentFlag.AlignRight
                    painter.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, port.name)
                if mark is not None:
                    painter.setOpacity(1.0)

    def _paint_problem_badge(self, painter: QPainter) -> None:
        lk = self.look
        center = QPointF(self.width - 2, -2)
        painter.setPen(lk.border_pen)
        painter.setBrush(lk.problem_brush)
        painter.drawEllipse(center, 8.5, 8.5)
        painter.setPen(lk.text_pen)
        painter.setFont(lk.badge_font)
        painter.drawText(QRectF(center.x() - 8, center.y() - 8, 16, 16),
                         Qt.AlignmentFlag.AlignCenter, "!")
