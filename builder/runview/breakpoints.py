"""Breakpoints in the editor: toggle and edit them, and answer a run that paused at one.

`BreakpointsView(run_view)` owns the editor's side of engine/breakpoints.py:
* Run ▸ Toggle breakpoint (F9) on the selected node(s) or wire, the same in a node's or a
  wire's context menu, Edit breakpoint condition…, and Run ▸ Pause the whole run at a
  breakpoint (the file's `ui.break_mode`). Each change is one undoable `SetBreakpointsCommand`
  on the file's view state; the canvas marks follow (builder/breakpoint_marks.py).
* When a run starts it gets a `PauseGate` with the document's breakpoints (kept up to date while
  it runs). A stop shows its node paused on the canvas and the Breakpoint panel
  (builder/breakpoint_panel.py) with the value as editable JSON: Continue (F8), Step (F10),
  Abort. Stops that come together wait their turn, oldest first.
`ask_condition(parent, where, current)` is an attribute a test may replace.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QAction, QFontDatabase, QKeySequence, QUndoCommand
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QLabel,
    QLineEdit,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from builder.breakpoint_marks import BreakpointMarks
from builder.breakpoint_panel import BreakpointPanel
from builder.canvas.wire_item import WireItem, distance_to_curve
from engine.breakpoints import (
    ALL,
    BRANCH,
    Breakpoint,
    PauseGate,
    Resume,
    Stop,
    break_mode,
    read_breakpoints,
    with_breakpoints,
)
from engine.expressions import check_syntax
from engine.model import Workflow

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.runview.view import RunView

log = logging.getLogger(__name__)

WIRE_GRIP = 6.0  # scene units from a wire's line that still count as on it (as the canvas)


class SetBreakpointsCommand(QUndoCommand):
    """Set the file's breakpoints (and pause mode): view state, but saved, so undoable."""

    def __init__(self, workflow: Workflow, breakpoints: list[Breakpoint], mode: str | None,
                 text: str) -> None:
        super().__init__(text)
        self.workflow = workflow
        self.before = dict(workflow.extra)
        self.after = with_breakpoints(workflow.extra, breakpoints, mode)

    def redo(self) -> None:
        self.workflow.set_meta(extra=self.after)

    def undo(self) -> None:
        self.workflow.set_meta(extra=self.before)


