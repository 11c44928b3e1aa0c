"""The run panels: Log, Timeline, Charts, History and Analytics docks, fed by run events.

`RunPanels` owns the five QDockWidgets (`.docks`, objectNames LogDock, TimelineDock, ChartsDock,
HistoryDock, AnalyticsDock) and routes run events to them; the main window adds the docks and
connects the signals. Live runs and replays feed the same calls:

    panels.on_run_started(compiled, run_id, fold=fold)   # fold: the run's engine.runfold.RunFold
    panels.on_events(batch)          # lists of engine events (the bridge's coalesced batches)
    panels.on_run_finished(result)   # RunResult (None for a replay)

Timeline and Charts read the run's fold (the run view's, fed once by its controller; without
one, a fold of their own that `on_events` feeds). Events only update the panels' models; one
timer (REFRESH_MS) redraws the timeline and charts in place, so drawing never runs once per
event. Signals: `node_selected(str)` (a log line or a bar clicked), `node_hovered(str)` (""
when the pointer leaves a bar), `replay_requested(list)` (events rebuilt from a recorded run,
see replay.py).

The docks exist from the start (so a saved layout restores and their tabs show in the first
frame), but each panel is built the first time something needs it: its dock is shown, a run
feeds it, a caller reads `panels.log` and the like, or `build()` warms them all up after the
window's first frame. Building imports pyqtgraph and numpy (and History/Analytics read the run
history), which the first frame never needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QWidget

from builder.theme import Theme, dark_theme
from engine import events as ev
from engine.runfold import RunFold

if TYPE_CHECKING:  # pragma: no cover - typing only; the modules load when a panel is built
    from builder.panels.analytics import AnalyticsPanel
    from builder.panels.charts import ChartsPanel
    from builder.panels.history import HistoryPanel
    from builder.panels.runlog import LogPanel
    from builder.panels.timeline import TimelinePanel

REFRESH_MS = 50  # the redraw timer while a run is live (20 Hz; events arrive at <= 60 Hz)
PACED_RETRY_MS = 8  # a live redraw the pacer refused is tried again this much later
SLOWEST_REFRESH_MS = 250  # big runs: the interval grows with the bars drawn, up to this
# attribute, dock title, dock objectName, module and class of each panel, in tab order
PANELS = (("log", "Log", "LogDock", "runlog", "LogPanel"),
          ("timeline", "Timeline", "TimelineDock", "timeline", "TimelinePanel"),
          ("charts", "Charts", "ChartsDock", "charts", "ChartsPanel"),
          ("history", "History", "HistoryDock", "history", "HistoryPanel"),
          ("analytics", "Analytics", "AnalyticsDock", "analytics", "AnalyticsPanel"))

__all__ = ["REFRESH_MS", "RunPanels"]


class RunPanels(QObject):
    node_selected = Signal(str)
    node_hovered = Signal(str)
    replay_requested = Signal(list)
    # the History panel's run-record actions (engine/record/; builder/record_view.py)
    replay_run_requested = Signal(str)
    reuse_requested = Signal(str)
    diff_requested = Signal(str, str)
    names = tuple(row[0] for row in PANELS)

    def __init__(self, parent: QWidget | None = None, theme: Theme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or dark_theme()
        self.compiled: Any = None
        self.fold = RunFold()
        self._own_fold = True
        self.run_id: str | None = None
        self.result: Any = None
        self.workflow_path: str | None = None
        self.workflow_title = ""  # the open document's title (its runs while unsaved)
        self.store: Any = None
        # what opens the history when History or Analytics is first built (`set_store_source`)
        self._store_source: Callable[[], Any] | None = None
        self._panels: dict[str, QWidget] = {}
        self._stale: set[str] = set()  # panels behind another tab, redrawn when shown
        # batches the Log has not shown yet: while its tab is behind another, appending rows
        # to its table (filter proxy, layout) cost 10-40 ms per batch in a 1 000-node run
        self._log_backlog: list[Any] = []
        self.docks: list[QDockWidget] = []
        for attr, title, name, _module, _cls in PANELS:
            self._add_dock(attr, title, name, parent)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self._tick)
        # the live redraw's pacer (builder/runview/pacer.py), shared with the canvas's run
        # repaint so the two never paint in one loop turn; None: redraw at every tick
        self.pacer: Any = None
        self._retry = QTimer(self)  # refused by the pacer: again a little later
        self._retry.setSingleShot(True)
        self._retry.setInterval(PACED_RETRY_MS)
        self._retry.timeout.connect(self._tick)

    def _add_dock(self, attr: str, title: str, name: str, parent: QWidget | None) -> None:
        dock = QDockWidget(title, parent)
        dock.setObjectName(name)
        dock.setWidget(QWidget())  # the panel replaces it when first needed
        dock.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        dock.visibilityChanged.connect(lambda shown: shown and self._on_shown(attr))
        self.docks.append(dock)

    def _on_shown(self, attr: str) -> None:
        widget = self.panel(attr)
        if attr == "log":
            self._feed_log()
        if attr in self._stale:
            self._stale.discard(attr)
            widget.refresh()

    def _hidden(self, attr: str) -> bool:
        """True while the panel's dock is out of sight in a shown window (e.g. a tab behind
        another): redrawing it then only costs the live view its frames."""
        dock = self.docks[self.names.index(attr)]
        # (a tab behind another stays isVisible(); what is on screen is its visible region)
        return dock.window().isVisible() and dock.visibleRegion().isEmpty()

    def _refresh(self, attr: str) -> None:
        if attr not in self._panels:
            return  # built later, it reads everything then
        if self._hidden(attr):
            self._stale.add(attr)
        else:
            self._panels[attr].refresh()

    # --- panels, built on first use -----------------------------------------------------
    def panel(self, attr: str) -> QWidget:
        """The panel named `attr` ("log", "timeline", …), built now if it was not yet."""
        built = self._panels.get(attr)
        if built is not None:
            return built
        index, (_attr, _title, _name, module, cls) = next(
            (i, row) for i, row in enumerate(PANELS) if row[0] == attr)
        widget = getattr(importlib.import_module(f"builder.panels.{module}"), cls)(self.theme)
        self._panels[attr] = widget
        self.docks[index].setWidget(widget)
        if attr in ("log", "timeline"):
            widget.node_selected.connect(self.node_selected)
        if attr == "timeline":
            widget.node_hovered.connect(self.node_hovered)
        if attr == "history":
            widget.replay_requested.connect(self.replay_requested)
            widget.replay_run_requested.connect(self.replay_run_requested)
            widget.reuse_requested.connect(self.reuse_requested)
            widget.diff_requested.connect(self.diff_requested)
        if attr in ("history", "analytics"):
            if self.store is None and self._store_source is not None:
                self.store, self._store_source = self._store_source(), None
            widget.workflow_path = self.workflow_path
            widget.workflow_title = self.workflow_title
            widget.set_store(self.store)
        return widget

    def build(self) -> None:
        """Build every panel now (the window calls it right after its first frame)."""
        for attr, *_rest in PANELS:
            self.panel(attr)

    def built(self, attr: str) -> bool:
        return attr in self._panels

    @property
    def log(self) -> LogPanel:
        panel = self.panel("log")
        if self._log_backlog:
            self._feed_log()
        return panel

    def _feed_log(self) -> None:
        """The batches kept while the Log was out of sight, in one append."""
        if self._log_backlog:
            backlog, self._log_backlog = self._log_backlog, []
            self.panel("log").feed(backlog)

    @property
    def timeline(self) -> TimelinePanel:
        return self.panel("timeline")

    @property
    def charts(self) -> ChartsPanel:
        return self.panel("charts")

    @property
    def history(self) -> HistoryPanel:
        return self.panel("history")

    @property
    def analytics(self) -> AnalyticsPanel:
        return self.panel("analytics")

    def dock(self, name: str) -> QDockWidget:
        """The dock with this objectName (e.g. "TimelineDock")."""
        return next(d for d in self.docks if d.objectName() == name)

    # --- run lifecycle ------------------------------------------------------------------
    def on_run_started(self, compiled: Any, run_id: str | None = None, *,
                       live: bool = True, fold: RunFold | None = None) -> None:
        """A new run begins (live=False for a replay: no CPU/memory sampling): clear the
        run panels; they read `fold` (None: a fold of their own, fed by `on_events`)."""
        self.compiled, self.run_id, self.result = compiled, run_id, None
        if fold is None:
            fold = RunFold()
            fold.reset(compiled.workflow if compiled is not None else None)
            self._own_fold = True
        else:
            self._own_fold = False
        self.fold = fold
        self._log_backlog = []
        self.log.reset(compiled)
        self.panel("timeline").reset(compiled, fold)
        # (a chart behind another tab is redrawn when shown: its four curves and ranges cost
        # the run's start ~8 ms)
        self.panel("charts").reset(compiled, live=live, fold=fold, redraw=False)
        self._refresh("charts")
        self.timer.start(REFRESH_MS)

    def set_theme(self, theme: Theme) -> None:
        """Another theme (View ▸ Theme, or the system's): every panel in its colours."""
        self.theme = theme
        # only panels already built: one built later takes self.theme
        for attr in ("log", "timeline", "charts", "analytics"):
            if attr in self._panels:
                self._panels[attr].set_theme(theme)
        if "history" in self._panels:
            self._panels["history"].theme = theme
            self._panels["history"].refresh()

    def clear_run(self) -> None:
        """No run is shown (another document opened): Log, Timeline and Charts empty."""
        self.timer.stop()
        self._retry.stop()
        self.compiled, self.run_id, self.result = None, None, None
        # only panels already built: one built later starts empty anyway
        self._log_backlog = []
        if "log" in self._panels:
            self._panels["log"].reset(None)
        if "timeline" in self._panels:
            self._panels["timeline"].reset(None)
        if "charts" in self._panels:
            self._panels["charts"].reset(None, live=False)
        self.refresh()

    def on_events(self, batch: list[Any]) -> None:
        """One batch of engine events (models only; the timer redraws)."""
        if not batch:
            return
        if self._own_fold:
            self.fold.feed(batch)
        if "log" in self._panels and self._hidden("log"):
            self._log_backlog.extend(batch)
        else:
            self.log.feed(batch)
        self.panel("timeline").feed(batch)
        self.panel("charts").feed(batch)
        if any(isinstance(e, ev.RunFinished) for e in batch):
            self.timer.stop()
            self._retry.stop()
            # the final redraw (the whole run in view, the critical path), on the loop's next
            # turn: this batch comes in the engine's last step, with every subscriber's end
            QTimer.singleShot(0, self, self._final_refresh)

    def _final_refresh(self) -> None:
        if self.fold.finished is not None:  # (not a new run started meanwhile)
            self.paint_later(self.refresh)

    def on_run_finished(self, result: Any) -> None:
        """The run's RunResult (or None): final redraw, history refreshed."""
        self.result = result
        self.timer.stop()
        self._retry.stop()
        self.panel("charts").finish(result)
        self.refresh()
        if result is not None:  # a live run was recorded: the lists and numbers moved on
            self._refresh("history")
            self._refresh("analytics")

    def _tick(self) -> None:
        """The live redraw timer: a redraw, unless the canvas has just repainted (then soon)."""
        if self.pacer is not None and not self.pacer.claim("panels"):
            self._retry.start()
            return
        self.paint_later(self.refresh)

    def paint_later(self, redraw: Callable[[], None]) -> None:
        """`redraw()`, with the timeline's paint (5-20 ms when an axis is laid out again) after
        the loop's next timers, not straight after this turn's: Qt paints in a turn's posted
        events, before any timer, so a late tick waited for the redraw and its paint."""
        view = self._panels["timeline"].plot if "timeline" in self._panels else None
        held = view is not None and view.updatesEnabled()
        if held:
            view.setUpdatesEnabled(False)
        try:
            redraw()
        finally:
            if held:
                QTimer.singleShot(0, view, lambda: view.setUpdatesEnabled(True))

    def refresh(self) -> None:
        """Redraw what changed (the timer calls this; tests may call it directly); a panel out
        of sight is redrawn when it is shown."""
        self._refresh("timeline")
        self._refresh("charts")
        # a redraw costs about 1 ms per 150 bars: a 1 000-node run redraws at 4 Hz, so the
        # panels take a small share of each second instead of several ms every 50 ms
        timeline = self._panels.get("timeline")  # reading it must not build it
        bars = len(timeline.model.bars) if timeline is not None else 0
        self.timer.setInterval(min(SLOWEST_REFRESH_MS, REFRESH_MS + bars // 5))

    # --- context ------------------------------------------------------------------------
    def set_workflow_path(self, path: str | Path | None, title: str = "") -> None:
        """The open document's file (None while unsaved) and title: History and Analytics
        show its runs."""
        self.workflow_path = str(path) if path else None
        self.workflow_title = title
        for attr in ("history", "analytics"):  # a panel not built yet reads it when it is
            if attr in self._panels:
                self._panels[attr].set_workflow_path(self.workflow_path, title)

    def set_history_store(self, store: Any) -> None:
        """The engine.history HistoryStore the editor records into (None: no history)."""
        self.store = store
        for attr in ("history", "analytics"):
            if attr in self._panels:
                self._panels[attr].set_store(store)

    def set_store_source(self, source: Callable[[], Any]) -> None:
        """`source()` opens the history store the first time History or Analytics is built
        (opening it imports SQLAlchemy: not something to do before it is needed)."""
        self._store_source = source

    def play(self, events: list[Any], compiled: Any = None,
             fold: RunFold | None = None) -> None:
        """Show a whole recorded run at once (e.g. the events of `replay_requested`); `fold`
        is the replay's fold when the caller has folded `events` already."""
        compiled = compiled if compiled is not None else self.compiled
        run_id = next((e.run_id for e in events if isinstance(e, ev.RunStarted)), None)
        self.on_run_started(compiled, run_id, live=False, fold=fold)
        self.on_events(events)
        self.on_run_finished(None)

    def set_highlight(self, node_id: str) -> None:
        """Outline a node's bars (e.g. while the canvas hovers that node)."""
        self.timeline.set_highlight(node_id)
