"""The graph scene: a view of one `Workflow`, following its notifications.

It owns the items (one NodeItem per node, one WireItem per edge, one FrameItem per frame) and keeps
them in step with the model's Topics; it never changes the model itself. A left press goes to the
scene's GestureFactory (builder/canvas/press.py, given by `use_gestures`), which may start a
gesture; while a gesture is active the scene hands it every move and the release. The background
is the dotted grid of builder/canvas/grid.py.

A big workflow opened (`set_workflow(..., defer=True)`, DEFER_WIRES_FROM wires or more) gets every
node item at once but its wires in two steps: the canvas builds those its view shows before it
paints (`build_wires_in`), and the rest right after, a slice per event-loop turn
(`build_wires_slice`), so input is handled between slices; `wires_built` says when all are there.
Until then a model change, a wire selection or a run finishes them first (`finish_wires`), and
problems reported for wires not built yet are kept for them. Once all are built `wires` and each
node's wire list are in the workflow's edge order, as a one-pass build leaves them.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QPainter
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneMouseEvent

from builder.canvas.frame_item import FrameItem
from builder.canvas.grid import draw_grid
from builder.canvas.look import HEADER_H, Look
from builder.canvas.node_item import NodeContent, NodeItem
from builder.canvas.wire_item import WireItem, bezier
from engine.errors import Problem, RegistryError
from engine.loops import is_back_port
from engine.model import Edge, Frame, Node, Workflow
from engine.nodetype import Port
from engine.registry import Registry
from engine.validate import node_ports

if TYPE_CHECKING:
    from builder.canvas.press import GestureFactory

EdgeKey = tuple[str, str, str, str]
Box = tuple[Edge, float, float, float, float]  # a held-back wire and its scene box
SCENE_HALF = 100_000.0
DEFER_WIRES_FROM = 500  # wires out of view are built after the first paint from this many on
WIRE_SLICE = 250  # wires built per event-loop turn after it (a few ms each)
WIRE_MARGIN = 8.0  # around a wire's control box: its pen (thicker when selected)


class Gesture(Protocol):
    def move(self, event: QGraphicsSceneMouseEvent) -> None: ...
    def end(self, event: QGraphicsSceneMouseEvent) -> None: ...
    def cancel(self) -> None: ...


class GraphScene(QGraphicsScene):
    wires_built = Signal()  # the wires held back by a deferred build are all there now

    def __init__(self, workflow: Workflow, registry: Registry, look: Look,
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.registry = registry
        self.look = look
        self.workflow = workflow
        self.nodes: dict[str, NodeItem] = {}
        self.wires: dict[EdgeKey, WireItem] = {}
        self.frames: dict[str, FrameItem] = {}
        self.selected_wires: set[EdgeKey] = set()
        self._node_wires: dict[str, list[EdgeKey]] = {}
        self._node_frames: dict[str, list[str]] = {}
        self._unsubscribe: list[Callable[[], None]] = []
        self._shared: dict[tuple, tuple] | None = None  # content shared during a build
        self._pending: dict[EdgeKey, Edge] = {}  # wires a deferred build has not made yet
        self._boxes: dict[EdgeKey, Box] | None = None  # their boxes, worked out once
        self._edge_problems: dict[EdgeKey, str] = {}  # the last set_problems, for those
        self.gestures: GestureFactory | None = None
        self.gesture: Gesture | None = None
        self.setSceneRect(QRectF(-SCENE_HALF, -SCENE_HALF, 2 * SCENE_HALF, 2 * SCENE_HALF))
        self.setBackgroundBrush(QBrush(look.theme.background))
        self.build()

    # --- following the model ----------------------------------------------------------------
    def build(self, defer: bool = False) -> None:
        """Create every item in one pass over nodes, edges and frames; subscribe to the model.
        `defer`: a big workflow's wires out of view may wait (see the module docstring)."""
        self.detach()
        self.clear()
        # Thousands of small objects are made here; pausing the cyclic collector keeps the build
        # linear (its passes over everything alive would otherwise grow with the scene).
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._build_items(defer)
        finally:
            if collecting:
                gc.enable()
        wf = self.workflow
        self._unsubscribe = [
            wf.node_added.subscribe(self._guard(self._on_node_added)),
            wf.node_removed.subscribe(self._guard(self._on_node_removed)),
            wf.node_changed.subscribe(self._guard(self._on_node_changed)),
            wf.edge_added.subscribe(self._guard(self._on_edge_added)),
            wf.edge_removed.subscribe(self._guard(self._on_edge_removed)),
            wf.frame_added.subscribe(self._guard(self._on_frame_added)),
            wf.frame_removed.subscribe(self._guard(self._on_frame_removed)),
            wf.frame_changed.subscribe(self._guard(self._on_frame_changed)),
        ]

    def _build_items(self, defer: bool = False) -> None:
        self.nodes, self.wires, self.frames = {}, {}, {}
        self._pending, self._edge_problems, self._boxes = {}, {}, None
        self.selected_wires = set()
        self._node_wires, self._node_frames = {}, {}
        self._shared = {}
        try:
            for node in self.workflow.nodes.values():
                self._add_node_item(node)
        finally:
            self._shared = None  # (later changes compute their node's content afresh)
        if defer and len(self.workflow.edges) >= DEFER_WIRES_FROM:
            self._defer_wires(self.workflow.edges)
        else:
            self._add_wires(self.workflow.edges)
        for frame in self.workflow.frames.values():
            self._add_frame_item(frame)

    def _guard(self, handler: Callable[..., None]) -> Callable[..., None]:
        """A model callback that unsubscribes itself once this scene's C++ side is gone (and
        finishes a deferred build first, so the change meets every item)."""
        def call(*args: Any) -> None:
            if shiboken6.isValid(self):
                if self._pending:
                    self.finish_wires()
                handler(*args)
            else:
                self.detach()
        return call

    def detach(self) -> None:
        """Stop following the model (call before dropping the scene or switching workflows)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []

    def set_workflow(self, workflow: Workflow, defer: bool = False) -> None:
        self.detach()
        self.workflow = workflow
        self.build(defer)

    # --- a deferred build's wires -------------------------------------------------------------
    @property
    def wires_pending(self) -> bool:
        return bool(self._pending)

    def _defer_wires(self, edges: list[Edge]) -> None:
        """Hold back the wires of `edges` (a loop's back edges, which route around the nodes,
        are made now)."""
        nodes, pending, now = self.nodes, self._pending, []
        for edge in edges:
            source, target = nodes.get(edge.source), nodes.get(edge.target)
            if source is None or target is None:
                continue  # an edge to a missing node: the problems panel reports it
            if is_back_port(target.content.kind, edge.target_port):
                now.append(edge)
            else:
                pending[(edge.source, edge.source_port, edge.target, edge.target_port)] = edge
        self._add_wires(now)

    def _pending_boxes(self) -> list[Box]:
        """(edge, left, top, right, bottom) of each held-back wire: its bezier's control box
        (which holds the curve) grown by WIRE_MARGIN for the pen. Worked out once per deferred
        build: nothing moves while wires are held back (a model change, a press or a new look
        builds them all first), and each paint and the fit ask for them."""
        if self._boxes is None:
            self._boxes = self._work_out_boxes()
        return list(self._boxes.values())

    def _work_out_boxes(self) -> dict[EdgeKey, Box]:
        half, m, boxes = HEADER_H / 2, WIRE_MARGIN, {}
        # (x, y, right edge, input rows, output rows) of each node, read once; an item sits
        # at its node's position (it follows node_changed)
        nodes = self.workflow.nodes
        where = {}
        for node_id, item in self.nodes.items():
            x, y = nodes[node_id].position
            where[node_id] = (x, y, x + item.width, item.in_rows, item.out_rows)
        for key, edge in self._pending.items():
            src, out, dst, inp = key
            a, b = where[src], where[dst]
            sx, sy = a[2], a[1] + a[4].get(out, half)
            ex, ey = b[0], b[1] + b[3].get(inp, half)
            dx = max(abs(ex - sx) * 0.5, 40.0)  # bezier()'s control points
            boxes[key] = (edge, min(sx, ex - dx) - m, min(sy, ey) - m, max(sx + dx, ex) + m,
                          max(sy, ey) + m)
        return boxes

    def build_wires_in(self, rect: QRectF) -> int:
        """Build the held-back wires that could show in the scene rect `rect`; how many."""
        if not self._pending:
            return 0
        left, top, right, bottom = rect.left(), rect.top(), rect.right(), rect.bottom()
        chosen = [box[0] for box in self._pending_boxes()
                  if box[3] >= left and box[1] <= right and box[4] >= top and box[2] <= bottom]
        self._build_pending(chosen)
        return len(chosen)

    def items_bounds(self) -> QRectF:
        """`itemsBoundingRect()` as it is once every held-back wire is built: those that
        could reach out of the items' rect now are built first (the rest lie inside it)."""
        rect = self.itemsBoundingRect()
        if self._pending:
            left, top, right, bottom = rect.left(), rect.top(), rect.right(), rect.bottom()
            self._build_pending([box[0] for box in self._pending_boxes()
                                 if box[1] < left or box[2] < top or box[3] > right
                                 or box[4] > bottom])
            rect = self.itemsBoundingRect()
        return rect

    def build_wires_slice(self, count: int = WIRE_SLICE) -> bool:
        """Build the next `count` held-back wires; True while more are left."""
        chosen = []
        for edge in self._pending.values():
            chosen.append(edge)
            if len(chosen) >= count:
                break
        self._build_pending(chosen)
        return bool(self._pending)

    def finish_wires(self) -> None:
        """Build every held-back wire now."""
        if self._pending:
            self._build_pending(list(self._pending.values()))

    def _build_pending(self, edges: list[Edge]) -> None:
        if not edges:
            return
        pending, boxes = self._pending, self._boxes
        for edge in edges:
            key = (edge.source, edge.source_port, edge.target, edge.target_port)
            del pending[key]
            if boxes is not None:
                boxes.pop(key, None)
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._add_wires(edges)
        finally:
            if collecting:
                gc.enable()
        problems, wires = self._edge_problems, self.wires
        if problems:
            for edge in edges:
                key = (edge.source, edge.source_port, edge.target, edge.target_port)
                if key in problems and key in wires:
                    wires[key].set_problem(problems[key])
        if not pending:
            self._wires_done()

    def _wires_done(self) -> None:
        """All wires are there: put `wires` and each node's list in edge order (what a
        one-pass build gives), and say so."""
        wires = self.wires
        order = [e.key() for e in self.workflow.edges if e.key() in wires]
        self.wires = {key: wires[key] for key in order}
        node_wires: dict[str, list[EdgeKey]] = {}
        for key in self.wires:
            node_wires.setdefault(key[0], []).append(key)
            node_wires.setdefault(key[2], []).append(key)
        self._node_wires = node_wires
        self._edge_problems = {}
        self.wires_built.emit()

    def set_look(self, look: Look) -> None:
        self.look = look
        self.setBackgroundBrush(QBrush(look.theme.background))
        selected = set(self.selected_node_ids())
        self.build()
        for node_id in selected:
            self.nodes[node_id].setSelected(True)

    def content_for(self, node: Node) -> NodeContent:
        """What a node's item shows, from the node and its type (registry lookups only)."""
        try:
            node_type = self.registry.get(node.type)
        except RegistryError:
            ins = dict.fromkeys(e.target_port for e in self.workflow.edges_into(node.id))
            outs = dict.fromkeys(e.source_port for e in self.workflow.edges_from(node.id))
            return NodeContent(title=node.title or node.type, summary=f"unknown type {node.type}",
                               inputs=[Port(n) for n in ins],
                               outputs=[Port(n) for n in outs], unknown=True)
        title = node.title or node_type.title or node.type
        # The rest depends only on the type, `on_error` and the params: nodes alike (most of a
        # big file) share one computation while the scene is built (`_build_items`).
        key = (node.type, node.on_error, repr(node.params)) if self._shared is not None \
            else None
        shared = self._shared.get(key) if key is not None else None
        if shared is None:
            params = node_type.with_defaults(node.params)
            inputs, outputs = node_ports(node, node_type, params)
            try:
                summary = node_type.summary(params)
            except Exception:  # a plugin's summary choking on odd params must not break it
                summary = ""
            shared = (node_type.category, summary, node_type.kind, list(inputs.values()),
                      list(outputs.values()))
            if key is not None:
                self._shared[key] = shared
        category, summary, kind, ins, outs = shared
        return NodeContent(title=title, category=category, summary=summary, kind=kind,
                           inputs=ins, outputs=outs)

    def _add_node_item(self, node: Node) -> NodeItem:
        item = NodeItem(node.id, self.content_for(node), self.look)
        item.setPos(node.position[0], node.position[1])
        self.addItem(item)
        self.nodes[node.id] = item
        return item

    def _add_wire(self, edge: Edge) -> WireItem | None:
        source, target = self.nodes.get(edge.source), self.nodes.get(edge.target)
        if source is None or target is None:
            return None  # an edge to a missing node: the problems panel reports it
        port_type = source.port_type("out", edge.source_port)
        if port_type == "any":
            port_type = target.port_type("in", edge.target_port)
        back = is_back_port(target.content.kind, edge.target_port)
        wire = WireItem(edge, self.look, port_type, back)
        self._route(wire, source, target)  # before addItem: the index takes its final bounds
        self.addItem(wire)
        key = edge.key()
        self.wires[key] = wire
        self._node_wires.setdefault(edge.source, []).append(key)
        self._node_wires.setdefault(edge.target, []).append(key)
        return wire

    def _add_wires(self, edges: list[Edge]) -> None:
        """`_add_wire` for every edge of a new scene, in one loop: the same items, without
        the per-wire calls (a 2 000-node file has ~4 000 wires). Back edges, which route
        around the items already there, go through `_add_wire`."""
        nodes, wires, node_wires = self.nodes, self.wires, self._node_wires
        look, add_item = self.look, self.addItem
        where = {node_id: (item.x(), item.y()) for node_id, item in nodes.items()}
        for edge in edges:
            source, target = nodes.get(edge.source), nodes.get(edge.target)
            if source is None or target is None:
                continue  # an edge to a missing node: the problems panel reports it
            back = is_back_port(target.content.kind, edge.target_port)
            if back:
                self._add_wire(edge)
                continue
            port_type = source.port_type("out", edge.source_port)
            if port_type == "any":
                port_type = target.port_type("in", edge.target_port)
            wire = WireItem(edge, look, port_type, False)
            sx, sy = where[edge.source]
            ex, ey = where[edge.target]
            wire.setPath(bezier(sx + source.width,
                                sy + source.out_rows.get(edge.source_port, HEADER_H / 2),
                                ex, ey + target.in_rows.get(edge.target_port, HEADER_H / 2)))
            add_item(wire)
            key = (edge.source, edge.source_port, edge.target, edge.target_port)
            wires[key] = wire
            node_wires.setdefault(edge.source, []).append(key)
            node_wires.setdefault(edge.target, []).append(key)

    def _route(self, wire: WireItem, source: NodeItem, target: NodeItem) -> None:
        edge = wire.edge
        sx, sy = source.port_xy("out", edge.source_port)
        ex, ey = target.port_xy("in", edge.target_port)
        below = None
        if wire.back and ex < sx - 20:  # a loop's back edge: pass under its body
            a, b = source.sceneBoundingRect(), target.sceneBoundingRect()
            below = max(a.bottom(), b.bottom())
            band = QRectF(b.left(), min(a.top(), b.top()), a.right() - b.left(),
                          below - min(a.top(), b.top()) + 120.0)
            for item in self.items(band):
                if isinstance(item, NodeItem):
                    below = max(below, item.sceneBoundingRect().bottom())
            below += 24.0
        wire.setPath(bezier(sx, sy, ex, ey, below))

    def _remove_wire(self, key: EdgeKey) -> None:
        wire = self.wires.pop(key, None)
        if wire is None:
            return
        self.selected_wires.discard(key)
        for end in (key[0], key[2]):
            keys = self._node_wires.get(end)
            if keys and key in keys:
                keys.remove(key)
        self.removeItem(wire)

    def _on_node_added(self, node: Node, index: int) -> None:
        self._add_node_item(node)
        self.refresh_frames_of(node.id)

    def _on_node_removed(self, node: Node, index: int) -> None:
        for key in list(self._node_wires.pop(node.id, [])):
            self._remove_wire(key)
        item = self.nodes.pop(node.id, None)
        if item is not None:
            self.removeItem(item)
        self.refresh_frames_of(node.id)

    def _on_node_changed(self, node: Node, fields: tuple[str, ...]) -> None:
        item = self.nodes.get(node.id)
        if item is None:
            return
        if any(f in fields for f in ("params", "title", "on_error")):
            item.set_content(self.content_for(node))
            for key in list(self._node_wires.get(node.id, [])):  # port types may have changed
                edge = self.wires[key].edge
                self._remove_wire(key)
                self._add_wire(edge)
        if "position" in fields:
            item.setPos(node.position[0], node.position[1])
        self.node_geometry_changed(node.id)

    def _on_edge_added(self, edge: Edge, index: int) -> None:
        self._add_wire(edge)

    def _on_edge_removed(self, edge: Edge, index: int) -> None:
        self._remove_wire(edge.key())

    # --- frames: one item per Frame, each following its own frame's changes ---------------------
    def _add_frame_item(self, frame: Frame) -> FrameItem:
        item = FrameItem(frame, self.look)
        self.addItem(item)
        self.frames[frame.id] = item
        self._index_members(frame.id, item.node_ids)
        self._fit_frame(item)
        return item

    def _index_members(self, frame_id: str, node_ids: list[str], on: bool = True) -> None:
        for node_id in node_ids:
            ids = self._node_frames.setdefault(node_id, [])
            if on and frame_id not in ids:
                ids.append(frame_id)
            elif not on and frame_id in ids:
                ids.remove(frame_id)

    def _on_frame_added(self, frame: Frame, index: int) -> None:
        self._add_frame_item(frame)

    def _on_frame_removed(self, frame: Frame, index: int) -> None:
        item = self.frames.pop(frame.id, None)
        if item is not None:
            self._index_members(frame.id, item.node_ids, on=False)
            self.removeItem(item)

    def _on_frame_changed(self, frame: Frame, fields: tuple[str, ...]) -> None:
        item = self.frames.get(frame.id)
        if item is None:
            return
        self._index_members(frame.id, item.node_ids, on=False)
        item.set_frame(frame)
        self._index_members(frame.id, item.node_ids)
        self._fit_frame(item)

    def _fit_frame(self, item: FrameItem) -> None:
        rect = QRectF()
        for node_id in item.node_ids:
            node = self.nodes.get(node_id)
            if node is not None:
                rect = rect.united(node.mapRectToScene(node.rect))
        item.set_member_rect(rect)

    def refresh_frames_of(self, node_id: str) -> None:
        for frame_id in self._node_frames.get(node_id, []):
            self._fit_frame(self.frames[frame_id])

    # --- geometry and highlights ------------------------------------------------------------
    def node_geometry_changed(self, node_id: str) -> None:
        """Re-route a node's wires and refit its frames (after a move or a re-layout)."""
        for key in self._node_wires.get(node_id, []):
            wire = self.wires[key]
            source, target = self.nodes.get(key[0]), self.nodes.get(key[2])
            if source is not None and target is not None:
                self._route(wire, source, target)
        self.refresh_frames_of(node_id)

    def wires_of(self, node_id: str) -> list[WireItem]:
        return [self.wires[k] for k in self._node_wires.get(node_id, [])]

    def highlight_wires(self, node_id: str, on: bool) -> None:
        for wire in self.wires_of(node_id):
            wire.set_highlighted(on)

    def set_problems(self, problems: list[Problem]) -> None:
        by_node: dict[str, list[str]] = {}
        by_edge: dict[EdgeKey, str] = {}
        for problem in problems:
            if problem.edge is not None:
                by_edge.setdefault(problem.edge, problem.message)
            elif problem.node_id is not None:
                prefix = "warning: " if not problem.is_error else ""
                by_node.setdefault(problem.node_id, []).append(prefix + problem.message)
        self._edge_problems = by_edge if self._pending else {}  # (for wires not built yet)
        for node_id, item in self.nodes.items():
            item.set_problems(by_node.get(node_id, []))
        for key, wire in self.wires.items():
            wire.set_problem(by_edge.get(key))

    def select_wire(self, key: EdgeKey | None, add: bool = False) -> None:
        """Select the wire `key` (None: no wire); `add` toggles it, keeping the others."""
        if key is not None and key in self._pending:
            self.finish_wires()
        if not add:
            for other in self.selected_wires - {key}:
                self.wires[other].set_selected(False)
            self.selected_wires &= {key}
        if key is None or key not in self.wires:
            return
        on = not (add and key in self.selected_wires)
        self.wires[key].set_selected(on)
        if on:
            self.selected_wires.add(key)
        else:
            self.selected_wires.discard(key)

    def selected_node_ids(self) -> list[str]:
        """Selected node ids, in the workflow's node order (so results are repeatable)."""
        ids = {item.node_id for item in self.selectedItems() if isinstance(item, NodeItem)}
        if len(ids) < 2:
            return list(ids)
        return [node_id for node_id in self.workflow.nodes if node_id in ids]

    def node_at(self, scene_pos: QPointF) -> NodeItem | None:
        for item in self.items(scene_pos):
            if isinstance(item, NodeItem):
                return item
        return None

    def select_nodes(self, ids: list[str]) -> None:
        """Select exactly the nodes `ids`, reporting one selection change."""
        self.blockSignals(True)
        self.clearSelection()
        for node_id in ids:
            item = self.nodes.get(node_id)
            if item is not None:
                item.setSelected(True)
        self.blockSignals(False)
        self.selectionChanged.emit()

    # --- gestures -------------------------------------------------------------------------------
    def use_gestures(self, factory: GestureFactory | None) -> None:
        """Left presses start the gestures `factory` picks (None: Qt's default handling only)."""
        self.cancel_gesture()
        self.gestures = factory

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if self.gesture is None and event.button() == Qt.MouseButton.LeftButton \
                and self.gestures is not None:
            gesture = self.gestures.for_press(event)
            if gesture is not None:
                self.gesture = gesture
                event.accept()
                return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if self.gesture is not None:
            self.gesture.move(event)
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if self.gesture is not None and event.button() == Qt.MouseButton.LeftButton:
            gesture, self.gesture = self.gesture, None
            gesture.end(event)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def cancel_gesture(self) -> bool:
        if self.gesture is None:
            return False
        gesture, self.gesture = self.gesture, None
        gesture.cancel()
        return True

    # --- background -----------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        draw_grid(painter, rect, self.look.theme)
