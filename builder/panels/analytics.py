"""The Analytics dock: statistics of one workflow over its recorded runs
(engine.history.workflow_stats): run count, success rate, duration statistics, the trend of the
recent runs, and per node: executions, success rate, min/max/mean/std/p50/p95 and flakiness;
the slowest and the flakiest nodes.

A table holds the numbers (each cell keeps its raw value under Qt.UserRole); one plot shows the
trend (a curve and status-coloured points, updated in place), another the slowest nodes' mean
durations (one BarGraphItem).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from builder.panels.common import (
    fmt_rate,
    fmt_seconds,
    plural,
    restyle,
    style_plot,
    workflow_label,
)
from builder.theme import Theme
from engine.history import HistoryError, list_runs, workflow_key, workflow_stats

log = logging.getLogger(__name__)

NODE_COLUMNS = ("Node", "Runs", "Success", "Min", "Max", "Mean", "Std", "P50", "P95", "Flaky")
_DURATIONS = ("min_s", "max_s", "mean_s", "std_s", "p50_s", "p95_s")
VALUE = Qt.ItemDataRole.UserRole
TOP = 5


def _cell(text: str, value: Any) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    item.setData(VALUE, value)
    if isinstance(value, (int, float)):
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class AnalyticsPanel(QWidget):
    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.store: Any = None
        self.workflow_path: str | None = None
        self.workflow_title = ""
        self.stats: Any = None
        self.workflow_box = QComboBox()
        self.workflow_box.setObjectName("AnalyticsWorkflow")
        self.workflow_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        refresh = QPushButton("Refresh")
        self.summary = QLabel("No runs recorded.")
        self.summary.setObjectName("AnalyticsSummary")
        self.summary.setWordWrap(True)
        self.leaders = QLabel("")
        self.leaders.setWordWrap(True)
        self.leaders.setStyleSheet(f"color: {theme.text_dim.name()}")
        self.table = QTableWidget(0, len(NODE_COLUMNS))
        self.table.setObjectName("AnalyticsNodes")
        self.table.setHorizontalHeaderLabels(list(NODE_COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.charts = pg.GraphicsLayoutWidget()
        self.charts.setBackground(theme.background)
        self.trend_plot = self.charts.addPlot(row=0, col=0, title="Run duration (s), oldest first")
        self.slowest_plot = self.charts.addPlot(row=1, col=0, title="Slowest nodes, mean (s)")
        for plot in (self.trend_plot, self.slowest_plot):
            style_plot(plot, theme)
            plot.setMenuEnabled(False)
            plot.titleLabel.setAttr("color", theme.text_dim.name())
        self.slowest_plot.invertY(True)
        self.slowest_plot.getAxis("left").setWidth(110)
        self.trend_curve = pg.PlotCurveItem(pen=pg.mkPen(theme.text_dim, width=1))
        self.trend_points = pg.ScatterPlotItem(size=8, pen=pg.mkPen(None))
        self.trend_plot.addItem(self.trend_curve)
        self.trend_plot.addItem(self.trend_points)
        self.slowest_bars = pg.BarGraphItem(x0=[], y=[], height=0.7, width=[],
                                            brush=theme.state_color("running"),
                                            pen=pg.mkPen(None))
        self.slowest_plot.addItem(self.slowest_bars)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.summary)
        left_layout.addWidget(self.leaders)
        left_layout.addWidget(self.table, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.charts)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        top = QHBoxLayout()
        top.addWidget(QLabel("Workflow"))
        top.addWidget(self.workflow_box, 1)
        top.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self.workflow_box.currentIndexChanged.connect(self._show_current)
        refresh.clicked.connect(self.refresh)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        restyle(self.charts, (self.trend_plot, self.slowest_plot), theme)
        self.leaders.setStyleSheet(f"color: {theme.text_dim.name()}")
        self.trend_curve.setPen(pg.mkPen(theme.text_dim, width=1))
        self.slowest_bars.setOpts(brush=theme.state_color("running"))
        self._show(self.stats)

    # --- context ------------------------------------------------------------------------
    def set_store(self, store: Any) -> None:
        self.store = store
        self.refresh()

    def set_workflow_path(self, path: str | None, title: str = "") -> None:
        """The open document (None while unsaved): its statistics, never another's."""
        changed = path != self.workflow_path
        self.workflow_path = path
        self.workflow_title = title
        self.refresh(prefer=workflow_key(path) if path else None, switched=changed)

    def refresh(self, prefer: str | None = None, switched: bool = False) -> None:
        """Reload the workflows on record and the statistics of the chosen one (`prefer`, else
        the one shown, else the open document's). `switched`: another document is open, so
        what was shown before is not kept."""
        current = prefer or (None if switched else self.workflow_box.currentData())
        self.workflow_box.blockSignals(True)
        self.workflow_box.clear()
        known: list[str] = []
        if self.store is not None:
            try:
                runs = list_runs(self.store, limit=1000, with_nodes=False)
            except HistoryError as exc:
                log.warning("cannot read the run history: %s", exc)
                runs = []
            names = {}
            for run in runs:
                names.setdefault(run.workflow, run.workflow_name)
            known = list(names)
            for key in known:
                if key:  # unsaved runs have no file to gather statistics by
                    self.workflow_box.addItem(workflow_label(key), key)
                    self.workflow_box.setItemData(self.workflow_box.count() - 1, key,
                                                  Qt.ItemDataRole.ToolTipRole)
        mine = workflow_key(self.workflow_path) if self.workflow_path else None
        if mine and self.workflow_box.findData(mine) < 0:
            self.workflow_box.addItem(workflow_label(mine), mine)
        choice = current if self.workflow_box.findData(current) >= 0 else mine
        # -1 (nothing) rather than the first entry: never another workflow's numbers
        self.workflow_box.setCurrentIndex(self.workflow_box.findData(choice) if choice else -1)
        self.workflow_box.blockSignals(False)
        self._show_current()

    def show_workflow(self, workflow: str) -> None:
        index = self.workflow_box.findData(workflow_key(workflow))
        if index >= 0:
            self.workflow_box.setCurrentIndex(index)

    # --- showing ------------------------------------------------------------------------
    def _show_current(self) -> None:
        workflow = self.workflow_box.currentData()
        if self.store is None or not workflow:
            self.stats = None
            self._show(None)
            if self.workflow_path is None and self.workflow_box.count():
                self.summary.setText(
                    f"{self.workflow_title or 'This workflow'} is not saved yet: its runs are "
                    "in History. Save it to gather statistics here, or pick a workflow above.")
            return
        try:
            self.stats = workflow_stats(self.store, workflow)
        except HistoryError as exc:
            log.warning("cannot read the run history: %s", exc)
            self.stats = None
        self._show(self.stats)

    def _show(self, stats: Any) -> None:
        self.table.setSortingEnabled(False)
        self.table.setRowCount(0)
        if stats is None or not stats.runs:
            self.summary.setText("No finished runs of this workflow on record.")
            self.leaders.setText("")
            self.trend_curve.setData([], [])
            self.trend_points.setData([], [])
            self.slowest_bars.setOpts(x0=[], y=[], width=[])
            return
        d = stats.durations
        self.summary.setText(
            f"<b>{stats.runs}</b> {plural(stats.runs, 'run').split(' ', 1)[1]}, "
            f"<b>{fmt_rate(stats.success_rate)}</b> succeeded. "
            f"Duration mean {fmt_seconds(d.mean_s)} (± {fmt_seconds(d.std_s)}), "
            f"p50 {fmt_seconds(d.p50_s)}, p95 {fmt_seconds(d.p95_s)}, "
            f"min {fmt_seconds(d.min_s)}, max {fmt_seconds(d.max_s)}.")
        slowest, flakiest = stats.slowest(TOP), stats.flakiest(TOP)
        self.leaders.setText(
            "Slowest: " + (", ".join(f"{s.node_id} {fmt_seconds(s.durations.mean_s)}"
                                     for s in slowest) or "–")
            + "<br>Flakiest: " + (", ".join(f"{s.node_id} {fmt_rate(s.flakiness)}"
                                            for s in flakiest) or "none"))
        self.table.setRowCount(len(stats.nodes))
        for row, node in enumerate(stats.nodes.values()):
            cells = [_cell(node.node_id, node.node_id), _cell(str(node.count), node.count),
                     _cell(fmt_rate(node.success_rate), node.success_rate)]
            cells += [_cell(fmt_seconds(getattr(node.durations, name)),
                            getattr(node.durations, name)) for name in _DURATIONS]
            cells.append(_cell(fmt_rate(node.flakiness), node.flakiness))
            for col, cell in enumerate(cells):
                self.table.setItem(row, col, cell)
        self.table.setSortingEnabled(True)
        points = [p for p in stats.trend if p.duration_s is not None]
        xs = np.arange(len(points), dtype=float)
        ys = np.array([p.duration_s for p in points], dtype=float)
        self.trend_curve.setData(xs, ys)
        self.trend_points.setData(xs, ys, brush=[self.theme.state_color(
            {"interrupted": "cancelled"}.get(p.status, p.status)) for p in points])
        self.slowest_bars.setOpts(
            x0=np.zeros(len(slowest)), y=np.arange(len(slowest)), height=0.7,
            width=np.array([s.durations.mean_s for s in slowest], dtype=float))
        self.slowest_plot.getAxis("left").setTicks(
            [[(i, s.node_id) for i, s in enumerate(slowest)], []])
        for plot in (self.trend_plot, self.slowest_plot):
            plot.getViewBox().autoRange(padding=0.08)

    def node_values(self) -> dict[str, dict[str, Any]]:
        """The table's raw values per node, by column name (for tests and export)."""
        values: dict[str, dict[str, Any]] = {}
        for row in range(self.table.rowCount()):
            cells = {NODE_COLUMNS[c]: self.table.item(row, c).data(VALUE)
                     for c in range(len(NODE_COLUMNS))}
            values[cells["Node"]] = cells
        return values
