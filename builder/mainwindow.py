"""The editor window: canvas in the middle, palette (left), inspector (right), problems (bottom).

It wires the parts together and owns nothing of the model: the `Session` (builder/document.py)
holds the document and the File operations, the canvas shows and edits the workflow through undo
commands, the inspector and problems panel follow the same workflow. Menus and the toolbar are
built in builder/actions.py. Dock layout, window geometry, theme and snapping are kept in
QSettings; Run refuses with the reason while the problems panel lists errors.

Start-up shows the window first: what its first frame does not show (the run view with the
engine's run modules, the run panels' contents, the run history, the compiler, the first
validation) is built right after that frame (`_after_first_frame`), or earlier where something
asks for it: `window.run_view` builds the run view when first read, and `window.runner` is a
stand-in until then (builder/runview/pending.py) that builds it for anything but the settings
it keeps and `running`.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QWidget,
)

from builder import actions
from builder.canvas import Canvas
from builder.dialogs import Prompts
from builder.document import Document, Session
from builder.firstframe import FirstFrame
from builder.host_limits import host_slots_for
from builder.inspector import Inspector
from builder.palette import Palette
from builder.problems import ProblemsPanel
from builder.runview.pending import PendingRunner
from builder.start_page import StartPage
from builder.style import MODES, apply_theme, stylesheet, theme_for
from builder.trust_banner import TrustGate
from builder.welcome import WelcomeCard
from nodes import default_registry
from nodes.credentials import CredentialStore

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.panels import RunPanels
    from builder.runview import RunView
    from builder.shortcuts_dialog import ShortcutsDialog

log = logging.getLogger(__name__)

APP_NAME = "Flowloom"
STATUS_MS = 6000
FIRST_START_KEY = "templates/first_start_done"
DEFAULT_SIZE = (1400, 860)  # the window of a first start (no saved geometry)
OFFSCREEN = ("offscreen", "minimal")  # platforms without a real screen to fit
# The docks' default share of the window (width for the side docks, height for the bottom
# one) and its bounds in pixels: at 1400x860 about what it always was (230, 310, 230); in a
# 1024x700 window the canvas keeps over half of each side.
PALETTE_SHARE, INSPECTOR_SHARE, BOTTOM_SHARE = 0.165, 0.22, 0.26
PALETTE_PX, INSPECTOR_PX, BOTTOM_PX = (170, 260), (210, 330), (110, 250)
PANELS_AVAILABLE = importlib.util.find_spec("builder.panels") is not None  # optional package
# Where a file keeps its breakpoints: engine/breakpoints.py's UI_KEY and BREAKPOINTS_KEY, read
# here so that a start need not import the run path to know (a test holds them equal).
BREAKPOINTS_AT = ("ui", "breakpoints")


def default_dock_sizes(width: int, height: int, run_panels: bool) -> tuple[int, int, int]:
    """(palette width, inspector width, bottom dock height) for a window of `width` x
    `height`; the bottom dock is lower without the run panels' tabs."""
    def share(total: int, part: float, bounds: tuple[int, int]) -> int:
        return int(max(bounds[0], min(bounds[1], total * part)))

    bottom = share(height, BOTTOM_SHARE, BOTTOM_PX) if run_panels else BOTTOM_PX[0] + 10
    return (share(width, PALETTE_SHARE, PALETTE_PX), share(width, INSPECTOR_SHARE, INSPECTOR_PX),
            bottom)


def first_size(available: tuple[int, int] | None) -> tuple[int, int]:
    """The window's size on a first start: DEFAULT_SIZE, shrunk to fit a smaller screen's
    `available` (width, height) with room left for the window's frame and title bar."""
    if available is None:
        return DEFAULT_SIZE
    room_w, room_h = int(available[0] * 0.96), int(available[1] * 0.92)
    return min(DEFAULT_SIZE[0], room_w), min(DEFAULT_SIZE[1], room_h)


def credential_names() -> list[str]:
    """Names (never values) of the stored credentials, for the inspector's secret fields."""
    try:
        return CredentialStore().list()
    except Exception as exc:  # a broken keyring must not break the inspector
        log.warning("cannot list credentials: %s", exc)
        return []


def read_secret(name: str) -> str | None:
    """What a run reads a credential with (`Services.secrets`)."""
    return CredentialStore().get(name)


def _history_path() -> Path:
    """Where the editor's runs are recorded (the Services panel checks it can be written)."""
    from engine.history.store import default_path  # imports SQLAlchemy's part lazily

    return default_path()


