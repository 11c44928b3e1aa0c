"""The minimap: a small overview of the whole graph in the canvas's bottom-right corner.

It shows every node (in its category colour) and wire, and the part of the graph the canvas
shows as a rectangle; a click centres the canvas there, a drag moves the view (grabbing the
rectangle keeps the grip where it was taken). View ▸ Minimap hides it (kept in QSettings under
MINIMAP_KEY).

Painting stays cheap at thousands of nodes: the overview is rendered once into a pixmap, again
only when the model changes (its Topics, coalesced on a short timer), the theme changes, the
widget's size does, or a big file's deferred wires are all built (it waits for them hidden); a
paint blits that pixmap and draws the view rectangle. The canvas tells it
when its view may have moved (`view_changed`, from its foreground pass), which costs one rect
comparison when nothing moved. The wheel goes on to the canvas (it zooms there). It is a
child of the view (not of its viewport, whose children scroll with the scene) and sizes itself
to the viewport: smaller in a small window, gone in a tiny one, and faded while nodes are under
it (whole again under the pointer).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QLineF, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from builder.canvas.look import HEADER_H
from builder.canvas.node_item import NodeItem
from builder.theme import Theme
from engine.model import Workflow

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.canvas.view import Canvas

MINIMAP_KEY = "view/minimap"
MARGIN = 12  # from the viewport's corner
PAD = 6  # inside the panel, around the graph
FADED = 0.35  # its opacity while nodes are under it and the pointer is elsewhere
REBUILD_MS = 60  # model changes within this are drawn once (a paste adds hundreds of nodes)


def minimap_wanted(settings: Any) -> bool:
    return settings.value(MINIMAP_KEY, True) in (True, "true")


def minimap_toggled(window: Any, on: bool) -> None:
    """View ▸ Minimap: show or hide it, and remember that."""
    window.canvas.minimap.set_wanted(on)
    window.settings.setValue(MINIMAP_KEY, bool(on))


def minimap_size(viewport: QSize) -> QSize:
    """About a sixth of the viewport's width, 3:2, between 120x80 and 220x146; none at all when
    the viewport is too small for it to stay out of the way."""
    if viewport.width() < 360 or viewport.height() < 240:
        return QSize(0, 0)
    width = max(120, min(220, viewport.width() // 6))
    return QSize(width, width * 2 // 3)


class Minimap(QWidget):
    # the canvas's visible area moved (pan, zoom, resize) or its nodes changed: for whatever
    # sits over the canvas and must keep out of the graph's way (the welcome card)
    view_moved = Signal()

    def __init__(self, canvas: Canvas) -> None:
        super().__init__(canvas)
        self.setObjectName("Minimap")
        self.canvas = canvas
        self.wanted = True  # View ▸ Minimap
        self.renders = 0  # how many times the overview was rendered (tests check the cache)
        self._pixmap: QPixmap | None = None
        self._bounds = QRectF()  # the graph's scene rect the pixmap shows
        self._scale = 1.0  # minimap pixels per scene unit
        self._offset = QPointF()  # minimap position of scene (0, 0)
        self._view = QRectF()  # the scene rect the canvas showed at the last check
        self._grip: QPointF | None = None  # while dragging: press point - view centre (scene)
        self.covering = False  # nodes are under it: drawn faded (FADED) unless pointed at
        self.hovered = False
        self._unsubscribe: list[Callable[[], None]] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REBUILD_MS)
        self._timer.timeout.connect(self.invalidate)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Minimap: click or drag to move the view (View ▸ Minimap hides it)")
        self.hide()  # explicitly: a child never hidden shows with its parent
        self.follow(canvas.workflow)

    # --- what it shows --------------------------------------------------------------------
    def follow(self, workflow: Workflow) -> None:
        """Redraw when `workflow` changes (and stop following the one before)."""
        self.stop_following()
        # The callback holds the minimap weakly: a strong reference made a cycle (minimap ->
        # its unsubscribers -> callback -> minimap) that the garbage collector broke at random
        # moments, deallocating a Qt wrapper in the middle of unrelated code.
        ref = weakref.ref(self)

        def changed(*_args: Any) -> None:
            minimap = ref()
            if minimap is None or not shiboken6.isValid(minimap):
                return  # the canvas is gone (the workflow drops this callback with it)
            if not minimap._timer.isActive():
                minimap._timer.start()

        self._unsubscribe = [topic.subscribe(changed) for topic in (
            workflow.node_added, workflow.node_removed, workflow.node_changed,
            workflow.edge_added, workflow.edge_removed)]
        self.invalidate()  # the scene was just rebuilt for it

    def stop_following(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def set_theme(self, _theme: Theme) -> None:
        self.invalidate()

    def set_wanted(self, on: bool) -> None:
        self.wanted = bool(on)
        self.view_changed()

    def invalidate(self) -> None:
        """Render the overview again at the next paint."""
        self._pixmap = None
        self._timer.stop()
        self.view_changed(force=True)

    # --- following the canvas -------------------------------------------------------------
    def view_changed(self, force: bool = False) -> None:
        """The canvas may have panned, zoomed or resized: place the widget, repaint if the
        view rectangle moved. Cheap when nothing changed (the canvas calls it on every paint)."""
        canvas = self.canvas
        viewport = canvas.viewport()
        view = canvas.mapToScene(viewport.rect()).boundingRect()
        moved = view != self._view
        self._view = view
        if moved or force:  # force: the model changed, nodes may have come or gone
            self.view_moved.emit()
        size = minimap_size(viewport.size())
        scene = canvas.graph_scene  # (a big file's wires still coming: shown once they are)
        show = self.wanted and not size.isEmpty() and bool(scene.nodes) \
            and not scene.wires_pending
        if not show:
            if self.isVisible():
                self.hide()
            return
        area = viewport.geometry()
        geometry = QRect(area.right() + 1 - MARGIN - size.width(),
                         area.bottom() + 1 - MARGIN - size.height(), size.width(), size.height())
        if geometry != self.geometry():
            self.setGeometry(geometry)
            self._pixmap = None
        if not self.isVisible():
            self.show()
            self.raise_()
        if force or moved:
            self._check_covering()
        if force or moved or self._pixmap is None:
            self.update()

    def _check_covering(self) -> None:
        """Fade when nodes are under it (a small window has little room): the graph shows
        through; the pointer over it brings it back whole."""
        canvas = self.canvas
        area = canvas.mapToScene(self.geometry().translated(
            -canvas.viewport().geometry().topLeft())).boundingRect()
        covering = any(isinstance(item, NodeItem) for item in canvas.graph_scene.items(area))
        if covering != self.covering:
            self.covering = covering
            self.update()

    # --- mapping ----------------------------------------------------------------------------
    def to_minimap(self, scene: QPointF) -> QPointF:
        return QPointF(scene.x() * self._scale, scene.y() * self._scale) + self._offset

    def to_scene(self, point: QPointF) -> QPointF:
        p = point - self._offset
        return QPointF(p.x() / self._scale, p.y() / self._scale)

    def view_rect(self) -> QRectF:
        """The canvas's visible area in minimap pixels (may reach past the widget)."""
        top_left = self.to_minimap(self._view.topLeft())
        return QRectF(top_left.x(), top_left.y(), self._view.width() * self._scale,
                      self._view.height() * self._scale)

    # --- rendering --------------------------------------------------------------------------
    def _boxes(self) -> list[tuple[float, float, float, float, str]]:
        """(x, y, width, height, category) of every node, read once per render."""
        return [(item.x(), item.y(), item.width, item.height, item.content.category)
                for item in self.canvas.graph_scene.nodes.values()]

    def _render(self) -> QPixmap:
        """The overview at the widget's size: the panel, wires as lines, nodes as blocks.
        Plain float arithmetic over one read of the items: 2 000 nodes render in a few ms."""
        self.renders += 1
        look = self.canvas.look
        theme = look.theme
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(self.size() * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        boxes = self._boxes()
        if boxes:
            left = min(b[0] for b in boxes)
            top = min(b[1] for b in boxes)
            bounds = QRectF(left, top, max(b[0] + b[2] for b in boxes) - left,
                            max(b[1] + b[3] for b in boxes) - top)
        else:
            bounds = QRectF(-100, -100, 200, 200)
        inner = QRectF(self.rect()).adjusted(PAD, PAD, -PAD, -PAD)
        scale = min(inner.width() / max(bounds.width(), 1.0),
                    inner.height() / max(bounds.height(), 1.0))
        # the graph centred in the panel
        ox = inner.center().x() - bounds.center().x() * scale
        oy = inner.center().y() - bounds.center().y() * scale
        self._bounds, self._scale, self._offset = bounds, scale, QPointF(ox, oy)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        panel = QColor(theme.node_body)
        panel.setAlpha(235)
        painter.setPen(QPen(theme.node_border, 1.0))
        painter.setBrush(panel)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        painter.setClipRect(inner.adjusted(-2, -2, 2, 2))
        scene = self.canvas.graph_scene
        nodes = scene.nodes
        wire = QColor(theme.text_dim)
        wire.setAlpha(110)
        painter.setPen(QPen(wire, 1.0))
        lines = []
        # NodeItem.port_xy's numbers, already in minimap pixels, from the one read above
        where = {node_id: (x * scale + ox, y * scale + oy, (x + w) * scale + ox, item.in_rows,
                           item.out_rows)
                 for (node_id, item), (x, y, w, _h, _c) in zip(nodes.items(), boxes)}
        half = HEADER_H / 2  # (where port_xy puts a port a node does not have)
        for (src, out, dst, inp) in scene.wires:
            a, b = where.get(src), where.get(dst)
            if a is not None and b is not None:
                lines.append(QLineF(a[2], a[1] + a[4].get(out, half) * scale,
                                    b[0], b[1] + b[3].get(inp, half) * scale))
        painter.drawLines(lines)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(Qt.PenStyle.NoPen)
        by_category: dict[str, list[QRectF]] = {}
        for x, y, w, h, category in boxes:
            by_category.setdefault(category, []).append(QRectF(
                x * scale + ox, y * scale + oy, max(2.0, w * scale), max(2.0, h * scale)))
        for category, rects in by_category.items():  # one brush change per category
            painter.setBrush(look.header_brush(category))
            painter.drawRects(rects)
        painter.end()
        return pixmap

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        if self._pixmap is None or self._pixmap.size() != self.size() * self.devicePixelRatioF():
            self._pixmap = self._render()
        painter = QPainter(self)
        if self.covering and not self.hovered and self._grip is None:
            painter.setOpacity(FADED)
        painter.drawPixmap(0, 0, self._pixmap)
        accent = QColor(self.canvas.look.theme.accent)
        painter.setClipRect(QRectF(self.rect()).adjusted(1, 1, -1, -1))
        painter.setPen(QPen(accent, 1.5))
        accent.setAlpha(28)
        painter.setBrush(accent)
        painter.drawRect(self.view_rect())
        painter.end()

    def enterEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.hovered = True
        self.update()
        super().enterEvent(event)

    def leaveEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        self.hovered = False
        self.update()
        super().leaveEvent(event)

    # --- moving the view --------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        pos = event.position()
        centre = self._view.center()
        # grabbing the rectangle moves it from where it was taken; elsewhere it jumps there
        self._grip = self.to_scene(pos) - centre if self.view_rect().contains(pos) \
            else QPointF()
        self.setCursor(Qt.CursorShape.ClosedHandCursor)
        self._move_to(pos)
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._grip is None:
            return super().mouseMoveEvent(event)
        self._move_to(event.position())
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self._grip is None:
            return super().mouseReleaseEvent(event)
        self._move_to(event.position())
        self._grip = None
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        event.accept()

    def _move_to(self, pos: QPointF) -> None:
        self.canvas.centerOn(self.to_scene(pos) - (self._grip or QPointF()))
        self.view_changed()
