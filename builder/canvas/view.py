"""`Canvas`: the node-graph editor widget (a QGraphicsView over a GraphScene).

It owns the view side of editing: zoom (wheel, around the cursor), pan (middle-drag or Space+drag),
fitting, keyboard shortcuts, palette drops and quick-add. Gestures do not see the view: it builds
one EditContext (builder/canvas/edit_context.py: workflow, registry, undo stack, scene lookups, a
status line) and gives the scene a GestureFactory over it (builder/canvas/press.py), which turns a
press on an item into a gesture. Everything that changes the workflow is an undo command pushed on
the `undo_stack`; selection, zoom and hover never are. Editing actions (delete, copy, align,
frames…) live in builder/canvas/editing.py.

A big workflow's wires are built around the first paint (builder/canvas/scene.py): each paint
first builds the held-back wires it would show, then a zero-delay timer builds the rest a slice
per event-loop turn. A press, a key or a run (`finish_build`) makes them all first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QPainter, QPaintEvent, QUndoStack
from PySide6.QtWidgets import QGraphicsView, QWidget

from builder.canvas.drop_gesture import NODE_TYPE_MIME, DropGesture
from builder.canvas.edit_context import EditContext, PendingWire
from builder.canvas.frame_item import FrameItem
from builder.canvas.look import Look
from builder.canvas.minimap import Minimap
from builder.canvas.node_item import NodeItem
from builder.canvas.press import GestureFactory
from builder.canvas.scene import GraphScene
from builder.theme import Theme, system_theme
from engine.errors import Problem
from engine.model import Workflow
from engine.registry import Registry

if TYPE_CHECKING:  # pragma: no cover - typing only; both load on first use
    from types import ModuleType

    from builder.canvas.quick_add import QuickAddGesture

MIN_ZOOM, MAX_ZOOM = 0.05, 4.0
# Fit goes no further out than this: full node detail (titles, port names) from here up. A
# bigger graph is centred at this zoom instead (pan, or Ctrl+F to find a node).
FIT_MIN_ZOOM = 0.75  # whole titles at >= 0.85 of the platform size (the minimap shows the rest)

__all__ = ["Canvas", "NODE_TYPE_MIME"]


class Canvas(QGraphicsView):
    selection_changed = Signal(list)
    status_message = Signal(str)
    node_double_clicked = Signal(str)

    def __init__(self, workflow: Workflow, registry: Registry, undo_stack: QUndoStack,
                 theme: Theme | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or system_theme()
        self.look = Look(self.theme)
        self.quick_add: QuickAddGesture | None = None
        self._drop: DropGesture | None = None
        self._pan_from: QPointF | None = None
        self._space = False
        # A child, so Qt deletes the scene and its items with the view, deterministically.
        self.graph_scene = GraphScene(workflow, registry, self.look, self)
        self.edit = EditContext(self.graph_scene, undo_stack, say=self.status_message.emit,
                                zoom=self.zoom, visible_nodes=self.visible_node_items,
                                open_quick_add=self.open_quick_add)
        self.graph_scene.use_gestures(GestureFactory(self.edit))
        self.graph_scene.selectionChanged.connect(self._emit_selection)
        self.setScene(self.graph_scene)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing
                            | QPainter.RenderHint.SmoothPixmapTransform)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # Wrap the viewport now: PySide 6.11 can crash creating its wrapper lazily when Qt hands
        # it to an item's Python paint() (seen after other views were destroyed).
        self._viewport = self.viewport()
        self.centerOn(0, 0)
        self.minimap = Minimap(self)  # the overview in the corner (builder/canvas/minimap.py)
        self._wire_slices = QTimer(self)  # a deferred build's other wires, after the paint
        self._wire_slices.setInterval(0)
        self._wire_slices.timeout.connect(self._build_wire_slice)
        self.graph_scene.wires_built.connect(self.minimap.invalidate)

    # --- model and look -------------------------------------------------------------------------
    @property
    def workflow(self) -> Workflow:
        return self.graph_scene.workflow

    @property
    def registry(self) -> Registry:
        return self.graph_scene.registry

    @property
    def undo_stack(self) -> QUndoStack:
        return self.edit.undo_stack

    @property
    def snap_to_grid(self) -> bool:
        return self.edit.snap_to_grid

    def set_workflow(self, workflow: Workflow, undo_stack: QUndoStack) -> None:
        self.graph_scene.cancel_gesture()
        self.edit.undo_stack = undo_stack
        self.graph_scene.set_workflow(workflow, defer=True)
        self.minimap.follow(workflow)

    def finish_build(self) -> None:
        """Every item there now (a deferred build's held-back wires included)."""
        self._wire_slices.stop()
        self.graph_scene.finish_wires()

    def _build_wire_slice(self) -> None:
        if not self.graph_scene.build_wires_slice():
            self._wire_slices.stop()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.look = Look(theme)
        self.graph_scene.set_look(self.look)
        self.minimap.set_theme(theme)

    def set_problems(self, problems: list[Problem]) -> None:
        self.graph_scene.set_problems(problems)

    def set_snap_to_grid(self, on: bool) -> None:
        self.edit.snap_to_grid = bool(on)

    def node_item(self, node_id: str) -> NodeItem | None:
        return self.graph_scene.nodes.get(node_id)

    def visible_node_items(self) -> list[NodeItem]:
        area = self.mapToScene(self.viewport().rect()).boundingRect()
        return [i for i in self.graph_scene.items(area) if isinstance(i, NodeItem)]

    def add_node_at(self, type_id: str, scene_pos: QPointF) -> str:
        """Add a node of `type_id` with its header under `scene_pos` (one undo entry)."""
        return self.edit.add_node_at(type_id, scene_pos)

    # --- selection ------------------------------------------------------------------------------
    def _emit_selection(self) -> None:
        # The scene also reports selection changes while it is being destroyed: ignore those.
        if shiboken6.isValid(self) and shiboken6.isValid(self.graph_scene):
            self.selection_changed.emit(self.selected_node_ids())

    def selected_node_ids(self) -> list[str]:
        return self.graph_scene.selected_node_ids()

    def select_nodes(self, ids: list[str]) -> None:
        self.graph_scene.select_nodes(ids)

    def select_all(self) -> None:
        self.select_nodes(list(self.graph_scene.nodes))

    # --- zoom and view --------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def _zoom_by(self, factor: float, anchor: QGraphicsView.ViewportAnchor | None = None) -> None:
        factor = max(MIN_ZOOM / self.zoom(), min(MAX_ZOOM / self.zoom(), factor))
        if anchor is not None:
            previous = self.transformationAnchor()
            self.setTransformationAnchor(anchor)
            self.scale(factor, factor)
            self.setTransformationAnchor(previous)
        else:
            self.scale(factor, factor)

    def zoom_in(self) -> None:
        self._zoom_by(1.25, QGraphicsView.ViewportAnchor.AnchorViewCenter)

    def zoom_out(self) -> None:
        self._zoom_by(0.8, QGraphicsView.ViewportAnchor.AnchorViewCenter)

    def _fit(self, rect: QRectF) -> None:
        if rect.isNull() or rect.isEmpty():
            return
        self.fitInView(rect.adjusted(-60, -60, 60, 60), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.5:
            self._zoom_by(1.5 / self.zoom(), QGraphicsView.ViewportAnchor.AnchorViewCenter)
        elif self.zoom() < FIT_MIN_ZOOM:
            self._zoom_by(FIT_MIN_ZOOM / self.zoom(),
                          QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.centerOn(rect.center())

    def fit_all(self) -> None:
        """Fit every node and frame in view (one pass over the items' bounds)."""
        self._fit(self.graph_scene.items_bounds())

    def fit_selection(self) -> None:
        rect = QRectF()
        for item in self.graph_scene.selectedItems():
            rect = rect.united(item.sceneBoundingRect())
        if rect.isNull():
            self.fit_all()
        else:
            self._fit(rect)

    def center_on_node(self, node_id: str) -> None:
        item = self.node_item(node_id)
        if item is not None:
            self.centerOn(item.sceneBoundingRect().center())

    # --- editing (builder/canvas/editing.py) ----------------------------------------------------
    def delete_selection(self) -> None:
        _editing().delete_selection(self)

    def duplicate_selection(self) -> None:
        _editing().duplicate_selection(self)

    def copy_selection(self) -> None:
        _editing().copy_selection(self)

    def cut_selection(self) -> None:
        _editing().cut_selection(self)

    def paste(self) -> None:
        _editing().paste(self)

    def align_selection(self, edge: str) -> None:
        _editing().align_selection(self, edge)

    def distribute_selection(self, axis: str) -> None:
        _editing().distribute_selection(self, axis)

    def frame_selection(self) -> str | None:
        return _editing().frame_selection(self)

    def open_quick_add(self, scene_pos: QPointF, pending: PendingWire | None = None,
                       global_pos: QPoint | None = None) -> QuickAddGesture:
        if self.quick_add is not None:
            self.quick_add.popup.close()
        if global_pos is None:
            global_pos = self.viewport().mapToGlobal(self.mapFromScene(scene_pos))
        from builder.canvas.quick_add import QuickAddGesture  # on first use: not start-up work

        self.quick_add = QuickAddGesture(self.edit, scene_pos, pending, self, global_pos,
                                         done=self._quick_add_done)
        return self.quick_add

    def _quick_add_done(self, gesture: QuickAddGesture) -> None:
        if self.quick_add is gesture:
            self.quick_add = None

    # --- Qt events ------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        scene = self.graph_scene
        if scene.wires_pending:  # what this paint shows first; the rest on the next turns
            scene.build_wires_in(self.mapToScene(self.viewport().rect()).boundingRect())
            if scene.wires_pending and not self._wire_slices.isActive():
                self._wire_slices.start()
        super().paintEvent(event)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802
        super().drawForeground(painter, rect)
        self.minimap.view_changed()  # every pan, zoom and resize repaints: one rect compare

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self._zoom_at(1.0015 ** delta, event.position())
        event.accept()

    def _zoom_at(self, factor: float, view_pos: QPointF) -> None:
        """Zoom keeping the scene point under `view_pos` where it is (the wheel's own point,
        not QCursor's, so it also holds for synthetic events and tablets)."""
        point = view_pos.toPoint()
        anchor = self.mapToScene(point)
        self._zoom_by(factor, QGraphicsView.ViewportAnchor.NoAnchor)
        drift = self.mapFromScene(anchor) - point
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + drift.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + drift.y())

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.finish_build()  # a press may pick, band-select or drag: on every item
        middle = event.button() == Qt.MouseButton.MiddleButton
        if middle or (event.button() == Qt.MouseButton.LeftButton and self._space):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space
                                      else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mouseDoubleClickEvent(event)
        pos = self.mapToScene(event.position().toPoint())
        for item in self.graph_scene.items(pos):
            if isinstance(item, NodeItem):
                self.node_double_clicked.emit(item.node_id)
                return
            if isinstance(item, FrameItem) and item.title_rect().contains(pos):
                _editing().rename_frame(self, item.frame_id)
                return
        self.open_quick_add(pos)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Tab \
                and not event.modifiers():
            local = self.viewport().mapFromGlobal(self.cursor().pos())
            if not self.viewport().rect().contains(local):
                local = self.viewport().rect().center()
            self.open_quick_add(self.mapToScene(local))
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        self.finish_build()
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if key == Qt.Key.Key_Escape:
            if not self.graph_scene.cancel_gesture():
                self.graph_scene.clearSelection()
            return
        actions = (
            (QKeySequence.StandardKey.SelectAll, self.select_all),
            (QKeySequence.StandardKey.Copy, self.copy_selection),
            (QKeySequence.StandardKey.Cut, self.cut_selection),
            (QKeySequence.StandardKey.Paste, self.paste),
            (QKeySequence.StandardKey.Delete, self.delete_selection),
        )
        for sequence, action in actions:
            if event.matches(sequence):
                action()
                return
        if key == Qt.Key.Key_Backspace:
            self.delete_selection()
        elif key == Qt.Key.Key_D and event.modifiers() == Qt.KeyboardModifier.ControlModifier:
            self.duplicate_selection()
        elif key == Qt.Key.Key_F and not event.modifiers():
            self.fit_all()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif key == Qt.Key.Key_Minus:
            self.zoom_out()
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            if self._pan_from is None:
                self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            return
        super().keyReleaseEvent(event)

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasFormat(NODE_TYPE_MIME):
            self._drop = DropGesture(self.edit, event.mimeData())
            if self._drop.known:
                event.acceptProposedAction()
            else:
                event.ignore()
        else:
            event.ignore()  # e.g. a file: the window opens it

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if self._drop is not None and self._drop.known:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802
        if self._drop is not None:
            self._drop.cancel()
            self._drop = None

    def dropEvent(self, event) -> None:  # noqa: N802
        drop, self._drop = self._drop, None
        if drop is None and event.mimeData().hasFormat(NODE_TYPE_MIME):
            drop = DropGesture(self.edit, event.mimeData())
        if drop is None:
            event.ignore()
            return
        drop.end(self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()
        self.setFocus()


def _editing() -> ModuleType:
    """builder/canvas/editing.py (delete, copy, paste, align, frames), imported on first use:
    with the clipboard and the arranging code it is not start-up work."""
    from builder.canvas import editing

    return editing