def carries_breakpoints(workflow: Any) -> bool:
    """The workflow's file lists breakpoints (their marks are drawn by the run view)."""
    ui = getattr(workflow, "extra", {}).get(BREAKPOINTS_AT[0])
    return isinstance(ui, dict) and bool(ui.get(BREAKPOINTS_AT[1]))


def _last_run_widget(runner: Any, node_id: str) -> QWidget | None:
    """The inspector's Last run box for `node_id` (none before the run view is built: no run
    has happened then)."""
    if isinstance(runner, PendingRunner) and not runner.built:
        return None
    from builder.runview.lastrun import last_run_widget

    return last_run_widget(runner.node_record(node_id))


class MainWindow(QMainWindow):
    warmed_up = Signal()  # the run view is built and has built what the first frame left out

    def __init__(self, registry: Any = None, settings: QSettings | None = None,
                 prompts: Prompts | None = None, recover: bool = True,
                 theme_mode: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.registry = registry if registry is not None else default_registry()
        self.settings = settings if settings is not None else QSettings(APP_NAME, APP_NAME)
        self.session = Session(self.registry, self.settings, prompts, window=self)
        self.other_windows: list[MainWindow] = []
        self.recovery_checked = False  # offer_recovery() has looked for crashed sessions' work
        self.theme_mode = theme_mode or str(self.settings.value("theme", "system"))
        if self.theme_mode not in MODES:
            self.theme_mode = "system"
        self.theme = theme_for(self.theme_mode)
        # The style sheet before any widget: set afterwards, it re-polishes every one of them.
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, self.theme)
        document = self.session.document

        self.canvas = Canvas(document.workflow, self.registry, document.undo_stack, self.theme)
        self.first_frame = FirstFrame(self.canvas.viewport())
        self.first_frame.painted.connect(self._after_first_frame)
        self._shown = document.workflow  # the workflow the canvas shows
        self.setCentralWidget(self.canvas)
        self.palette = Palette(self.registry, category_colors=self.theme.categories,
                               text_color=self.theme.text_dim)
        self.inspector = Inspector(credential_names)
        self.problems = ProblemsPanel()
        self.palette_dock = self._dock("Palette", self.palette,
                                       Qt.DockWidgetArea.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", self.inspector,
                                         Qt.DockWidgetArea.RightDockWidgetArea)
        self.problems_dock = self._dock("Problems", self.problems,
                                        Qt.DockWidgetArea.BottomDockWidgetArea)
        self.services_dock: QDockWidget | None = None  # View → Services, built when first shown
        self._size_docks_when_shown = False  # no saved layout: default dock sizes at the show
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks
                            | QMainWindow.DockOption.GroupedDragging)
        # The bottom area takes more panels later (Timeline, Charts, Log, History) as tabs.
        self.setTabPosition(Qt.DockWidgetArea.BottomDockWidgetArea, QTabWidget.TabPosition.North)
        # The run panels' docks are in the first frame (their tabs; a saved layout places
        # them); the panels in them are built later. The live run's owner (controller, fold,
        # overlay, approvals: `run_view`) comes after the first frame, `runner` stands in.
        self.run_panels: RunPanels | None = self._add_run_panels() if PANELS_AVAILABLE else None
        self._run_view: RunView | None = None
        self.runner: Any = PendingRunner(self._build_run_view)
        self.runner.host_slots = host_slots_for(self.settings)  # LLM host limits, app-wide
        self.status_label = QLabel()
        self.status_label.setProperty("role", "dim")
        self.statusBar().addPermanentWidget(self.status_label)
        self.acts = actions.build(self)
        self.trust = TrustGate(self)  # banner, code marks and the run gate for untrusted files
        self.welcome = WelcomeCard(self, self.new_from_template,
                                   lambda: self.acts["guide"].trigger())
        self.start_page = StartPage(self)  # while no workflow is open
        # one fit a loop turn, however many documents were attached in it (a start that opens
        # a file attaches the empty one first: two fits over a big file's items cost ~30 ms)
        self._fit_soon = QTimer(self)
        self._fit_soon.setSingleShot(True)
        self._fit_soon.setInterval(0)
        self._fit_soon.timeout.connect(lambda: self.canvas.fit_all())
        self._connect()
        self._attach(document)
        self._themed = False  # every part above was built in self.theme (see apply_theme)
        self.apply_theme(self.theme_mode)
        snap = self.settings.value("snap_to_grid", True)
        self.acts["snap"].setChecked(snap in (True, "true"))
        self.setAcceptDrops(True)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)
        screen = self.screen()  # (an offscreen platform's screen is a made-up 800 x 600)
        real = screen is not None and QGuiApplication.platformName() not in OFFSCREEN
        area = screen.availableGeometry() if real else None
        self.resize(*first_size((area.width(), area.height()) if area is not None else None))
        self._restore_layout()
        if recover:
            QTimer.singleShot(0, self.offer_recovery)
        if settings is None:  # the user's own settings: Hello Flowloom opens on the first start
            QTimer.singleShot(0, self.offer_first_start)

    # --- construction ----------------------------------------------------------------------
    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower()}_dock")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _add_run_panels(self) -> RunPanels:
        from builder.panels import RunPanels

        panels = RunPanels(self, self.theme)
        for dock in panels.docks:
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            self.tabifyDockWidget(self.problems_dock, dock)
        self.problems_dock.raise_()
        return panels

    @property
    def run_docks(self) -> list[QDockWidget]:
        """The run panels' docks (Log, Timeline, Charts, History, Analytics)."""
        return list(self.run_panels.docks) if self.run_panels is not None else []

    @property
    def run_view(self) -> RunView:
        """The live run's owner, built when first read (after the first frame, or earlier for
        a run started before it)."""
        if self._run_view is None:
            self._build_run_view()
        return self._run_view

    def _build_run_view(self) -> RunView:
        if self._run_view is not None:
            return self._run_view
        from builder.runview.view import RunView

        view = self._run_view = RunView(self, secrets=read_secret)
        pending, self.runner = self.runner, view.controller
        pending.hand_over(view.controller)
        self.runner.status.connect(lambda text: self.statusBar().showMessage(text))
        self.runner.running_changed.connect(self._on_running)
        view.warmed_up.connect(self.warmed_up)
        document = self.document
        document.path_changed.connect(view.path_changed)  # (later documents: _attach)
        view.document_changed()
        if self.settings.value("window/state") is not None:  # placed as it was saved
            self.restoreDockWidget(view.breakpoints.dock)
        return view

    def _default_dock_sizes(self) -> None:
        """The docks' default sizes, in proportion to the window (`default_dock_sizes`)."""
        palette, inspector, bottom = default_dock_sizes(self.width(), self.height(),
                                                        bool(self.run_docks))
        self.resizeDocks([self.palette_dock, self.inspector_dock], [palette, inspector],
                         Qt.Orientation.Horizontal)
        self.resizeDocks([self.problems_dock], [bottom], Qt.Orientation.Vertical)

    def _connect(self) -> None:
        s = self.session
        s.document_replaced.connect(self._attach)
        s.message.connect(self.show_status)
        s.recent_changed.connect(lambda: actions.fill_recent(self))
        self.canvas.selection_changed.connect(self.inspector.show_selection)
        self.canvas.status_message.connect(self.show_status)
        self.canvas.node_double_clicked.connect(self._focus_inspector)
        self.problems.problems_changed.connect(self._on_problems)
        self.problems.node_requested.connect(self.reveal_node)
        self.palette.node_activated.connect(self.add_node_in_view)
        self.inspector.last_run = lambda node_id: _last_run_widget(self.runner, node_id)

    def _attach(self, document: Document) -> None:
        """Show `document` everywhere (the session just put it in place)."""
        if self._shown is not document.workflow:
            self.canvas.set_workflow(document.workflow, document.undo_stack)
            self._shown = document.workflow
        self.inspector.set_document(document.workflow, self.registry, document.undo_stack)
        # Before the first frame the check waits for it (validating compiles the workflow).
        self.problems.set_document(document.workflow, self.registry,
                                   check=self.first_frame.painted_at is not None)
        stack = document.undo_stack
        stack.canUndoChanged.connect(self._update_undo)
        stack.canRedoChanged.connect(self._update_undo)
        stack.undoTextChanged.connect(self._update_undo)
        stack.redoTextChanged.connect(self._update_undo)
        document.modified_changed.connect(self._update_title)
        if self._run_view is not None:  # (else it follows the document when it is built)
            document.path_changed.connect(self._run_view.path_changed)  # Save As, not edits
            self._run_view.document_changed()
        elif carries_breakpoints(document.workflow):  # their marks belong in the first frame
            self._build_run_view()
        elif self.run_panels is not None:
            self.run_panels.clear_run()
            self.run_panels.set_workflow_path(document.path, document.workflow.name)
        self.trust.document_changed(document)
        self._update_undo()
        self._update_title()
        self._fit_soon.start()

    def _after_first_frame(self) -> None:
        # next turns: the frame's listeners first, then the run view (its import and build are
        # one step), then what it warms up a step at a time
        QTimer.singleShot(0, self, self._check_first)
        QTimer.singleShot(0, self, lambda: self.run_view.warm_up())

    def _check_first(self) -> None:
        if self.problems.pending():
            self.problems.check_now()

    # --- state shown -----------------------------------------------------------------------
    @property
    def document(self) -> Document:
        return self.session.document

    def _update_title(self, *_args: object) -> None:
        marker = " •" if self.document.modified else ""
        self.setWindowTitle(f"{self.document.display_name}{marker} — {APP_NAME}")
        self.acts["save"].setEnabled(True)

    def _update_undo(self, *_args: object) -> None:
        stack = self.document.undo_stack
        for key, can, text in (("undo", stack.canUndo(), stack.undoText()),
                               ("redo", stack.canRedo(), stack.redoText())):
            action = self.acts[key]
            action.setEnabled(can)
            label = key.capitalize() + (f" {text}" if text else "")
            action.setText(label)
            action.setToolTip(actions.tooltip(label, action))

    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, STATUS_MS)

    def _on_problems(self, problems: list) -> None:
        self.canvas.set_problems(problems)
        errors = sum(1 for p in problems if p.is_error)
        warnings = len(problems) - errors
        self.status_label.setText(f"{len(self.document.workflow.nodes)} nodes · "
                                  + (f"{errors} error{'s' * (errors != 1)}" if errors else
                                     "no errors")
                                  + (f", {warnings} warning{'s' * (warnings != 1)}"
                                     if warnings else ""))

    def _on_running(self, running: bool) -> None:
        self.acts["run"].setEnabled(not running)
        self.acts["rerun_from"].setEnabled(not running)
        self.acts["stop"].setEnabled(running)

    # --- actions ---------------------------------------------------------------------------
    def reveal_node(self, node_id: str) -> None:
        self.canvas.select_nodes([node_id])
        self.canvas.center_on_node(node_id)

    def add_node_in_view(self, type_id: str) -> str:
        centre = self.canvas.mapToScene(self.canvas.viewport().rect().center())
        return self.canvas.add_node_at(type_id, centre)

    def _focus_inspector(self, node_id: str) -> None:
        self.inspector_dock.show()
        self.inspector_dock.raise_()
        self.inspector.show_node(node_id)

    def run_workflow(self, rerun_from: str | None = None) -> bool:
        """Run ▸ Run: the run view decides and starts it (`RunView.start`), on every item of
        the canvas (a big file's wires may still be coming)."""
        self.canvas.finish_build()
        return self.run_view.start(rerun_from)

    def stop_workflow(self) -> None:
        self.runner.stop()

    def open_path(self, path: str | Path) -> bool:
        return self.session.open(path)

    def new_from_template(self) -> bool:
        """File ▸ New from Template…: the gallery; "Use" opens an unsaved copy here."""
        from builder.gallery import GalleryDialog, open_template  # not start-up work
        from builder.templates import find_templates

        dialog = GalleryDialog(find_templates(), self)
        if dialog.exec() != GalleryDialog.DialogCode.Accepted or dialog.chosen is None:
            return False
        return open_template(self.session, dialog.chosen)

    def offer_first_start(self) -> bool:
        """On the first start (no settings key yet), show Hello Flowloom in the empty window."""
        if self.settings.value(FIRST_START_KEY) is not None:
            if self.document.workflow.nodes:  # its steps speak of "this workflow": not over
                self.welcome.offer()  # an empty canvas (the start page is for that), until
            self.start_page.refresh()  # the person dismisses it
            return False
        self.settings.setValue(FIRST_START_KEY, True)
        from builder.gallery import open_template  # (only on the first start)
        from builder.templates import FIRST_TEMPLATE, find_templates

        document = self.document
        if document.path is not None or document.modified or document.workflow.nodes:
            return False  # a file was opened or work restored: leave it
        hello = next((t for t in find_templates() if t.slug == FIRST_TEMPLATE), None)
        if hello is None or not open_template(self.session, hello, modified=False):
            return False
        self.welcome.offer()  # stays until dismissed (a status message was gone in 6 s)
        self.start_page.refresh()
        return True

    def set_snap(self, on: bool) -> None:
        self.canvas.set_snap_to_grid(on)
        self.settings.setValue("snap_to_grid", on)

    def apply_theme(self, mode: str) -> None:
        action = self.acts.get(f"theme_{mode}")
        if action is not None and not action.isChecked():
            action.setChecked(True)  # its toggled signal applies the theme: once, not twice
            return
        self.theme_mode = mode
        if self._themed:  # (the window's own construction drew everything in self.theme)
            self.theme = theme_for(mode)
            app = QApplication.instance()
            if app is not None and app.styleSheet() != stylesheet(self.theme):
                apply_theme(app, self.theme)
            self.canvas.set_theme(self.theme)
            self.welcome.set_theme(self.theme)
            if self._run_view is not None:  # the canvas overlay and the run panels
                self._run_view.set_theme(self.theme)
            elif self.run_panels is not None:  # (the overlay is made in the theme then)
                self.run_panels.set_theme(self.theme)
            self.palette.set_colors(self.theme.categories, self.theme.text_dim)
        self._themed = True
        self.problems.set_colors(self.theme.problem, self.theme.state_color("waiting"))
        if self.services_dock is not None:
            self.services_dock.widget().set_colors(self.theme.state_color("succeeded"),
                                                   self.theme.state_color("failed"))
        actions.tint_icons(self)
        self.settings.setValue("theme", mode)

    def _on_scheme_changed(self, *_args: object) -> None:
        if self.theme_mode == "system":  # following the platform: follow it live
            self.apply_theme("system")

    def show_shortcuts(self) -> ShortcutsDialog:
        from builder.shortcuts_dialog import ShortcutsDialog

        dialog = ShortcutsDialog(actions.listed(self), self)
        dialog.show()
        return dialog

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {APP_NAME}",
                          f"<b>{APP_NAME}</b><br>Draw a workflow, run it locally, watch it live."
                          f"<br><br>{len(self.registry)} node types available.")

    def reset_layout(self) -> None:
        for dock, area in ((self.palette_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
                           (self.inspector_dock, Qt.DockWidgetArea.RightDockWidgetArea),
                           (self.problems_dock, Qt.DockWidgetArea.BottomDockWidgetArea)):
            dock.setFloating(False)
            self.addDockWidget(area, dock)
            dock.show()
        for dock in self.run_docks:
            dock.setFloating(False)
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            self.tabifyDockWidget(self.problems_dock, dock)
        self.problems_dock.raise_()
        self._default_dock_sizes()

    # --- recovery --------------------------------------------------------------------------
    def offer_recovery(self) -> None:
        """Offer the work of sessions that crashed; extra ones open in windows of their own."""
        for recovery in self.session.offer_recovery():
            window = MainWindow(self.registry, self.settings, self.session.prompts,
                                recover=False, theme_mode=self.theme_mode)
            window.runner.host_slots = self.runner.host_slots  # one limit for every window
            if window.session.restore(recovery):
                window.show()
                self.other_windows.append(window)
        self.recovery_checked = True

    # --- layout persistence, close, file drops ---------------------------------------------
    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)
        else:  # docks only take sizes once the window is laid out; again at the first show,
            self._default_dock_sizes()  # when it has its size on the screen (a small screen's
            QTimer.singleShot(0, self._default_dock_sizes)  # window manager may shrink it)
            self._size_docks_when_shown = True

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()

    def show_services(self) -> QDockWidget:
        """View → Services: `flowloom doctor`'s checks for the open workflow, refreshed."""
        if self.services_dock is None:
            from builder.panels.services import ServicesPanel  # not on the start-up path

            panel = ServicesPanel(self.registry, lambda: self.session.document.workflow,
                                  read_secret, _history_path)
            panel.set_colors(self.theme.state_color("succeeded"),
                             self.theme.state_color("failed"))
            self.services_dock = self._dock("Services", panel,
                                            Qt.DockWidgetArea.BottomDockWidgetArea)
            self.tabifyDockWidget(self.problems_dock, self.services_dock)
        self.services_dock.show()
        self.services_dock.raise_()
        return self.services_dock

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._size_docks_when_shown:
            self._size_docks_when_shown = False
            self._default_dock_sizes()
            QTimer.singleShot(0, self._default_dock_sizes)
            # and once the run panels exist: their tabs join the bottom dock after the first
            # frame, and Qt grew it to their plots' size hints (250 px in a 736 px window)
            self.warmed_up.connect(self._default_dock_sizes,
                                   Qt.ConnectionType.SingleShotConnection)
        self.start_page.window_shown()  # (built now: a start that opens a file never shows it)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.runner.running:
            self.runner.stop()
        if not self.session.shutdown():
            event.ignore()
            return
        if self.services_dock is not None:
            self.services_dock.widget().stop()
        self.save_layout()
        event.accept()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if _dropped_file(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        path = _dropped_file(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        QTimer.singleShot(0, lambda: self.open_path(path))  # not inside the drag's event


def _dropped_file(event: QDropEvent | QDragEnterEvent) -> str | None:
    mime = event.mimeData()
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile() and url.toLocalFile().lower().endswith(".json"):
            return url.toLocalFile()
    return None
