"""The one scene item that shows a run on the canvas: node geometry, hit areas and buttons.

`RunLayer` sits over the whole graph (above the nodes) and paints every node's decoration
(builder/runview/paint.py) from the run's `engine.runfold.RunFold`; `rects` holds each node's
body rect in the scene and `areas` what its decoration covers, kept current by the overlay.
`paint` only paints (the nodes whose area meets the exposed rect); one item instead of a child
item per node, because 1 000 child items made the scene re-index for tens of ms at each run
start. Its shape is the failed nodes' badges only, so every other click goes to the nodes.
Approve/Reject/… are small `Button` children, only on waiting nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from builder.runview.paint import AREA, FAR_LOD, badge_rect, pill

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.runview.overlay import RunOverlay

LAYER_Z = 4.0  # above nodes, selected ones included (3), below a wire being drawn (5)
CELL = 512.0  # the side of a cell of the areas' index (scene units)


def _span(rect: QRectF) -> tuple[int, int, int, int]:
    return (math.floor(rect.left() / CELL), math.floor(rect.right() / CELL),
            math.floor(rect.top() / CELL), math.floor(rect.bottom() / CELL))


def _cells_of(rect: QRectF) -> Iterator[tuple[int, int]]:
    x0, x1, y0, y1 = _span(rect)
    for cx in range(x0, x1 + 1):
        for cy in range(y0, y1 + 1):
            yield cx, cy


class Button(QGraphicsItem):
    """A small clickable pill under a waiting node (Approve / Reject); a child of the layer."""

    def __init__(self, parent: QGraphicsItem, rect: QRectF, text: str, color: QColor,
                 on_click: Callable[[], None]) -> None:
        super().__init__(parent)
        self.rect, self.text, self.color = rect, text, color
        self.on_click = on_click
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self.rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pill(painter, self.rect, self.color, self.text)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.rect.contains(event.pos()):
            self.on_click()
        event.accept()


class RunLayer(QGraphicsItem):
    """One item over the graph painting every node's run state (scene coordinates)."""

    def __init__(self, overlay: RunOverlay) -> None:
        super().__init__()
        self.overlay = overlay
        self.rects: dict[str, QRectF] = {}
        self.areas: dict[str, QRectF] = {}
        self.buttons: dict[str, dict[str, Button]] = {}
        self._bounds = QRectF()
        self._shape: QPainterPath | None = None
        # the areas by index cell, made when a paint first needs it: a paint looks at the
        # nodes near the exposed rect, not at all 1 000 (~1.2 ms a paint on a slow machine)
        self._cells: dict[tuple[int, int], list[str]] | None = None
        self._order: dict[str, int] = {}
        self._pressed = ""
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.setZValue(LAYER_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setAcceptHoverEvents(False)
        self.setCursor(Qt.CursorShape.PointingHandCursor)  # over the shape: the badges

    # --- geometry ---------------------------------------------------------------------------
    def set_rect(self, node_id: str, rect: QRectF | None) -> None:
        """Place (or drop, with None) one node; repaints its old and new area."""
        old = self.areas.get(node_id)
        if old is not None:
            self.dirty(old)
        if rect is None:
            self.rects.pop(node_id, None)
            self.areas.pop(node_id, None)
        else:
            area = rect.adjusted(*AREA)
            self.rects[node_id], self.areas[node_id] = rect, area
            if not self._bounds.contains(area):
                self.prepareGeometryChange()
                self._bounds = self._bounds.united(area) if not self._bounds.isNull() \
                    else QRectF(area)
            self.dirty(area)
        self._cells = None
        self.forget_shape()

    def set_rects(self, rects: dict[str, QRectF]) -> None:
        self.prepareGeometryChange()
        self.rects = rects
        self.areas = {nid: r.adjusted(*AREA) for nid, r in rects.items()}
        bounds = QRectF()
        for area in self.areas.values():
            bounds = bounds.united(area)
        self._bounds = bounds
        self._cells = None
        self.forget_shape()
        self.update()

    def dirty(self, rect: QRectF) -> None:
        """Repaint `rect` (scene coordinates) and only it.

        Through the scene, not `self.update(rect)`: an item unites its pending rects into one,
        so two changed nodes far apart would repaint everything between them.
        """
        scene = self.scene()
        if scene is not None:
            scene.update(rect)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self._bounds

    def forget_shape(self) -> None:
        """The badges changed: the hit shape is made again when next asked for."""
        self._shape = None

    def shape(self) -> QPainterPath:  # the badges only: every other click goes to the nodes
        if self._shape is None:
            path = QPainterPath()
            for nid in self.overlay.failed:
                r = self.rects.get(nid)
                if r is not None:
                    path.addEllipse(badge_rect(r))
            self._shape = path
        return self._shape

    def badge_at(self, pos: QPointF) -> str:
        for nid in self.overlay.failed:
            r = self.rects.get(nid)
            if r is not None and badge_rect(r).contains(pos):
                return nid
        return ""

    def node_at(self, pos: QPointF) -> str:
        return next((nid for nid, r in self.rects.items() if r.contains(pos)), "")

    # --- clicks on a badge ------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._pressed = self.badge_at(event.pos())
        if self._pressed:
            event.accept()
        else:
            event.ignore()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        nid, self._pressed = self._pressed, ""
        if nid and self.badge_at(event.pos()) == nid:
            view = self.overlay.views.get(nid)
            self.overlay.error_clicked.emit(nid, view.error if view else "")
        event.accept()

    # --- painting (only painting) -------------------------------------------------------------
    def exposed(self, rect: QRectF, parts: list[QRectF] | None = None
                ) -> Iterator[tuple[str, QRectF]]:
        """The nodes whose area meets `rect` (and, given, one of `parts`: the rects of the
        region being repainted, which Qt hands an item as one bounding `rect`)."""
        rects, areas = self.rects, self.areas
        for nid in self._near(rect):
            area = areas[nid]
            if area.intersects(rect) and (not parts or any(area.intersects(p) for p in parts)):
                yield nid, rects[nid]

    def _near(self, rect: QRectF) -> list[str]:
        """The nodes whose area may meet `rect`, in the areas' order (the painting order)."""
        cells = self._cells
        if cells is None:
            cells, self._order = {}, {}
            for i, (nid, area) in enumerate(self.areas.items()):
                self._order[nid] = i
                for cell in _cells_of(area):
                    cells.setdefault(cell, []).append(nid)
            self._cells = cells
        x0, x1, y0, y1 = _span(rect)
        if (x1 - x0 + 1) * (y1 - y0 + 1) > len(cells):  # (more cells than the index holds)
            return list(self.areas)
        found = {nid for cell in _cells_of(rect) for nid in cells.get(cell, ())}
        return sorted(found, key=self._order.__getitem__)

    @staticmethod
    def _parts(painter: QPainter) -> list[QRectF]:
        # Two nodes far apart repainted in one frame come as one exposed rect spanning both:
        # the painter's clip says which parts are really repainted (a slack of 2 units for the
        # clip's whole-pixel rounding), so the nodes in between are not drawn for nothing.
        if not painter.hasClipping():
            return []
        region = painter.clipRegion()
        if region.rectCount() < 2:
            return []
        return [QRectF(r).adjusted(-2, -2, 2, 2) for r in region]

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        overlay = self.overlay
        views = overlay.views
        if not views:  # (made ahead of the first run: nothing to show yet)
            return
        looks = overlay.decorations
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < FAR_LOD:  # zoomed far out (a whole big run in view): square rings, no text
            pulse_on = math.sin(overlay.phase) > 0
            for nid, r in self.exposed(option.exposedRect, self._parts(painter)):
                view = views.get(nid)
                if view is not None:
                    looks.paint_far(painter, view.shown, r, pulse_on)
            return
        phase = overlay.phase
        parts = self._parts(painter)
        to_device = painter.worldTransform()
        painter.save()
        painter.resetTransform()  # decorations are pixmaps made at the view's scale: blits
        try:
            for nid, r in self.exposed(option.exposedRect, parts):
                view = views.get(nid)
                if view is not None:
                    looks.paint_near(painter, view, r, phase, lod, to_device)
        finally:
            painter.restore()
