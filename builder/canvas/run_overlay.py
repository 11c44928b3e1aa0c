"""Run state drawn on the canvas: one decoration per node, updated in place from event batches.

`RunOverlay.reset(workflow)` gives every node a `RunDecoration` (a child item of its node item,
so it moves with it and leaves node_item.py alone) showing `pending`; `apply(batch)` folds a
batch of engine events into per-node `NodeView`s and repaints only the decorations that changed.
Running nodes pulse from one 30 Hz timer that runs only while something runs. A decoration shows:
a state ring and header tint, a thin progress bar and message under the node, the duration, a
retry counter, a loop iteration counter, a merge node's rule (all/first), a red badge on a
failed node (tooltip = error, click = `error_clicked`), a faded body on a skipped node (tooltip
= reason) and Approve/Reject buttons while a node waits for a person (`approve_clicked`).
Wires get a tooltip previewing the last value that crossed them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from builder.canvas.look import HEADER_H, RADIUS
from builder.theme import Theme
from engine import events as ev

WAITING, RETRYING = "waiting", "retrying"
PULSE_MS = 33
BUILD_CHUNK = 100  # decorations made per loop turn after reset
BAR_H = 3.0
BUTTON_W, BUTTON_H = 64.0, 20.0
FAR_LOD = 0.3  # below this zoom decorations drop text and antialiasing (as node items do)


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


class _Button(QGraphicsItem):
    """A small clickable pill under a waiting node (Approve / Reject) or the failure badge."""

    def __init__(self, parent: QGraphicsItem, rect: QRectF, text: str, color: QColor,
                 on_click: Callable[[], None], round_badge: bool = False) -> None:
        super().__init__(parent)
        self.rect, self.text, self.color = rect, text, color
        self.on_click = on_click
        self.round_badge = round_badge
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setZValue(3)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self.rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.color)
        radius = self.rect.height() / 2
        painter.drawRoundedRect(self.rect, radius, radius)
        painter.setPen(QPen(QColor("white")))
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(self.rect, Qt.AlignmentFlag.AlignCenter, self.text)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt override
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt override
        if self.rect.contains(event.pos()):
            self.on_click()
        event.accept()


class RunDecoration(QGraphicsItem):
    """Paints one node's run state over and around its node item (never takes its clicks)."""

    def __init__(self, node_item: QGraphicsItem, overlay: RunOverlay) -> None:
        super().__init__(node_item)
        self.node_id: str = node_item.node_id
        self.overlay = overlay
        self.view = NodeView()
        self.phase = 0.0
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)
        self.setZValue(2)
        self.buttons: dict[str, _Button] = {}
        self.relayout()

    def relayout(self) -> None:
        self.prepareGeometryChange()
        node = self.parentItem()
        self.node_rect = QRectF(node.rect)
        r = self.node_rect
        self._bounds = r.adjusted(-6, -26, 6, 34)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt override
        return self._bounds

    def shape(self) -> QPainterPath:  # tooltips over the node body only
        path = QPainterPath()
        if self.toolTip():
            path.addRect(self.node_rect)
        return path

    # --- state ----------------------------------------------------------------------------
    def show_view(self, view: NodeView) -> None:
        self.view = view
        tip = {"failed": view.error, "skipped": view.reason, RETRYING: view.error,
               "cancelled": "cancelled"}.get(view.shown, view.message)
        if tip != self.toolTip():
            self.prepareGeometryChange()
            self.setToolTip(tip)
        self._sync_buttons()
        self.update()

    def _sync_buttons(self) -> None:
        want: set[str] = set()
        if self.view.shown == "failed":
            want.add("badge")
        if self.view.shown == WAITING:
            want |= {"approve", "reject"}
        for key in list(self.buttons):
            if key not in want:
                button = self.buttons.pop(key)
                button.setParentItem(None)
                if button.scene() is not None:
                    button.scene().removeItem(button)
        theme = self.overlay.theme
        r = self.node_rect
        for key in want - set(self.buttons):
            if key == "badge":
                rect = QRectF(r.right() - 22, -24, 18, 18)
                button = _Button(self, rect, "!", theme.state_color("failed"),
                                 lambda: self.overlay.error_clicked.emit(
                                     self.node_id, self.view.error), round_badge=True)
                button.setToolTip(self.view.error)
            else:
                x = r.center().x() + (-BUTTON_W - 3 if key == "approve" else 3)
                rect = QRectF(x, r.bottom() + 8, BUTTON_W, BUTTON_H)
                approved = key == "approve"
                color = theme.state_color("succeeded" if approved else "failed")
                button = _Button(self, rect, "Approve" if approved else "Reject", color,
                                 lambda a=approved: self.overlay.approve_clicked.emit(
                                     self.node_id, a))
                button.setToolTip(f"{key.capitalize()} the value waiting at this node…")
            self.buttons[key] = button
        if "badge" in self.buttons:
            self.buttons["badge"].setToolTip(self.view.error)

    # --- painting -------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        v, theme, r = self.view, self.overlay.theme, self.node_rect
        state = v.shown
        color = self.overlay.state_color(state)
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < FAR_LOD:  # zoomed far out (a whole big run in view): a square ring, no text
            self._paint_far(painter, state, color, r)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if state == "skipped":  # faded: the body shows through a veil of the background
            veil = QColor(theme.background)
            veil.setAlpha(150)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(veil)
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
            pulse = 0.5 + 0.5 * math.sin(self.phase)
            ring.setAlphaF(0.45 + 0.55 * pulse)
            width = 2.0 + 2.0 * pulse
        elif state == "pending":
            ring.setAlpha(110)
            width = 1.5
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(ring, width))
        painter.drawRoundedRect(r.adjusted(-3, -3, 3, 3), RADIUS + 2, RADIUS + 2)
        self._paint_labels(painter, v, state, color, r)

    def _paint_far(self, painter: QPainter, state: str, color: QColor, r: QRectF) -> None:
        # As cheap as the node items' own far look (builder/canvas/node_item.py: lod < 0.3):
        # no antialiasing, no paths, no text; a 1 000-node repaint stays a few ms.
        if state == "skipped":
            painter.fillRect(r, self.overlay.veil)
        elif state != "pending":
            painter.fillRect(QRectF(r.left(), r.top(), r.width(), HEADER_H), color)
        width = 4.0 if state == "running" and math.sin(self.phase) > 0 else 3.0
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(color, 1.5 if state == "pending" else width))
        painter.drawRect(r.adjusted(-3, -3, 3, 3))

    def _paint_labels(self, painter: QPainter, v: NodeView, state: str, color: QColor,
                      r: QRectF) -> None:
        look = self.overlay.look
        font = look.badge_font if look is not None else painter.font()
        painter.setFont(font)
        metrics = QFontMetricsF(font)
        above = QRectF(r.left(), r.top() - 20, r.width(), 16)
        left = " · ".join(t for t in (f"merge: {v.rule}" if v.rule else "",
                                      f"⟳ {v.iterations}" if v.iterations else "",
                                      f"retry {v.attempt}" if state == RETRYING else "",
                                      "cached" if v.cached else "") if t)
        right = _duration(v)
        if state in ("failed", "cancelled", WAITING, "skipped"):
            right = {WAITING: "waiting for approval"}.get(state, state)
        painter.setPen(QPen(color.lighter(130) if self.overlay.theme.dark else color.darker(130)))
        if left:
            painter.drawText(above, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                             left)
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
            text = metrics.elidedText(v.message, Qt.TextElideMode.ElideRight, r.width() + 40)
            y = r.bottom() + (30 if state == WAITING else 8)
            painter.setPen(QPen(self.overlay.theme.text_dim))
            painter.drawText(QRectF(r.left() - 20, y, r.width() + 40, 16),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, text)


