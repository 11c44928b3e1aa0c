"""The canvas's run state: shows one `engine.runfold.RunFold` through one `RunLayer`.

`RunOverlay.reset(workflow, fold)` marks every node `pending` and hands the node rects to the
layer (builder/runview/layer.py); `show(changed)` is told which nodes' state the fold changed and
repaints just those — coalesced with the running nodes' pulse into one repaint per frame tick
(FRAME_MS), so a burst of batches or a pulse never repaints a node twice a frame. `apply(batch)`
folds a batch into the overlay's fold first (a replay, or the overlay on its own in a test).
The node items below — and the wires, whose antialiased curves were most of a canvas repaint
during a run — are cached as pixmaps (DeviceCoordinateCache) from the time a document is shown
(`clear`, which the run view calls then) — not first at a run's start, where making 100 pixmaps
was the first run's longest stall — and stay cached (switching it off and on again throws
every pixmap away): a decoration repaint then blits them instead of painting each node again
through Python.

A node shows: a state ring and header tint, a progress bar and message under it, the duration,
a retry counter, a loop counter, a merge node's rule, a red badge on a failed node (click =
`error_clicked`), a faded body on a skipped node and Approve/Reject/… buttons while a node waits
for a person (`approve_clicked`, `comment_clicked`). Tooltips over a node and its badge come
from a help-event filter on the scene; wires get a tooltip previewing the last value that
crossed them (set when one is asked for, and once the run has ended: a slice of nodes a loop
turn for a big run). A node dragged during a run is followed from the scene's mouse moves.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneHelpEvent, QToolTip

from builder.runview.layer import Button, RunLayer
from builder.runview.paint import RING, Decorations, badge_rect
from builder.theme import Theme
from engine import events as ev
from engine.runfold import PAUSED, WAITING, NodeState, RunFold

PREVIEW_SLICE = 50  # nodes whose wire previews are set per loop turn after a big run's end
# (200 a turn took ~7 ms of the loop each on a slow machine)
FRAME_MS = 33  # one repaint tick (~30 Hz) for state changes and the pulse together
PULSE_PERIOD_MS = 1200.0
BUTTON_W, BUTTON_H = 64.0, 20.0
COMMENT_W = 24.0  # the "…" pill beside Approve/Reject: decide with a comment
_BUTTONS = {WAITING: ("approve", "reject", "comment"), PAUSED: ("continue", "step", "abort")}
_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache


class RunOverlay(QObject):
    """The canvas's run state. Point it at a fold, tell it what changed; it repaints in place."""

    error_clicked = Signal(str, str)  # node id, full error text
    approve_clicked = Signal(str, bool)  # node id, approve?
    comment_clicked = Signal(str, object)  # node id, the scene point to open a comment at
    pause_clicked = Signal(str, str)  # node id, "continue" | "step" | "abort" (breakpoints)

    def __init__(self, canvas: Any, theme: Theme | None = None) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.theme = theme or canvas.theme
        self.fold = RunFold()
        self.decorations = self._decorations()
        self.failed: set[str] = set()  # nodes showing a badge
        self.layer: RunLayer | None = None
        self.phase = 0.0  # of the running nodes' pulse
        self._running: set[str] = set()
        self._dirty: set[str] = set()  # nodes to repaint on the next frame tick
        self._out_edges: dict[str, list[Any]] = {}
        self._previewed: dict[tuple[str, str], int] = {}  # (node, port) -> id of value shown
        # nodes whose wires' previews are not set yet: set when a tooltip is asked for or the
        # run ends (a tooltip per wire per batch cost a 1 000-node run ~50 ms of the loop)
        self._to_preview: set[str] = set()
        self._stale: set[tuple[str, str]] = set()  # (node, port) previewed by a run before
        self._previews = QTimer(self)  # the run ended: the rest of the previews, a slice a turn
        self._previews.setInterval(0)
        self._previews.timeout.connect(self._preview_slice)
        self._unsubscribe: list[Callable[[], None]] = []
        self._frame = QTimer(self)
        self._frame.setInterval(FRAME_MS)
        self._frame.timeout.connect(self._tick)
        self._repaint_all = False  # the whole layer at the next frame tick (a run's start)
        self.pacer: Any = None  # a runview.pacer.FramePacer shared with the timeline, or None
        self._moved: set[str] = set()  # nodes whose rect to look up again
        self._relayout = QTimer(self)
        self._relayout.setSingleShot(True)
        self._relayout.setInterval(0)
        self._relayout.timeout.connect(self._refresh_moved)
        canvas.graph_scene.installEventFilter(self)  # tooltips, dragged nodes

    def _decorations(self) -> Decorations:
        look = getattr(self.canvas, "look", None)
        return Decorations(self.theme, look.badge_font if look is not None else None)

    @property
    def views(self) -> dict[str, NodeState]:
        """Node id -> its state in the fold shown."""
        return self.fold.nodes

    @property
    def values(self) -> dict[tuple[str, str], Any]:
        return self.fold.values

    # --- lifecycle ------------------------------------------------------------------------
    def reset(self, workflow: Any, fold: RunFold | None = None) -> None:
        """A run (or replay) of `workflow` begins: show `fold` (a new one of the overlay's own
        when None), every node pending, wire previews cleared.

        The layer of the run before is kept when it is still in the scene (a run after a run
        of the same document): taking a scene-wide item out of the scene's index and putting
        it back, then placing 1 000 rects again, cost each run start 30-50 ms."""
        keep = self.layer
        self.clear(keep_layer=True)
        if fold is None:
            fold = RunFold()
            fold.reset(workflow)
        self.fold = fold
        self._out_edges = {}
        for edge in workflow.edges:
            self._out_edges.setdefault(edge.source, []).append(edge)
        self._unsubscribe = [workflow.node_changed.subscribe(self._on_node_changed),
                             workflow.node_removed.subscribe(self._on_node_changed)]
        if keep is not None and shiboken6.isValid(keep) \
                and keep.scene() is self.canvas.graph_scene:
            self.layer = keep
            rects = self._scene_rects()
            if rects != keep.rects:
                keep.set_rects(rects)
            # every node is pending again: repainted at the first frame tick, not in the loop
            # turn right after this one (the run's start is tens of ms of the loop already:
            # the canvas's whole repaint, ~9 ms on a slow machine, was added to it)
            self._repaint_all = True
            self._frame.start()
        else:
            self._drop_layer(keep)
            self._ensure_layer()

    def warm(self, workflow: Any) -> None:
        """Make the run layer now, while the editor is idle (the window warmed up, a document
        was shown), so the first run keeps it like any later one: making it — placing 1 000
        rects, putting a scene-wide item in the scene's index — was 20-30 ms of that run's
        start. It paints nothing until a run is shown (no node has a state)."""
        if self.layer is not None or self.views:
            return
        node_item = self.canvas.node_item
        rects: dict[str, QRectF] = {}
        for nid in workflow.nodes:
            item = node_item(nid)
            if item is not None:
                rects[nid] = item.mapRectToScene(item.rect)
        layer = self.layer = RunLayer(self)
        layer.set_rects(rects)
        self.canvas.graph_scene.addItem(layer)
        self._cache_nodes()  # (the wires a deferred build made since the document was shown)

    def clear(self, keep_layer: bool = False) -> None:
        """Remove the run state from the canvas (e.g. the document changed); `keep_layer`:
        a new run is about to be shown with it (`reset`)."""
        self._frame.stop()
        self._relayout.stop()
        self._previews.stop()
        self._repaint_all = False
        self._moved.clear()
        self._running.clear()
        self._dirty.clear()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        layer, self.layer = self.layer, None
        if keep_layer and layer is not None and shiboken6.isValid(layer):
            for nid in list(layer.buttons):
                for button in layer.buttons.pop(nid).values():
                    if shiboken6.isValid(button) and button.scene() is not None:
                        button.scene().removeItem(button)
            layer.forget_shape()
        else:
            self._drop_layer(layer)
            self._cache_nodes()
        self.failed.clear()
        # the last run's previews: for a new run of the same document, put back only when a
        # tooltip is next asked for or this run's previews are set (flush_previews) — resetting
        # 1 000 wires' tooltips was ~4 ms of the run's first step on a slow machine
        self._stale.update(self._previewed)
        self._previewed.clear()
        self._to_preview.clear()
        if not keep_layer:
            self._reset_stale()
        self.fold = RunFold()

    @staticmethod
    def _drop_layer(layer: RunLayer | None) -> None:
        if layer is not None and shiboken6.isValid(layer) and layer.scene() is not None:
            layer.scene().removeItem(layer)

    def _cache_nodes(self) -> None:
        scene = self.canvas.graph_scene
        for items in (scene.nodes.values(), scene.wires.values()):
            for item in items:
                if item.cacheMode() != _CACHE:
                    item.setCacheMode(_CACHE)

    def state_color(self, state: str) -> Any:
        return self.decorations.state_color(state)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.decorations = self._decorations()
        if self.views:  # the scene rebuilt its items: new rects, new buttons
            layer = self._ensure_layer()
            layer.set_rects(self._scene_rects())
            self._cache_nodes()
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
        return badge_rect(rect) if rect is not None and node_id in self.failed else None

    def buttons(self, node_id: str) -> dict[str, Button]:
        """The Approve/Reject buttons shown under a waiting node (empty otherwise)."""
        return dict(self.layer.buttons.get(node_id, {})) if self.layer is not None else {}

    def set_waiting(self, node_id: str, waiting: bool) -> None:
        """A node's question to a person is open (True) or answered/withdrawn (False)."""
        if self.fold.set_waiting(node_id, waiting):
            self.show({node_id})

    def set_paused(self, node_id: str, paused: bool) -> None:
        """A node stopped at a breakpoint (True: Continue/Step/Abort under it, `pause_clicked`)
        or went on (False). The place breakpoints (builder/runview/breakpoints.py) show it."""
        if self.fold.set_paused(node_id, paused):
            if paused:
                self._running.discard(node_id)
            self.show({node_id})

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind == QEvent.Type.GraphicsSceneMouseMove and self.views \
                and event.buttons() & Qt.MouseButton.LeftButton:
            # a dragged node is moved item by item (the model hears of it on release):
            # look its rect up again after the move has been applied
            self.note_moved([getattr(item, "node_id", "")
                             for item in self.canvas.graph_scene.selectedItems()])
            return False
        if kind != QEvent.Type.GraphicsSceneHelp or not self.views \
                or not isinstance(event, QGraphicsSceneHelpEvent):
            return False
        self.flush_previews()  # (a wire's tooltip is the value that crossed it)
        pos = event.scenePos()
        if any(isinstance(item, Button) for item in self.canvas.graph_scene.items(pos)):
            return False  # Approve/Reject have their own tooltips
        text = self.tooltip_at(pos)
        if not text:
            return False  # the node's own tooltip (problems, description)
        QToolTip.showText(event.screenPos(), text, event.widget())
        event.accept()
        return True

    # --- events ---------------------------------------------------------------------------
    def apply(self, batch: list[Any]) -> None:
        """Fold `batch` into the fold shown, then show what changed (replays and tests; a live
        run's fold is fed by its controller, which calls `show`)."""
        self.show(self.fold.feed(batch))

    def show(self, changed: set[str]) -> None:
        """The fold changed these nodes: their look is repainted on the next frame tick."""
        views = self.views
        layer = self._ensure_layer()
        running, failed_set, to_preview, dirty = \
            self._running, self.failed, self._to_preview, self._dirty
        buttons = layer.buttons
        for nid in changed:
            view = views.get(nid)
            if view is None:
                continue
            shown = view.shown
            if shown == "running":
                running.add(nid)
            else:
                running.discard(nid)
            failed = shown == "failed"
            if failed != (nid in failed_set):
                (failed_set.add if failed else failed_set.discard)(nid)
                layer.forget_shape()
            to_preview.add(nid)
            if shown in _BUTTONS or nid in buttons:  # (else it has none and wants none)
                self._sync_buttons(layer, nid)
            dirty.add(nid)
        if self.fold.finished is not None:  # the run is over: every wire says what crossed it
            self._flush_previews_soon()
        if (self._running or self._dirty) and not self._frame.isActive():
            self._frame.start()

    def _tick(self) -> None:
        """One frame: repaint the nodes that changed and the running nodes' rings."""
        layer = self.layer
        if layer is None or not shiboken6.isValid(layer):
            self._frame.stop()
            return
        if self.pacer is not None and (self._dirty or self._repaint_all) \
                and not self.pacer.claim("canvas"):
            return  # (the timeline just redrew: this frame's repaint at the next tick)
        dirty, self._dirty = self._dirty, set()
        areas, rects = layer.areas, layer.rects
        if self._repaint_all:  # (every node's area with it: no ring repainted on its own)
            self._repaint_all = False
            layer.update()
            dirty = set(rects)
        else:
            for nid in dirty:
                area = areas.get(nid)
                if area is not None:
                    layer.dirty(area)
        if self._running:
            self.phase += 2 * math.pi * FRAME_MS / PULSE_PERIOD_MS
            for nid in self._running - dirty:
                r = rects.get(nid)
                if r is not None:
                    layer.dirty(r.adjusted(*RING))
        else:
            self._frame.stop()

    # --- the layer ------------------------------------------------------------------------
    def flush_previews(self) -> None:
        """Give the wires out of every node changed since the last call their value preview."""
        pending, self._to_preview = self._to_preview, set()
        for nid in pending:
            self._preview_wires(nid)
        self._reset_stale()

    def _reset_stale(self) -> None:
        """The wires still previewing an earlier run's value say only what they join again."""
        stale, self._stale = self._stale, set()
        if not stale:
            return
        previewed = self._previewed
        for wire in self.canvas.graph_scene.wires.values():
            edge = wire.edge
            if edge is not None:
                key = (edge.source, edge.source_port)
                if key in stale and key not in previewed:
                    wire.setToolTip(str(edge))

    def _flush_previews_soon(self) -> None:
        """The run ended: every wire's preview set now, or — past PREVIEW_SLICE nodes, which
        took a 1 000-node run's end ~20 ms in one go — a slice per loop turn (a tooltip asked
        for meanwhile sets them all first, see eventFilter)."""
        if len(self._to_preview) <= PREVIEW_SLICE:
            self.flush_previews()
        elif not self._previews.isActive():
            self._previews.start()

    def _preview_slice(self) -> None:
        pending = self._to_preview
        for _ in range(min(PREVIEW_SLICE, len(pending))):
            self._preview_wires(pending.pop())
        if not pending:
            self._previews.stop()
            self._reset_stale()

    def _preview_wires(self, node_id: str) -> None:
        edges = self._out_edges.get(node_id)
        if not edges:
            return
        values = self.fold.values
        wires = self.canvas.graph_scene.wires
        for edge in edges:
            key = (node_id, edge.source_port)
            if key not in values or self._previewed.get(key) == id(values[key]):
                continue
            wire = wires.get(edge.key())
            if wire is not None:
                wire.setToolTip(f"{edge}\n= {ev.summarise(values[key])}")
        for edge in edges:
            key = (node_id, edge.source_port)
            if key in values:
                self._previewed[key] = id(values[key])

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
        self._cache_nodes()
        for nid in self.views:
            self._sync_buttons(layer, nid)
        return layer

    def _sync_buttons(self, layer: RunLayer, node_id: str, force: bool = False) -> None:
        view = self.views.get(node_id)
        shown = view.shown if view is not None else ""
        want = shown in (WAITING, PAUSED) and node_id in layer.rects
        have = layer.buttons.get(node_id)
        if have and (force or not want or set(have) != set(_BUTTONS[shown])):
            for button in layer.buttons.pop(node_id).values():
                if shiboken6.isValid(button) and button.scene() is not None:
                    button.scene().removeItem(button)
            have = None
        if not want or have:
            return
        r = layer.rects[node_id]
        if shown == PAUSED:
            layer.buttons[node_id] = self._pause_buttons(layer, node_id, r)
            return
        made: dict[str, Button] = {}
        for key in ("approve", "reject"):
            approved = key == "approve"
            x = r.center().x() + (-BUTTON_W - 3 if approved else 3)
            color = self.theme.state_color("succeeded" if approved else "failed")
            button = Button(layer, QRectF(x, r.bottom() + 8, BUTTON_W, BUTTON_H),
                            "Approve" if approved else "Reject", color,
                            lambda a=approved: self.approve_clicked.emit(node_id, a))
            button.setToolTip(f"{key.capitalize()} the value waiting at this node")
            made[key] = button
        x = r.center().x() + BUTTON_W + 6
        comment = Button(layer, QRectF(x, r.bottom() + 8, COMMENT_W, BUTTON_H), "…",
                         self.theme.accent, lambda: self.comment_clicked.emit(
                             node_id, QPointF(x, r.bottom() + 8 + BUTTON_H)))
        comment.setToolTip("Approve or reject with a comment")
        made["comment"] = comment
        layer.buttons[node_id] = made

    def _pause_buttons(self, layer: RunLayer, node_id: str, r: QRectF) -> dict[str, Button]:
        made: dict[str, Button] = {}
        keys = _BUTTONS[PAUSED]
        left = r.center().x() - (len(keys) * (BUTTON_W + 6) - 6) / 2
        for i, key in enumerate(keys):
            color = self.theme.state_color("failed") if key == "abort" else self.theme.accent
            button = Button(layer, QRectF(left + i * (BUTTON_W + 6), r.bottom() + 8, BUTTON_W,
                                          BUTTON_H), key.capitalize(), color,
                            lambda k=key: self.pause_clicked.emit(node_id, k))
            button.setToolTip(f"{key.capitalize()} the run paused at this node")
            made[key] = button
        return made

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
