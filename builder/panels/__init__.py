"""The run panels: Log, Timeline, Charts, History and Analytics docks, fed by run events.

`RunPanels` owns the five QDockWidgets (`.docks`, objectNames LogDock, TimelineDock, ChartsDock,
HistoryDock, AnalyticsDock) and routes run events to them; the main window adds the docks and
connects the signals. Live runs and replays feed the same calls:

    panels.on_run_started(compiled, run_id)
    panels.on_events(batch)          # lists of engine events (the bridge's coalesced batches)
    panels.on_run_finished(result)   # RunResult (None for a replay)

Events only update the panels' models; one timer (REFRESH_MS) redraws the timeline and charts
in place, so drawing never runs once per event. Signals: `node_selected(str)` (a log line or a
bar clicked), `node_hovered(str)` ("" when the pointer leaves a bar), `replay_requested(list)`
(events rebuilt from a recorded run, see replay.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QWidget

from builder.panels.analytics import AnalyticsPanel
from builder.panels.charts import ChartsPanel
from builder.panels.history import HistoryPanel
from builder.panels.runlog import LogPanel
from builder.panels.timeline import TimelinePanel
from builder.theme import Theme, dark_theme
from engine import events as ev

REFRESH_MS = 50  # the redraw timer while a run is live (20 Hz; events arrive at <= 60 Hz)
SLOWEST_REFRESH_MS = 250  # big runs: the interval grows with the bars drawn, up to this

__all__ = ["REFRESH_MS", "RunPanels"]


class RunPanels(QObject):
    node_selected = Signal(str)
    node_hovered = Signal(str)
    replay_requested = Signal(list)

    def __init__(self, parent: QWidget | None = None, theme: Theme | None = None) -> None:
        super().__init__(parent)
        self.theme = theme or dark_theme()
        self.compiled: Any = None
        self.run_id: str | None = None
        self.result: Any = None
        self.workflow_path: str | None = None
        self.store: Any = None
        self.log = LogPanel(self.theme)
        self.timeline = TimelinePanel(self.theme)
        self.charts = ChartsPanel(self.theme)
        self.history = HistoryPanel(self.theme)
        self.analytics = AnalyticsPanel(self.theme)
        self.docks: list[QDockWidget] = []
        self._add_dock("Log", "LogDock", self.log, parent)
        self._add_dock("Timeline", "TimelineDock", self.timeline, parent)
        self._add_dock("Charts", "ChartsDock", self.charts, parent)
        self._add_dock("History", "HistoryDock", self.history, parent)
        self._add_dock("Analytics", "AnalyticsDock", self.analytics, parent)
        self.log.node_selected.connect(self.node_selected)
        self.timeline.node_selected.connect(self.node_selected)
        self.timeline.node_hovered.connect(self.node_hovered)
        self.history.replay_requested.connect(self.replay_requested)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    def _add_dock(self, title: str, name: str, widget: QWidget, parent: QWidget | None) -> None:
        dock = QDockWidget(title, parent)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        self.docks.append(dock)

    def dock(self, name: str) -> QDockWidget:
        """The dock with this objectName (e.g. "TimelineDock")."""
        return next(d for d in self.docks if d.objectName() == name)

    # --- run lifecycle ------------------------------------------------------------------
    def on_run_started(self, compiled: Any, run_id: str | None = None, *,
                       live: bool = True) -> None:
        """A new run begins (live=False for a replay: no CPU/memory sampling): clear the
        run panels."""
        self.compiled, self.run_id, self.result = compiled, run_id, None
        self.log.reset(compiled)
        self.timeline.reset(compiled)
        self.charts.reset(compiled, live=live)
        self.timer.start(REFRESH_MS)

    def on_events(self, batch: list[Any]) -> None:
        """One batch of engine events (models only; the timer redraws)."""
        if not batch:
            return
        self.log.feed(batch)
        self.timeline.feed(batch)
        self.charts.feed(batch)
        if any(isinstance(e, ev.RunFinished) for e in batch):
            self.refresh()
            self.timer.stop()

    def on_run_finished(self, result: Any) -> None:
        """The run's RunResult (or None): final redraw, history refreshed."""
        self.result = result
        self.timer.stop()
        self.charts.finish(result)
        self.refresh()
        if result is not None:  # a live run was recorded: the lists and numbers moved on
            self.history.refresh()
            self.analytics.refresh()

    def refresh(self) -> None:
        """Redraw what changed (the timer calls this; tests may call it directly)."""
        self.timeline.refresh()
        self.charts.refresh()
        # a redraw costs about 1 ms per 150 bars: a 1 000-node run redraws at 4 Hz, so the
        # panels take a small share of each second instead of several ms every 50 ms
        bars = len(self.timeline.model.bars)
        self.timer.setInterval(min(SLOWEST_REFRESH_MS, REFRESH_MS + bars // 5))

    # --- context ------------------------------------------------------------------------
    def set_workflow_path(self, path: str | Path | None) -> None:
        """The open document's file (None while unsaved): History and Analytics show its runs."""
        self.workflow_path = str(path) if path else None
        self.history.set_workflow_path(self.workflow_path)
        self.analytics.set_workflow_path(self.workflow_path)

    def set_history_store(self, store: Any) -> None:
        """The engine.history HistoryStore the editor records into (None: no history)."""
        self.store = store
        self.history.set_store(store)
        self.analytics.set_store(store)

    def play(self, events: list[Any], compiled: Any = None) -> None:
        """Show a whole recorded run at once (e.g. the events of `replay_requested`)."""
        compiled = compiled if compiled is not None else self.compiled
        run_id = next((e.run_id for e in events if isinstance(e, ev.RunStarted)), None)
        self.on_run_started(compiled, run_id, live=False)
        self.on_events(events)
        self.on_run_finished(None)

    def set_highlight(self, node_id: str) -> None:
        """Outline a node's bars (e.g. while the canvas hovers that node)."""
        self.timeline.set_highlight(node_id)