def ask_condition(parent: QWidget | None, where: str, current: str) -> str | None:
    """The condition for a breakpoint ("" = always), or None if the person cancelled."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("Breakpoint condition")
    field = QLineEdit(current)
    field.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    field.setPlaceholderText("x['score'] < 0.5   (empty: always pause)")
    hint = QLabel(f"Pause at the breakpoint on {where} only when this holds. Names: x (the "
                  "value), inputs, index (the loop item), path.")
    hint.setWordWrap(True)
    problem = QLabel("")
    problem.setWordWrap(True)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel)

    def check(text: str) -> None:
        why = check_syntax(text) if text.strip() else None
        problem.setText(why or "")
        buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(why is None)

    field.textChanged.connect(check)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    for widget in (hint, field, problem, buttons):
        layout.addWidget(widget)
    check(current)
    dialog.resize(460, dialog.sizeHint().height())
    return field.text().strip() if dialog.exec() == QDialog.DialogCode.Accepted else None


class BreakpointsView(QObject):
    def __init__(self, run_view: RunView) -> None:
        super().__init__(run_view)
        self.run_view = run_view
        self.window = window = run_view.window
        self.canvas = window.canvas
        self.controller = run_view.controller
        self.marks = BreakpointMarks(self.canvas)
        self.ask_condition = ask_condition
        self.gate: PauseGate | None = None
        self.waiting: list[tuple[Stop, asyncio.Future[Resume]]] = []
        self.panel = BreakpointPanel()
        self.panel.resumed.connect(self._resume)
        self.dock = QDockWidget("Breakpoint", window)
        self.dock.setObjectName("breakpoint_dock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.actions = self._make_actions()
        self._unsubscribe: Any = None
        self.workflow: Workflow | None = None
        self.follow(window.session.document.workflow)
        window.session.document_replaced.connect(lambda doc: self.follow(doc.workflow))
        self.controller.started.connect(self._on_started)
        self.controller.finished.connect(self._on_finished)
        self.canvas.viewport().installEventFilter(self)  # wire context menus (nodes: RunView)
        QTimer.singleShot(0, self, self._add_to_menu)  # the Run menu is built after RunView

    # --- actions ------------------------------------------------------------------------------
    def _make_actions(self) -> dict[str, QAction]:
        w = self.window
        made: dict[str, QAction] = {}
        for key, text, slot, shortcut in (
                ("toggle", "Toggle &breakpoint", self.toggle_selected, "F9"),
                ("condition", "Edit breakpoint &condition…", self.edit_selected, "Shift+F9"),
                ("continue", "&Continue from breakpoint", lambda: self.panel.resume("continue"),
                 "F8"),
                ("step", "S&tep to the next node", lambda: self.panel.resume("step"), "F10")):
            action = QAction(text, w)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
            w.addAction(action)  # its shortcut works before the menu exists
            made[key] = action
        pause_all = made["pause_all"] = QAction("Pause the &whole run at a breakpoint", w)
        pause_all.setCheckable(True)
        pause_all.setToolTip("Off: only the branch that hit pauses, the others run on")
        pause_all.toggled.connect(self.set_pause_all)
        return made

    def _add_to_menu(self) -> None:
        menu = next((a.menu() for a in self.window.menuBar().actions()
                     if a.menu() is not None and a.text().replace("&", "") == "Run"), None)
        if menu is None:
            return
        menu.addSeparator()
        for key in ("toggle", "condition", "continue", "step", "pause_all"):
            menu.addAction(self.actions[key])

    # --- the document's breakpoints -------------------------------------------------------------
    def follow(self, workflow: Workflow) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.workflow = workflow
        self._unsubscribe = workflow.meta_changed.subscribe(lambda *_: self._changed())
        self._changed()

    def breakpoints(self) -> list[Breakpoint]:
        return read_breakpoints(self.workflow)[0] if self.workflow is not None else []

    def _changed(self) -> None:
        found = self.breakpoints()
        self.marks.set_breakpoints(found)
        pause_all = self.workflow is not None and break_mode(self.workflow) == ALL
        action = self.actions["pause_all"]
        if action.isChecked() != pause_all:
            action.blockSignals(True)
            action.setChecked(pause_all)
            action.blockSignals(False)
        if self.gate is not None and self.controller.last is not None \
                and self.controller.last.source is self.workflow:
            self.gate.set_breakpoints(found)

    def _push(self, breakpoints: list[Breakpoint], text: str, mode: str | None = None) -> None:
        document = self.window.document
        document.undo_stack.push(SetBreakpointsCommand(document.workflow, breakpoints, mode,
                                                       text))

    def _targets(self) -> list[Breakpoint]:
        """The selected wire (one, alone) or the selected nodes, as breakpoint places."""
        scene = self.canvas.graph_scene
        nodes = self.canvas.selected_node_ids()
        if not nodes and len(scene.selected_wires) == 1:
            return [Breakpoint(wire=next(iter(scene.selected_wires)))]
        return [Breakpoint(node=n) for n in nodes]

    def toggle(self, places: list[Breakpoint]) -> bool:
        if not places:
            self.window.show_status("Select a node or a wire to toggle a breakpoint on.")
            return False
        current = self.breakpoints()
        spots = {(p.node, p.wire) for p in places}
        kept = [bp for bp in current if (bp.node, bp.wire) not in spots]
        if len(kept) == len(current):  # none there yet: add them all
            kept += places
            text = "Add breakpoint"
        else:
            text = "Remove breakpoint"
        self._push(kept, text)
        return True

    def toggle_selected(self) -> bool:
        return self.toggle(self._targets())

    def edit_selected(self) -> bool:
        places = self._targets()
        if len(places) != 1:
            self.window.show_status("Select one node or one wire to edit its breakpoint.")
            return False
        return self.edit_condition(places[0])

    def edit_condition(self, place: Breakpoint) -> bool:
        current = self.breakpoints()
        same = next((bp for bp in current if (bp.node, bp.wire) == (place.node, place.wire)),
                    None)
        condition = self.ask_condition(self.window, place.where,
                                       same.condition if same else "")
        if condition is None:
            return False
        updated = Breakpoint(place.node, place.wire, condition)
        kept = [updated if bp is same else bp for bp in current]
        if same is None:
            kept.append(updated)
        self._push(kept, "Set breakpoint condition")
        return True

    def set_pause_all(self, on: bool) -> None:
        if self.workflow is None or (break_mode(self.workflow) == ALL) == bool(on):
            return
        self._push(self.breakpoints(), "Change breakpoint pause", ALL if on else BRANCH)

    def add_menu_items(self, menu: QMenu, place: Breakpoint) -> None:
        """The breakpoint entries of a node's or a wire's context menu."""
        there = any((bp.node, bp.wire) == (place.node, place.wire) for bp in self.breakpoints())
        menu.addSeparator()
        toggle = menu.addAction("Remove breakpoint" if there else "Add breakpoint",
                                lambda: self.toggle([place]))
        toggle.setShortcut(QKeySequence("F9"))
        menu.addAction("Edit breakpoint condition…", lambda: self.edit_condition(place))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() != QEvent.Type.ContextMenu:
            return False
        canvas = self.canvas
        pos = canvas.mapToScene(event.pos())
        if canvas.graph_scene.node_at(pos) is not None:
            return False  # a node's menu (RunView's) has the breakpoint entries too
        key = _wire_near(canvas.graph_scene, pos)
        if key is None:
            return False
        canvas.graph_scene.select_wire(key)
        menu = QMenu(self.window)
        self.add_menu_items(menu, Breakpoint(wire=key))
        menu.exec(event.globalPos())
        return True

    # --- a run that pauses --------------------------------------------------------------------
    def _on_started(self, compiled: Any, run_id: str) -> None:
        run = self.controller.run
        last = self.controller.last
        if run is None or last is None:
            return
        source = last.source
        self.gate = PauseGate(read_breakpoints(source)[0], self.decide, break_mode(source),
                              render=_as_json).attach(run)
        self.gate.listeners.append(self._show_paused)

    def _on_finished(self, _result: Any) -> None:
        self.gate = None
        self.marks.set_paused({})
        self.panel.show_stop(None, message="The run ended.")

    async def decide(self, stop: Stop) -> Resume:
        future: asyncio.Future[Resume] = asyncio.get_running_loop().create_future()
        self.waiting.append((stop, future))
        self._show_first()
        try:
            return await future
        finally:
            self.waiting = [(s, f) for s, f in self.waiting if s is not stop]
            self._show_first()

    def _show_first(self) -> None:
        if self.waiting:
            stop = self.waiting[0][0]
            self.panel.show_stop(stop, len(self.waiting) - 1)
            if not self.dock.isVisible():
                self.dock.show()
            self.dock.raise_()
            if stop.node_id in self.canvas.graph_scene.nodes:
                self.canvas.center_on_node(stop.node_id)
            self.window.show_status(stop.title)
        else:
            self.panel.show_stop(None, message="Running…")

    def _show_paused(self) -> None:
        gate = self.gate
        if gate is None or self.controller.last is None \
                or self.controller.last.source is not self.window.document.workflow:
            self.marks.set_paused({})
            return
        paused: dict[str, bool] = {}
        for stop in gate.stops:
            paused[stop.node_id] = paused.get(stop.node_id, False) or stop.hit
        self.marks.set_paused(paused)

    def _resume(self, resume: Resume) -> None:
        if not self.waiting:
            return
        stop, future = self.waiting[0]
        if not future.done():
            future.set_result(resume)


def _wire_near(scene: Any, pos: QPointF) -> tuple[str, str, str, str] | None:
    """The key of the wire whose line passes nearest `pos`, within WIRE_GRIP scene units."""
    grip = QRectF(pos.x() - WIRE_GRIP, pos.y() - WIRE_GRIP, 2 * WIRE_GRIP, 2 * WIRE_GRIP)
    near = sorted((distance_to_curve(item.path(), pos), item.edge.key())
                  for item in scene.items(grip)
                  if isinstance(item, WireItem) and item.edge is not None)
    return near[0][1] if near and near[0][0] <= WIRE_GRIP else None


def _as_json(value: Any) -> Any:
    """A value as JSON data, as `flowloom run` prints it. builder.cli is imported at the first
    stop, not with the editor or at a run's start (about 0.1 s of imports the editor does not
    need otherwise)."""
    from builder.cli import jsonable

    return jsonable(value)
