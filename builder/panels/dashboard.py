"""View ▸ Dashboard: every workflow on record, from the run history (engine/history/dashboard.py).

A table lists each workflow (runs, success rate, p50/p95 duration, slowest and flakiest node,
alerts fired); two pyqtgraph plots show the runs per day (one BarGraphItem) and the success rate
per day (one PlotDataItem: a line with a dot per day), created once and updated in place,
in the window's theme. Export writes the dashboard as a PNG (a grab of the widget) or CSV
(`Dashboard.to_csv`). The history is read off the loop when a loop is running
(`refresh_async`), else directly (`refresh`).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
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

from builder.panels.common import fmt_rate, fmt_seconds, plot_widget, style_plot
from builder.theme import Theme
from engine.history import HistoryError
from engine.history.dashboard import Dashboard, dashboard
from engine.history.store import HistoryStore

log = logging.getLogger(__name__)
COLUMNS = ("Workflow", "Runs", "Success", "P50", "P95", "Slowest node", "Flakiest node",
           "Alerts")


def _cell(text: str, right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class DashboardPanel(QDialog):
    def __init__(self, store: HistoryStore | None, theme: Theme,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Dashboard")
        self.setObjectName("dashboard")
        self.store = store
        self.board = Dashboard()
        self.task: asyncio.Future[Any] | None = None
        self.summary = QLabel("")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.runs_plot = plot_widget(theme)
        self.rate_plot = plot_widget(theme)
        for widget, title in ((self.runs_plot, "Runs per day"),
                              (self.rate_plot, "Success rate per day")):
            widget.getPlotItem().setTitle(title)
            widget.getPlotItem().disableAutoRange()
        # One item per series, made once; refresh() only sets their data.
        self.runs_bars = pg.BarGraphItem(x=np.zeros(0), height=np.zeros(0), width=0.7)
        self.runs_plot.addItem(self.runs_bars)
        # A line with a dot per day (one item): a single day must still show.
        self.rate_curve = pg.PlotDataItem(x=np.zeros(0), y=np.zeros(0), symbol="o",
                                          symbolSize=8)
        self.rate_plot.addItem(self.rate_curve)
        self.png_button = QPushButton("Export PNG…")
        self.png_button.clicked.connect(lambda: self._ask_export("png"))
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(lambda: self._ask_export("csv"))
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        for b in (self.refresh_button, self.png_button, self.csv_button):
            buttons.addWidget(b)
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.runs_plot)
        plots.addWidget(self.rate_plot)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(plots)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(split, 1)
        self.set_theme(theme)
        self.resize(1000, 640)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        for widget in (self.runs_plot, self.rate_plot):
            widget.setBackground(theme.background)
            style_plot(widget.getPlotItem(), theme)
            widget.getPlotItem().titleLabel.setText(
                widget.getPlotItem().titleLabel.text, color=theme.text.name())
        accent = theme.state_color("running")
        self.runs_bars.setOpts(brush=pg.mkBrush(accent), pen=pg.mkPen(accent))
        good = theme.state_color("succeeded")
        self.rate_curve.setPen(pg.mkPen(good, width=2))
        self.rate_curve.setSymbolBrush(pg.mkBrush(good))
        self.rate_curve.setSymbolPen(pg.mkPen(good))

    # --- data ---------------------------------------------------------------------------
    def refresh(self) -> Dashboard:
        board = Dashboard()
        if self.store is not None:
            try:
                board = dashboard(self.store)
            except HistoryError as exc:
                self.summary.setText(f"The history cannot be read: {exc}")
                return board
        self.show_board(board)
        return board

    async def refresh_async(self) -> Dashboard:
        board = Dashboard()
        if self.store is not None:
            board = await asyncio.to_thread(dashboard, self.store)
        self.show_board(board)
        return board

    def show_board(self, board: Dashboard) -> None:
        self.board = board
        rows = board.workflows
        self.table.setRowCount(len(rows))
        for i, w in enumerate(rows):
            slow = f"{w.slowest_node} ({fmt_seconds(w.slowest_mean_s)})" if w.slowest_node \
                else "–"
            flaky = f"{w.flakiest_node} ({fmt_rate(w.flakiness)})" if w.flakiest_node else "–"
            cells = (_cell(w.name or Path(w.workflow).name), _cell(str(w.runs), True),
                     _cell(fmt_rate(w.success_rate), True), _cell(fmt_seconds(w.p50_s), True),
                     _cell(fmt_seconds(w.p95_s), True), _cell(slow), _cell(flaky),
                     _cell(str(w.alerts), True))
            cells[0].setToolTip(w.workflow)
            for j, cell in enumerate(cells):
                self.table.setItem(i, j, cell)
        x = np.arange(len(board.days), dtype=float)
        runs = np.array([d.runs for d in board.days], dtype=float)
        rates = np.array([d.success_rate * 100 for d in board.days], dtype=float)
        self.runs_bars.setOpts(x=x, height=runs)
        self.rate_curve.setData(x=x, y=rates)
        ticks = [[(i, d.day[5:]) for i, d in enumerate(board.days)]]
        for widget in (self.runs_plot, self.rate_plot):
            widget.getPlotItem().getAxis("bottom").setTicks(ticks)
        span = max(len(board.days), 1)
        self.runs_plot.getPlotItem().setRange(xRange=(-0.6, span - 0.4),
                                              yRange=(0, max(runs.max(initial=0), 1) * 1.1),
                                              padding=0)
        self.rate_plot.getPlotItem().setRange(xRange=(-0.6, span - 0.4), yRange=(0, 105),
                                              padding=0)
        total = sum(w.runs for w in rows)
        self.summary.setText(f"{len(rows)} workflow{'s' * (len(rows) != 1)}, {total} runs, "
                             f"{board.alerts} alert{'s' * (board.alerts != 1)} fired")

    # --- export -------------------------------------------------------------------------
    def export_png(self, path: str | Path) -> bool:
        return self.grab().save(str(path), "PNG")

    def export_csv(self, path: str | Path) -> None:
        Path(path).write_text(self.board.to_csv(), encoding="utf-8")

    def _ask_export(self, kind: str) -> None:
        name, _ = QFileDialog.getSaveFileName(self, f"Export the dashboard as {kind.upper()}",
                                              f"dashboard.{kind}", f"{kind.upper()} (*.{kind})")
        if not name:
            return
        try:
            if kind == "png":
                self.export_png(name)
            else:
                self.export_csv(name)
        except OSError as exc:
            self.summary.setText(f"Could not write {name}: {exc.strerror}")


def show_for(window: Any) -> DashboardPanel:
    """View ▸ Dashboard: the dashboard of the window's run history."""
    panel = DashboardPanel(window.runner.history_store(), window.theme, parent=window)
    panel.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop turning (a script, a test without one): read it now
        panel.refresh()
    else:  # the editor: read the history off the loop
        panel.task = asyncio.ensure_future(panel.refresh_async())
    panel.show()
    return panel
