"""Run state drawn on the canvas: one scene item paints every node's state, updated in place.

`RunOverlay.reset(workflow)` marks every node `pending` and hands the node rects to one
`RunLayer` (a single item over the whole graph, above the nodes); `apply(batch)` folds a batch
of engine events into per-node `NodeView`s and asks the layer to repaint just the rects of the
nodes that changed (the layer's `paint` draws only the nodes inside the exposed rect). One item
instead of a child item per node: 1 000 child items made the scene re-index and re-layout for
tens of ms at each run start. Running nodes pulse from one 30 Hz timer that runs only while
something runs. A node shows: a state ring and header tint, a thin progress bar and message
under it, the duration, a retry counter, a loop iteration counter, a merge node's rule
(all/first), a red badge on a failed node (click = `error_clicked`), a faded body on a skipped
node and Approve/Reject buttons (small child items, only on waiting nodes) while a node waits
for a person (`approve_clicked`). Tooltips over a node (message, error, skip reason) and its
badge come from a help-event filter on the scene, so the layer never takes the nodes' hover or
clicks: its shape is the badges only. Wires get a tooltip previewing the last value that
crossed them.

Size: ~680 lines, past the house limit, because the layer's painting and its event mapping
share the cached node rects; splitting the painting into its own module is the next clean-up.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsSceneHelpEvent,
    QStyleOptionGraphicsItem,
    QToolTip,
    QWidget,
)

from builder.canvas.look import HEADER_H, RADIUS
from builder.theme import Theme
from engine import events as ev

WAITING, RETRYING = "waiting", "retrying"
PULSE_MS = 33
BAR_H = 3.0
BUTTON_W, BUTTON_H = 64.0, 20.0
COMMENT_W = 24.0  # the "…" pill beside Approve/Reject: decide with a comment
FAR_LOD = 0.3  # below this zoom the layer drops text and antialiasing (as node items do)
LAYER_Z = 4.0  # above nodes, selected ones included (3), below a wire being drawn (5)
# what a node's decoration covers around its rect: everything the layer paints for a node
# (ring, labels above, buttons' caption below) stays inside, so a repaint leaves no pixels
AREA = (-6.0, -26.0, 6.0, 50.0)
CAPTION_Y = 30.0  # a waiting node's caption, under its Approve/Reject buttons
RING = (-6.0, -6.0, 6.0, 6.0)  # what the pulse repaints
BADGE = 18.0


@dataclass
class NodeView:
    """What the overlay shows for one node (the latest word of the events about it)."""

    state: str = "pending"
    progress: float | None = None
    message: str = ""
    duration_s: float | None = None
    started_t: float | None = None
    attempt: int = 0
    error: str = ""
    reason: str = ""
    iterations: str = ""  # "3/10" for a loop node
    rule: str = ""  # "all" / "first" for a merge node
    running: int = 0  # executions in flight (several inside a parallel loop)
    cached: bool = False
    waiting: bool = False  # a question to a person is open

    @property
    def shown(self) -> str:
        """The state drawn: `waiting` while a question is open, else `state`."""
        return WAITING if self.waiting and self.state not in ("cancelled", "failed") \
            else self.state

    @property
    def tip(self) -> str:
        """The tooltip over the node: the error, the skip reason or the latest message."""
        return {"failed": self.error, "skipped": self.reason, RETRYING: self.error,
                "cancelled": "cancelled"}.get(self.shown, self.message)


class _Button(QGraphicsItem):
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
        _pill(painter, self.rect, self.color, self.text)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.rect.contains(event.pos()):
            self.on_click()
        event.accept()


def _pill(painter: QPainter, rect: QRectF, color: QColor, text: str) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    radius = rect.height() / 2
    painter.drawRoundedRect(rect, radius, radius)
    painter.setPen(QPen(QColor("white")))
    font = QFont(painter.font())
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def _badge_rect(r: QRectF) -> QRectF:
    return QRectF(r.right() - 22, r.top() - 24, BADGE, BADGE)


class RunLayer(QGraphicsItem):
    """One item over the graph painting every node's run state (scene coordinates).

    `rects` holds each node's body rect in the scene, `areas` what its decoration covers; the
    overlay keeps them current. `paint` draws the nodes whose area meets `exposedRect`.
    """

    def __init__(self, overlay: RunOverlay) -> None:
        super().__init__()
        self.overlay = overlay
        self.rects: dict[str, QRectF] = {}
        self.areas: dict[str, QRectF] = {}
        self.buttons: dict[str, dict[str, _Button]] = {}
        self._bounds = QRectF()
        self._shape: QPainterPath | None = None
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
        self._shape = None

    def set_rects(self, rects: dict[str, QRectF]) -> None:
        self.prepareGeometryChange()
        self.rects = rects
        self.areas = {nid: r.adjusted(*AREA) for nid, r in rects.items()}
        bounds = QRectF()
        for area in self.areas.values():
            bounds = bounds.united(area)
        self._bounds = bounds
        self._shape = None
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

    def shape(self) -> QPainterPath:  # the badges only: every other click goes to the nodes
        if self._shape is None:
            path = QPainterPath()
            for nid in self.overlay.failed:
                r = self.rects.get(nid)
                if r is not None:
                    path.addEllipse(_badge_rect(r))
            self._shape = path
        return self._shape

    def badge_at(self, pos: QPointF) -> str:
        for nid in self.overlay.failed:
            r = self.rects.get(nid)
            if r is not None and _badge_rect(r).contains(pos):
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

    # --- painting ---------------------------------------------------------------------------
    def exposed(self, rect: QRectF) -> Iterator[tuple[str, QRectF]]:
        rects = self.rects
        for nid, area in self.areas.items():
            if area.intersects(rect):
                yield nid, rects[nid]

    def _follow_drag(self) -> None:
        # A dragged node is moved item by item (the model hears of it on release): its area is
        # repainted, so the layer checks the selected items here and follows on the next turn.
        scene = self.scene()
        moved = [item.node_id for item in scene.selectedItems()
                 if (r := self.rects.get(getattr(item, "node_id", ""))) is not None
                 and r.topLeft() != item.mapToScene(item.rect.topLeft())] if scene else []
        if moved:
            self.overlay.note_moved(moved)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        overlay = self.overlay
        views = overlay.views
        self._follow_drag()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < FAR_LOD:  # zoomed far out (a whole big run in view): square rings, no text
            pulse_on = math.sin(overlay.phase) > 0
            for nid, r in self.exposed(option.exposedRect):
                view = views.get(nid)
                if view is not None:
                    _paint_far(painter, overlay, view.shown, r, pulse_on)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for nid, r in self.exposed(option.exposedRect):
            view = views.get(nid)
            if view is not None:
                _paint_near(painter, overlay, view, r)


def _paint_far(painter: QPainter, overlay: RunOverlay, state: str, r: QRectF,
               pulse_on: bool) -> None:
    # As cheap as the node items' own far look (builder/canvas/node_item.py: lod < 0.3):
    # no antialiasing, no paths, no text; a 1 000-node repaint stays a few ms.
    color = overlay.state_color(state)
    if state == "skipped":
        painter.fillRect(r, overlay.veil)
    elif state != "pending":
        painter.fillRect(QRectF(r.left(), r.top(), r.width(), HEADER_H), color)
    width = 4.0 if state == "running" and pulse_on else 3.0
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(color, 1.5 if state == "pending" else width))
    painter.drawRect(r.adjusted(-3, -3, 3, 3))


def _paint_near(painter: QPainter, overlay: RunOverlay, v: NodeView, r: QRectF) -> None:
    state = v.shown
    color = overlay.state_color(state)
    if state == "skipped":  # faded: the body shows through a veil of the background
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(overlay.veil)
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
        pulse = 0.5 + 0.5 * math.sin(overlay.phase)
        ring.setAlphaF(0.45 + 0.55 * pulse)
        width = 2.0 + 2.0 * pulse
    elif state == "pending":
        ring.setAlpha(110)
        width = 1.5
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(ring, width))
    painter.drawRoundedRect(r.adjusted(-3, -3, 3, 3), RADIUS + 2, RADIUS + 2)
    _paint_labels(painter, overlay, v, state, color, r)
    if state == "failed":
        _pill(painter, _badge_rect(r), color, "!")


def _paint_labels(painter: QPainter, overlay: RunOverlay, v: NodeView, state: str,
                  color: QColor, r: QRectF) -> None:
    font = overlay.look.badge_font if overlay.look is not None else painter.font()
    painter.setFont(font)
    above = QRectF(r.left(), r.top() - 20, r.width(), 16)
    left = " · ".join(t for t in (f"merge: {v.rule}" if v.rule else "",
                                  f"⟳ {v.iterations}" if v.iterations else "",
                                  f"retry {v.attempt}" if state == RETRYING else "",
                                  "cached" if v.cached else "") if t)
    right = _duration(v)
    if state in ("failed", "cancelled", WAITING, "skipped"):
        right = {WAITING: "waiting for approval"}.get(state, state)
    painter.setPen(QPen(color.lighter(130) if overlay.theme.dark else color.darker(130)))
    if left:
        painter.drawText(above, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, left)
    if right and state != "failed":
        painter.drawText(above, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         right)
    if v.progress is not None and state in ("running", WAITING, RETRYING):
        track = QRectF(r.left() + 4, r.bottom() + 3, r.width() - 8, BAR_H)
        painter.setPen(Qt.PenStyle.NoPen)
        back = QColor(color)
        back.setAlpha(60)
        painter.setBrush(back)
        painter.drawRect(track)
        painter.setBrush(QBrush(color))
        painter.drawRect(QRectF(track.left(), track.top(), track.width() * v.progress, BAR_H))
    if v.message and state in ("running", WAITING, RETRYING):
        # inside the node's AREA (wider text was clipped at the area's edge — "aiting for a
        # person to dec…" — and left pixels behind); the tooltip gives the whole message
        box = QRectF(r.left() + AREA[0], r.bottom() + (CAPTION_Y if state == WAITING else 8),
                     r.width() + AREA[2] - AREA[0], 16)
        text = QFontMetricsF(font).elidedText(v.message, Qt.TextElideMode.ElideRight,
                                              box.width() - 2)
        painter.setPen(QPen(overlay.theme.text_dim))
        painter.drawText(box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, text)


def _duration(v: NodeView) -> str:
    if v.duration_s is None:
        return ""
    d = v.duration_s
    return f"{d * 1000:.0f} ms" if d < 1 else f"{d:.1f} s" if d < 60 else f"{d / 60:.1f} min"


class RunOverlay(QObject):
    """The canvas's run state. Feed it batches; it repaints in place."""

    error_clicked = Signal(str, str)  # node id, full error text
    approve_clicked = Signal(str, bool)  # node id, approve?
    comment_clicked = Signal(str, object)  # node id, the scene point to open a comment at

    def __init__(self, canvas: Any, theme: Theme | None = None) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.theme = theme or canvas.theme
        self.look = getattr(canvas, "look", None)
        self.views: dict[str, NodeView] = {}
        self.values: dict[tuple[str, str], Any] = {}  # (node, output port) -> last value
        self.failed: set[str] = set()  # nodes showing a badge
        self.layer: RunLayer | None = None
        self.phase = 0.0  # of the running nodes' pulse
        self._running: set[str] = set()
        self._out_edges: dict[tuple[str, str], list[Any]] = {}
        self._unsubscribe: list[Callable[[], None]] = []
        self._pulse = QTimer(self)
        self._pulse.setInterval(PULSE_MS)
        self._pulse.timeout.connect(self._animate)
        self._moved: set[str] = set()  # nodes whose rect to look up again
        self._relayout = QTimer(self)
        self._relayout.setSingleShot(True)
        self._relayout.setInterval(0)
        self._relayout.timeout.connect(self._refresh_moved)
        self._colors: dict[str, QColor] = {}
        self.veil = QColor()
        self._cache_colors()
        self._handlers = {
            ev.NodeStarted: self._started, ev.NodeProgressed: self._progressed,
            ev.NodeRetrying: self._retrying, ev.NodeFinished: self._finished,
            ev.NodeFailed: self._failed, ev.NodeSkipped: self._skipped,
            ev.NodeCancelled: self._cancelled, ev.LoopIterated: self._iterated,
        }
        canvas.graph_scene.installEventFilter(self)  # tooltips over nodes and badges

    # --- lifecycle ------------------------------------------------------------------------
    def reset(self, workflow: Any) -> None:
        """A run (or replay) of `workflow` begins: every node pending, wire previews cleared."""
        self.clear()
        self._out_edges = {}
        for edge in workflow.edges:
            self._out_edges.setdefault((edge.source, edge.source_port), []).append(edge)
        for nid, node in workflow.nodes.items():
            view = NodeView()
            if node.type == "flow.merge":
                view.rule = str(node.params.get("mode", "all"))
            self.views[nid] = view
        self._unsubscribe = [workflow.node_changed.subscribe(self._on_node_changed),
                             workflow.node_removed.subscribe(self._on_node_changed)]
        self._ensure_layer()

    def clear(self) -> None:
        """Remove the run state from the canvas (e.g. the document changed)."""
        self._pulse.stop()
        self._relayout.stop()
        self._moved.clear()
        self._running.clear()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        layer, self.layer = self.layer, None
        if layer is not None and shiboken6.isValid(layer) and layer.scene() is not None:
            layer.scene().removeItem(layer)
        self.views.clear()
        self.failed.clear()
        if self.values:
            for wire in self.canvas.graph_scene.wires.values():
                if wire.edge is not None and (wire.edge.source, wire.edge.source_port) \
                        in self.values:
                    wire.setToolTip(str(wire.edge))
        self.values.clear()

    def _cache_colors(self) -> None:
        self._colors = {}
        self.veil = QColor(self.theme.background)
        self.veil.setAlpha(150)

    def state_color(self, state: str) -> QColor:
        """The colour the layer draws `state` in (made once per theme, not per paint)."""
        color = self._colors.get(state)
        if color is None:
            color = QColor(self.theme.state_color(
                "waiting" if state in (WAITING, RETRYING) else state))
            self._colors[state] = color
        return color

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.look = getattr(self.canvas, "look", None)
        self._cache_colors()
        if self.views:  # the scene rebuilt its items: new rects, new buttons
            layer = self._ensure_layer()
            layer.set_rects(self._scene_rects())
            for nid in self.views:
                self._sync_buttons(layer, nid, force=True)

    # --- what a test or the window asks -------------------------------------------------------
    def state(self, node_id: str) -> str:
        view = self.views.get(node_id)
        return view.shown if view else ""

    def tooltip(self, node_id: str) -> str:
        """The tooltip shown over the node (its error, skip reason or latest message)."""
        view = self.views.get(node_id)
        return view.tip if view else ""

    def tooltip_at(self, scene_pos: QPointF) -> str:
        """The tooltip at a scene point: a badge's full error, else the node's tooltip."""
        if self.layer is None:
            return ""
        nid = self.layer.badge_at(scene_pos)
        if nid:
            return self.views[nid].error
        return self.tooltip(self.layer.node_at(scene_pos))

    def badge_rect(self, node_id: str) -> QRectF | None:
        """Where a failed node's badge is, in the scene (None when it has none)."""
        rect = self.layer.rects.get(node_id) if self.layer is not None else None
        return _badge_rect(rect) if rect is not None and node_id in self.failed else None

    def buttons(self, node_id: str) -> dict[str, _Button]:
        """The Approve/Reject buttons shown under a waiting node (empty otherwise)."""
        return dict(self.layer.buttons.get(node_id, {})) if self.layer is not None else {}

    def set_waiting(self, node_id: str, waiting: bool) -> None:
        """A node's question to a person is open (True) or answered/withdrawn (False)."""
        view = self.views.get(node_id)
        if view is None:
            return
        view.waiting = waiting
        if waiting:
            self._running.discard(node_id)
        elif view.state == "running":
            self._running.add(node_id)
        self._show(node_id)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() != QEvent.Type.GraphicsSceneHelp or not self.views \
                or not isinstance(event, QGraphicsSceneHelpEvent):
            return False
        pos = event.scenePos()
        if any(isinstance(item, _Button) for item in self.canvas.graph_scene.items(pos)):
            return False  # Approve/Reject have their own tooltips
        text = self.tooltip_at(pos)
        if not text:
            return False  # the node's own tooltip (problems, description)
        QToolTip.showText(event.screenPos(), text, event.widget())
        event.accept()
        return True

    # --- events ---------------------------------------------------------------------------
    def apply(self, batch: list[Any]) -> None:
        changed: set[str] = set()
        handlers = self._handlers
        for event in batch:
            handler = handlers.get(type(event))
            if handler is None:
                continue
            view = self.views.get(event.node_id)
            if view is None:
                continue
            handler(view, event)
            changed.add(event.node_id)
        for nid in changed:
            if self.views[nid].shown == "running":
                self._running.add(nid)
            else:
                self._running.discard(nid)
            self._show(nid)
        if self._running and not self._pulse.isActive():
            self._pulse.start()
        elif not self._running:
            self._pulse.stop()

    def _started(self, v: NodeView, e: ev.NodeStarted) -> None:
        if e.attempt == 0:
            v.cached = True
            return
        v.state, v.attempt, v.started_t = "running", e.attempt, e.t
        v.running += 1 if e.attempt == 1 else 0
        v.error = ""

    def _progressed(self, v: NodeView, e: ev.NodeProgressed) -> None:
        if e.fraction is not None:
            v.progress = e.fraction
        if e.message:
            v.message = e.message

    def _retrying(self, v: NodeView, e: ev.NodeRetrying) -> None:
        v.state, v.attempt, v.error = RETRYING, e.attempt + 1, e.error

    def _finished(self, v: NodeView, e: ev.NodeFinished) -> None:
        v.running = max(0, v.running - 1)
        v.waiting = False
        v.duration_s = (v.duration_s or 0.0) + e.duration_s if e.iteration else e.duration_s
        v.cached = v.cached or e.cached
        if v.state != "failed":
            v.state = "running" if v.running else "succeeded"
        if v.state == "succeeded":
            v.progress, v.message = None, ""
        for port, value in e.outputs.items():
            self.values[(e.node_id, port)] = value
            self._preview_wires(e.node_id, port, value)

    def _failed(self, v: NodeView, e: ev.NodeFailed) -> None:
        v.running = max(0, v.running - 1)
        v.state, v.error, v.duration_s = "failed", e.error, e.duration_s

    def _skipped(self, v: NodeView, e: ev.NodeSkipped) -> None:
        if v.state in ("pending", "skipped"):
            v.state, v.reason = "skipped", e.reason

    def _cancelled(self, v: NodeView, e: ev.NodeCancelled) -> None:
        v.state, v.running, v.message, v.waiting = "cancelled", 0, "", False

    def _iterated(self, v: NodeView, e: ev.LoopIterated) -> None:
        v.iterations = f"{e.index + 1}/{e.total}" if e.total is not None else f"{e.index + 1}"

    # --- the layer ------------------------------------------------------------------------
    def _preview_wires(self, node_id: str, port: str, value: Any) -> None:
        edges = self._out_edges.get((node_id, port))
        if not edges:
            return
        wires = self.canvas.graph_scene.wires
        text = ev.summarise(value)
        for edge in edges:
            wire = wires.get(edge.key())
            if wire is not None:
                wire.setToolTip(f"{edge}\n= {text}")

    def _scene_rects(self) -> dict[str, QRectF]:
        rects: dict[str, QRectF] = {}
        node_item = self.canvas.node_item
        for nid in self.views:
            item = node_item(nid)
            if item is not None:
                rects[nid] = item.mapRectToScene(item.rect)
        return rects

    def _ensure_layer(self) -> RunLayer:
        """The layer, (re)made when missing or when the scene rebuilt its items."""
        layer = self.layer
        scene = self.canvas.graph_scene
        if layer is not None and shiboken6.isValid(layer) and layer.scene() is scene:
            return layer
        layer = self.layer = RunLayer(self)
        layer.set_rects(self._scene_rects())
        scene.addItem(layer)
        for nid in self.views:
            self._sync_buttons(layer, nid)
        return layer

    def _show(self, node_id: str) -> None:
        layer = self._ensure_layer()
        view = self.views[node_id]
        failed = view.shown == "failed"
        if failed != (node_id in self.failed):
            (self.failed.add if failed else self.failed.discard)(node_id)
            layer._shape = None  # noqa: SLF001 - the layer's cached hit shape (the badges)
        area = layer.areas.get(node_id)
        if area is not None:
            layer.dirty(area)
        self._sync_buttons(layer, node_id)

    def _sync_buttons(self, layer: RunLayer, node_id: str, force: bool = False) -> None:
        view = self.views.get(node_id)
        want = view is not None and view.shown == WAITING and node_id in layer.rects
        have = layer.buttons.get(node_id)
        if have and (force or not want):
            for button in layer.buttons.pop(node_id).values():
                if shiboken6.isValid(button) and button.scene() is not None:
                    button.scene().removeItem(button)
            have = None
        if not want or have:
            return
        r = layer.rects[node_id]
        made: dict[str, _Button] = {}
        for key in ("approve", "reject"):
            approved = key == "approve"
            x = r.center().x() + (-BUTTON_W - 3 if approved else 3)
            color = self.theme.state_color("succeeded" if approved else "failed")
            button = _Button(layer, QRectF(x, r.bottom() + 8, BUTTON_W, BUTTON_H),
                             "Approve" if approved else "Reject", color,
                             lambda a=approved: self.approve_clicked.emit(node_id, a))
            button.setToolTip(f"{key.capitalize()} the value waiting at this node")
            made[key] = button
        x = r.center().x() + BUTTON_W + 6
        comment = _Button(layer, QRectF(x, r.bottom() + 8, COMMENT_W, BUTTON_H), "…",
                          self.theme.accent, lambda: self.comment_clicked.emit(
                              node_id, QPointF(x, r.bottom() + 8 + BUTTON_H)))
        comment.setToolTip("Approve or reject with a comment")
        made["comment"] = comment
        layer.buttons[node_id] = made

    # --- nodes that moved or changed size ---------------------------------------------------
    def _on_node_changed(self, node: Any, *_args: Any) -> None:
        if node.id in self.views:
            self._moved.add(node.id)
            self._relayout.start()  # after the scene has placed or rebuilt the item

    def note_moved(self, node_ids: list[str]) -> None:
        """Look these nodes' rects up again on the next loop turn (e.g. dragged items)."""
        self._moved.update(n for n in node_ids if n in self.views)
        if self._moved:
            self._relayout.start()

    def _refresh_moved(self) -> None:
        layer = self.layer
        moved, self._moved = self._moved, set()
        if layer is None or not shiboken6.isValid(layer):
            return
        for nid in moved:
            item = self.canvas.node_item(nid)
            rect = item.mapRectToScene(item.rect) if item is not None else None
            if rect != layer.rects.get(nid):
                layer.set_rect(nid, rect)
                self._sync_buttons(layer, nid, force=True)

    def _animate(self) -> None:
        self.phase += 2 * math.pi * PULSE_MS / 1200.0
        layer = self.layer
        if layer is None or not shiboken6.isValid(layer):
            return
        rects = layer.rects
        for nid in self._running:
            r = rects.get(nid)
            if r is not None:
                layer.dirty(r.adjusted(*RING))
