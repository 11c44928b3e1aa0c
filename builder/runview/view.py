"""The live run in the window: controller, canvas overlay, run panels, approvals, re-run.

`RunView(window, secrets)` owns the live run: the `RunController` (`window.runner`, which owns
the bridge and the run's one `RunFold`), the canvas `RunOverlay` and the wiring of the window's
`RunPanels` docks (`window.run_panels`, made with the window: their tabs are in its first frame;
None without the panels package). The window builds it right after its first frame, or when
something needs it first (a Run pressed earlier: builder/runview/pending.py). Every way to start
a run goes through `start()` (the checks, then the run); the controller folds the bridge's
batches once and RunView tells the overlay which nodes changed and the panels that a batch
arrived (both read the fold). It routes approvals to the waiting node's buttons and the review
dialog, shows a node paused at a breakpoint (`show_paused`, `pause_action`), and adds the canvas
context menu (Re-run from here, Approve…, Reject…, Show error). The dialogs it opens are
attributes a test may replace: `ask_inputs(parent, declared)`, `approvals.dialog(parent,
request, approve, done)` and `show_error(parent, node_id, text)`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from builder.run_folder import documents_dir, run_folder, shown
from builder.runview.alerts import AlertDisplay
from builder.runview.breakpoints import BreakpointsView
from builder.runview.comment_popover import CommentPopover
from builder.runview.controller import RunController
from builder.runview.inputs import ask_inputs, declared_inputs
from builder.runview.overlay import RunOverlay
from builder.runview.pacer import FramePacer
from engine import events as ev
from engine.breakpoints import Breakpoint
from engine.runfold import RunFold

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.mainwindow import MainWindow

log = logging.getLogger(__name__)


def show_error_text(parent: QWidget | None, node_id: str, text: str) -> QMessageBox:
    """The full error of a failed node, in a message box that does not block the run."""
    box = QMessageBox(QMessageBox.Icon.Critical, f"Node {node_id!r} failed", text,
                      QMessageBox.StandardButton.Close, parent)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


class RunView(QObject):
    warmed_up = Signal()  # warm_up() has built everything the first frame left out
    pause_action = Signal(str, str)  # node id, "continue" | "step" | "abort" (breakpoints)

    def __init__(self, window: MainWindow,
                 secrets: Callable[[str], str | None] | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.secrets = secrets  # how a run reads a credential (`Services.secrets`)
        self.controller = RunController(window)
        self.approvals = self.controller.approvals
        self.approvals.parent_widget = lambda: window
        self.bridge = self.controller.bridge
        self.overlay = RunOverlay(window.canvas, window.theme)
        self.alerts = AlertDisplay(window.canvas, window.theme, self)
        self.controller.alert_fired.connect(self.alerts.show_alert)
        self.ask_inputs = ask_inputs
        self.show_error = show_error_text
        self.panels: Any = window.run_panels
        self.folder: Path | None = None  # where the last run's relative paths started
        self.docks: list[Any] = list(self.panels.docks) if self.panels is not None else []
        self.warmed = False  # warm_up() has built everything the first frame left out
        self._panels_start: tuple[Any, str, RunFold] | None = None  # (see _on_started)
        if self.panels is not None:
            self._connect_panels()
            # the canvas's run repaint and the timeline's redraw in different loop turns
            self.overlay.pacer = self.panels.pacer = FramePacer()
        c, o = self.controller, self.overlay
        c.started.connect(self._on_started)
        c.folded.connect(self._on_events)  # the bridge's batches, folded once by the controller
        self.bridge.run_finished.connect(self._on_finished)
        self.approvals.requested.connect(lambda nid: o.set_waiting(nid, True))
        self.approvals.settled.connect(lambda nid: o.set_waiting(nid, False))
        # one click decides; "…" opens a small popover for a comment
        o.approve_clicked.connect(lambda nid, approve: self.approvals.decide(nid, approve))
        o.comment_clicked.connect(self.open_comment)
        self.comment_popover: CommentPopover | None = None
        o.error_clicked.connect(lambda nid, text: self.show_error(window, nid, text))
        o.pause_clicked.connect(self.pause_action)
        window.canvas.viewport().installEventFilter(self)
        self.breakpoints = BreakpointsView(self)  # F9, marks, the Breakpoint panel

    def _connect_panels(self) -> None:
        w = self.window
        self.panels.node_selected.connect(w.reveal_node)
        self.panels.node_hovered.connect(self._on_panel_hover)
        self.panels.replay_requested.connect(self.replay)
        self.panels.set_store_source(self.controller.history_store)
        self._hovered = ""
        from builder.record_view import RecordActions  # History: Replay, Re-run reusing, Diff

        self.record_actions = RecordActions(self)

    def warm_up(self) -> None:
        """Build what the first frame did not need, one piece per event-loop turn, so the
        window stays responsive meanwhile: the run panels, then the history store."""
        steps: list[Callable[[], object]] = []
        if self.panels is not None:
            steps += [lambda attr=attr: self.panels.panel(attr) for attr in self.panels.names]
        steps.append(self.controller.history_store)
        steps.append(self.controller.preload)
        # the open document's fingerprints and content hash, in a thread, for its first run,
        # and the canvas's run layer
        steps.append(lambda: self.controller.prepared.ahead(self.window.document.workflow))
        steps.append(lambda: self.overlay.warm(self.window.document.workflow))

        def step() -> None:
            if steps:
                steps.pop(0)()
                QTimer.singleShot(0, self, step)  # (never after the window is gone)
            else:
                self.warmed = True
                self.warmed_up.emit()

        QTimer.singleShot(0, self, step)

    def set_theme(self, theme: Any) -> None:
        self.overlay.set_theme(theme)
        self.alerts.set_theme(theme)
        if self.panels is not None:
            self.panels.set_theme(theme)

    # --- the document -----------------------------------------------------------------------
    def document_changed(self) -> None:
        """Another document is shown (New, Open, Close, restore): the run state on screen
        belongs to the document that ran, so the canvas, the inspector's Last run and the
        Log/Timeline/Charts panels are cleared (a run still going keeps running unseen)."""
        self._panels_start = None  # (a run's panels not shown yet: not any more)
        self.overlay.clear()
        self.alerts.clear()
        self.controller.forget(self.window.document.workflow)
        if self.warmed:  # (before that, warm_up does it)
            self.controller.prepared.ahead(self.window.document.workflow)
            QTimer.singleShot(0, self, self._warm_overlay)  # (once the canvas shows it)
        if self.panels is not None:
            self.panels.clear_run()
        self.path_changed()

    def _warm_overlay(self) -> None:
        if not self.controller.running:
            self.overlay.warm(self.window.document.workflow)

    def _shows_run(self) -> bool:
        """The open document is the one the current (or last) run was started from."""
        last = self.controller.last
        return last is not None and last.source is self.window.document.workflow

    def path_changed(self, *_args: object) -> None:
        if self.panels is not None:
            document = self.window.document
            self.panels.set_workflow_path(document.path, document.workflow.name)

    # --- runs -------------------------------------------------------------------------------
    def start(self, rerun_from: str | None = None) -> bool:
        """Run ▸ Run (or re-run from a node): refuse with the reason while there are errors or
        the file is not trusted, else start the run. Every way to start a run comes here."""
        w = self.window
        # Validate now unless the list is current (a 1 000-node check costs tens of ms).
        problems = w.problems.check_now() if w.problems.pending() else w.problems.problems
        errors = [p for p in problems if p.is_error]
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            w.statusBar().showMessage(f"Cannot run: {errors[0]}{more} — see Problems")
            w.problems_dock.show()
            w.problems_dock.raise_()
            return False
        if not w.trust.allow_run():
            return False
        refusal = self.run(rerun_from)
        if refusal:
            w.statusBar().showMessage(refusal)
            return False
        return True

    def run(self, rerun_from: str | None = None) -> str | None:
        """Start a run of the open document, no checks; returns why not, or None when it
        started."""
        w = self.window
        document = w.document
        inputs = None
        declared = declared_inputs(document.workflow)
        last = self.controller.last
        reusing = rerun_from is not None and last is not None \
            and last.source is document.workflow
        if declared and not reusing:
            inputs = self.ask_inputs(w, declared)
            if inputs is None:
                return "Run cancelled: no inputs given."
        path = document.path
        self.folder = run_folder(path, getattr(document, "template", None), documents_dir(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)))
        return self.controller.start(document.workflow, w.registry,
                                     self.folder, secrets=self.secrets,
                                     inputs=inputs, rerun_from=rerun_from,
                                     path=Path(path) if path else None)

    def _on_started(self, compiled: Any, run_id: str) -> None:
        if not self._shows_run():
            return
        fold = self.controller.fold
        self.overlay.reset(self.window.document.workflow, fold)
        self.alerts.clear()
        if self.panels is not None:
            # the panels' reset on the loop's next turn: with the canvas's, one step of 25-35
            # ms at a 1 000-node run's start. Before anything else reaches the panels, though
            # (a batch, the run's end, another document): they never see a batch before it.
            self._panels_start = (compiled, run_id, fold)
            asyncio.get_running_loop().call_soon(self._start_panels)

    def _start_panels(self) -> None:
        pending, self._panels_start = self._panels_start, None
        if pending is not None:
            compiled, run_id, fold = pending
            # (the timeline's first paint of the run after the loop's next timers)
            self.panels.paint_later(lambda: self.panels.on_run_started(compiled, run_id,
                                                                        fold=fold))

    def _on_events(self, batch: list[Any], changed: set[str]) -> None:
        if not self._shows_run():  # a run of a document no longer open
            return
        self.overlay.show(changed)
        if self.panels is not None:
            self._start_panels()
            self.panels.on_events(batch)

    def _on_finished(self, result: Any) -> None:
        self._start_panels()
        if not self._shows_run():
            if self.panels is not None and result is not None:
                self.panels.history.refresh()
            return
        if self.panels is not None:
            self.panels.on_run_finished(result)
        if result is not None and result.status == "succeeded":
            self._say_finished()
        inspector = self.window.inspector
        if hasattr(inspector, "refresh_last_run"):
            inspector.refresh_last_run()

    def _say_finished(self) -> None:
        """The success line, fitted beside the status bar's node count (the whole line, and
        where relative outputs went, in its tooltip)."""
        w = self.window
        text = self.controller.last_line or "Run succeeded"
        if w.document.path is None and self.folder is not None:
            text += f" · files in {shown(self.folder)}"
        bar = w.statusBar()
        room = bar.width() - w.status_label.sizeHint().width() - 40
        bar.setToolTip(text)
        bar.showMessage(bar.fontMetrics().elidedText(text, Qt.TextElideMode.ElideMiddle,
                                                     max(room, 80)))

    def replay(self, events: list[Any]) -> None:
        """Show a recorded run (History ▸ open) on the canvas and in the panels: the
        recorded events folded once, into a fold of the replay's own."""
        workflow = self.window.document.workflow
        self._panels_start = None
        fold = RunFold()
        fold.reset(workflow)
        self.overlay.reset(workflow, fold)
        self.overlay.apply(events)
        if self.panels is not None:
            self.panels.play(events, fold=fold)
        finished = next((e for e in reversed(events) if isinstance(e, ev.RunFinished)), None)
        if finished is not None:
            self.window.show_status(f"Showing recorded run {finished.run_id} "
                                    f"({finished.status})")

    # --- a node paused at a breakpoint --------------------------------------------------------
    # Breakpoints (builder/runview/breakpoints.py) plug in here: when the engine pauses a node
    # they call show_paused(node_id, True) — the node is drawn "paused" with Continue / Step /
    # Abort under it — and they listen to `pause_action(node_id, action)` for the click;
    # show_paused(node_id, False) when it goes on (a finished or cancelled node stops showing
    # paused by itself). The pause is part of the run's fold (NodeState.paused).
    def show_paused(self, node_id: str, paused: bool) -> None:
        if self._shows_run():
            self.overlay.set_paused(node_id, paused)

    def _on_panel_hover(self, node_id: str) -> None:
        scene = self.window.canvas.graph_scene
        if self._hovered and self._hovered in scene.nodes:
            scene.highlight_wires(self._hovered, False)
        self._hovered = node_id
        if node_id and node_id in scene.nodes:
            scene.highlight_wires(node_id, True)

    def open_comment(self, node_id: str, scene_pos: Any) -> CommentPopover | None:
        request = self.approvals.request(node_id)
        if request is None:
            return None
        canvas = self.window.canvas
        popover = CommentPopover(
            request.title or request.message or f"Approve {node_id}?",
            lambda approved, comment: self.approvals.decide(node_id, approved, comment),
            canvas)
        popover.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        popover.open_at(canvas.viewport().mapToGlobal(canvas.mapFromScene(scene_pos)))
        self.comment_popover = popover
        return popover

    # --- node actions -----------------------------------------------------------------------
    def selected_node(self) -> str | None:
        ids = self.window.canvas.selected_node_ids()
        return ids[0] if len(ids) == 1 else None

    def rerun_selected(self) -> bool:
        node_id = self.selected_node()
        if node_id is None:
            self.window.show_status("Select one node to re-run from.")
            return False
        return self.start(rerun_from=node_id)

    def review_selected(self, approve: bool) -> bool:
        node_id = self.selected_node()
        if node_id is None or not self.approvals.review(node_id, approve):
            self.window.show_status("No selected node is waiting for approval.")
            return False
        return True

    def node_menu(self, node_id: str) -> QMenu:
        """The run part of a node's context menu."""
        menu = QMenu(self.window)
        rerun = menu.addAction("Re-run from here",
                               lambda: self.start(rerun_from=node_id))
        rerun.setEnabled(not self.controller.running)
        if self.approvals.request(node_id) is not None:
            menu.addAction("Approve…", lambda: self.approvals.review(node_id, True))
            menu.addAction("Reject…", lambda: self.approvals.review(node_id, False))
        self.breakpoints.add_menu_items(menu, Breakpoint(node=node_id))
        view = self.overlay.views.get(node_id)
        if view is not None and view.state == "failed":
            menu.addAction("Show error…",
                           lambda: self.show_error(self.window, node_id, view.error))
        return menu

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.ContextMenu:
            canvas = self.window.canvas
            item = canvas.graph_scene.node_at(canvas.mapToScene(event.pos()))
            if item is not None:
                canvas.select_nodes([item.node_id])
                self.node_menu(item.node_id).exec(event.globalPos())
                return True
        return False