def _duration(v: NodeView) -> str:
    if v.duration_s is None:
        return ""
    d = v.duration_s
    return f"{d * 1000:.0f} ms" if d < 1 else f"{d:.1f} s" if d < 60 else f"{d / 60:.1f} min"


class RunOverlay(QObject):
    """The canvas's run state. Feed it batches; it repaints in place."""

    error_clicked = Signal(str, str)  # node id, full error text
    approve_clicked = Signal(str, bool)  # node id, approve?

    def __init__(self, canvas: Any, theme: Theme | None = None) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.theme = theme or canvas.theme
        self.look = getattr(canvas, "look", None)
        self.views: dict[str, NodeView] = {}
        self.decorations: dict[str, RunDecoration] = {}
        self.values: dict[tuple[str, str], Any] = {}  # (node, output port) -> last value
        self._running: set[str] = set()
        self._workflow: Any = None
        self._out_edges: dict[tuple[str, str], list[Any]] = {}
        self._pulse = QTimer(self)
        self._pulse.setInterval(PULSE_MS)
        self._pulse.timeout.connect(self._animate)
        self._to_build: list[str] = []
        self._builder = QTimer(self)
        self._builder.setSingleShot(True)
        self._builder.setInterval(0)
        self._builder.timeout.connect(self._build_some)
        self._colors: dict[str, QColor] = {}
        self.veil = QColor()
        self._cache_colors()
        self._handlers = {
            ev.NodeStarted: self._started, ev.NodeProgressed: self._progressed,
            ev.NodeRetrying: self._retrying, ev.NodeFinished: self._finished,
            ev.NodeFailed: self._failed, ev.NodeSkipped: self._skipped,
            ev.NodeCancelled: self._cancelled, ev.LoopIterated: self._iterated,
        }

    # --- lifecycle ------------------------------------------------------------------------
    def reset(self, workflow: Any) -> None:
        """A run (or replay) of `workflow` begins: every node pending, wire previews cleared."""
        self.clear()
        self._workflow = workflow
        self._out_edges = {}
        for edge in workflow.edges:
            self._out_edges.setdefault((edge.source, edge.source_port), []).append(edge)
        for nid, node in workflow.nodes.items():
            view = NodeView()
            if node.type == "flow.merge":
                view.rule = str(node.params.get("mode", "all"))
            self.views[nid] = view
        # Decorations of 1 000 nodes take ~200 ms to make: a chunk per loop turn, so the run
        # (and the UI) never waits for them; a node with news gets its own at once.
        self._to_build = list(self.views)
        self._build_some()

    def _build_some(self) -> None:
        chunk, self._to_build = self._to_build[:BUILD_CHUNK], self._to_build[BUILD_CHUNK:]
        for nid in chunk:
            if nid in self.views and nid not in self.decorations:
                self._show(nid)
        if self._to_build:
            self._builder.start()

    def clear(self) -> None:
        """Remove every decoration (e.g. the document changed)."""
        self._pulse.stop()
        self._builder.stop()
        self._to_build = []
        self._running.clear()
        for deco in self.decorations.values():
            if shiboken6.isValid(deco) and deco.scene() is not None:
                deco.scene().removeItem(deco)
        self.decorations.clear()
        self.views.clear()
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
        """The colour a decoration draws `state` in (made once per theme, not per paint)."""
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
        for nid in self.views:
            self._show(nid)

    def state(self, node_id: str) -> str:
        view = self.views.get(node_id)
        return view.shown if view else ""

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

    # --- items ----------------------------------------------------------------------------
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

    def decoration(self, node_id: str) -> RunDecoration | None:
        """The node's decoration, (re)made if its node item was rebuilt."""
        item = self.canvas.node_item(node_id)
        if item is None:
            return None
        deco = self.decorations.get(node_id)
        if deco is None or not shiboken6.isValid(deco) or deco.parentItem() is not item:
            deco = RunDecoration(item, self)
            self.decorations[node_id] = deco
        elif deco.node_rect != item.rect:
            deco.relayout()
        return deco

    def _show(self, node_id: str) -> None:
        deco = self.decoration(node_id)
        if deco is not None:
            deco.show_view(self.views[node_id])

    def _animate(self) -> None:
        step = 2 * math.pi * PULSE_MS / 1200.0
        for nid in self._running:
            deco = self.decorations.get(nid)
            if deco is not None and shiboken6.isValid(deco):
                deco.phase += step
                deco.update()
