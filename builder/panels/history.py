"""The History dock: recorded runs (newest first) filtered by workflow and status; open one to
show it (`replay_requested` with events rebuilt by replay.py), or select two and compare them
node by node (status and duration of each, and the difference).

From a run's record (engine/record/): Replay re-executes it with every effect served from the
record, live on the canvas (`replay_run_requested(run_id)`); Re-run reusing runs the open
document reusing what that run recorded, after showing which nodes run, reuse or resend
(`reuse_requested(run_id)`); Diff compares two runs' params, statuses, durations and outputs
and marks the canvas (`diff_requested(run_a, run_b)`, older first). The Alerts column marks
runs that fired an alert (#16), the Record column runs that cannot be replayed.

Reads through engine.history (list_runs / get_run / compare_runs); the store is set by the
window (`set_store`). Every query is small (at most `LIMIT` runs, without their nodes).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
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

from builder.panels.common import fmt_seconds, workflow_label
from builder.panels.replay import events_from_history
from builder.theme import Theme
from engine.history import HistoryError, compare_runs, get_run, list_runs
from engine.history.alerts import alerts_by_run
from engine.record.store import record_states

log = logging.getLogger(__name__)

LIMIT = 200
STATUSES = ("succeeded", "failed", "cancelled", "interrupted", "running")
RUN_COLUMNS = ("Started", "Workflow", "Status", "Duration", "Nodes", "Alerts", "Record")
COMPARE_COLUMNS = ("Node", "Status A", "Status B", "Duration A", "Duration B", "Change")
ID_ROLE = Qt.ItemDataRole.UserRole

SPLITTER_MIN_H = 72  # px: a few rows of runs stay visible however low the dock is


_RECORD_LABEL = {"complete": "kept", "over_limit": "incomplete", "pruned": "pruned"}


def _item(text: str, value: Any = None) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if value is not None:
        item.setData(ID_ROLE, value)
    return item


def _table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().hide()
    table.setShowGrid(False)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class HistoryPanel(QWidget):
    replay_requested = Signal(list)
    run_opened = Signal(str)  # the id of the run whose replay was requested
    replay_run_requested = Signal(str)  # re-execute a run from its record
    reuse_requested = Signal(str)  # run the open document reusing this run's record
    diff_requested = Signal(str, str)  # (older run, newer run)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.store: Any = None
        self.workflow_path: str | None = None
        self.workflow_title = ""  # the open document's title (its runs while unsaved)
        self.comparison: Any = None
        self.scope_box = QComboBox()
        self.scope_box.setObjectName("HistoryScope")
        self.scope_box.addItem("This workflow", "this")
        self.scope_box.addItem("All workflows", "all")
        self.status_box = QComboBox()
        self.status_box.setObjectName("HistoryStatus")
        self.status_box.addItem("Any status", None)
        for status in STATUSES:
            self.status_box.addItem(status, status)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("Replay the selected run on the canvas and in the panels")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Compare two selected runs node by node")
        self.replay_button = QPushButton("Replay")
        self.replay_button.setObjectName("HistoryReplay")
        self.replay_button.setToolTip("Run the selected run again from its record: every HTTP "
                                      "response, LLM answer, clock read and approval as "
                                      "recorded, shown live on the canvas")
        self.reuse_button = QPushButton("Re-run reusing")
        self.reuse_button.setObjectName("HistoryReuse")
        self.reuse_button.setToolTip("Run this workflow, reusing what the selected run "
                                     "recorded for every unchanged node (asks first)")
        self.diff_button = QPushButton("Diff")
        self.diff_button.setObjectName("HistoryDiff")
        self.diff_button.setToolTip("Compare two selected runs' params, statuses, durations "
                                    "and outputs, and mark the differences on the canvas")
        refresh = QPushButton("Refresh")
        self.runs = _table(RUN_COLUMNS)
        self.runs.setObjectName("HistoryRuns")
        self.runs.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.compare_title = QLabel("Select two runs and press Compare.")
        self.compare_title.setWordWrap(True)
        self.compare = _table(COMPARE_COLUMNS)
        self.compare.setObjectName("HistoryCompare")
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.addWidget(self.compare_title)
        bottom_layout.addWidget(self.compare, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.runs)
        splitter.addWidget(bottom)
        # its two tables' own minimums (~160 px) held the whole bottom dock at 250 px in a
        # small window: the runs and the comparison share whatever height the dock has
        splitter.setMinimumHeight(SPLITTER_MIN_H)
        top = QHBoxLayout()
        for widget in (self.scope_box, self.status_box):
            top.addWidget(widget)
        top.addStretch(1)
        for widget in (refresh, self.open_button, self.compare_button, self.replay_button,
                       self.reuse_button, self.diff_button):
            top.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self.scope_box.currentIndexChanged.connect(self.refresh)
        self.status_box.currentIndexChanged.connect(self.refresh)
        refresh.clicked.connect(self.refresh)
        self.open_button.clicked.connect(self._open_selected)
        self.compare_button.clicked.connect(self._compare_selected)
        self.replay_button.clicked.connect(lambda: self._emit_one(self.replay_run_requested))
        self.reuse_button.clicked.connect(lambda: self._emit_one(self.reuse_requested))
        self.diff_button.clicked.connect(self._diff_selected)
        self.runs.itemDoubleClicked.connect(lambda item: self.open_run(self.run_id_at(item.row())))
        self.runs.itemSelectionChanged.connect(self._selection_changed)
        self._selection_changed()

    # --- context ------------------------------------------------------------------------
    def set_store(self, store: Any) -> None:
        self.store = store
        self.refresh()

    def set_workflow_path(self, path: str | None, title: str = "") -> None:
        """The open document: its file (None while unsaved) and its title."""
        self.workflow_path = path
        self.workflow_title = title
        self.refresh()

    # --- listing ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload the list of runs from the store."""
        self.runs.setRowCount(0)
        if self.store is None:
            return
        this = self.scope_box.currentData() == "this"
        workflow = self.workflow_path if this else None
        unsaved = this and workflow is None  # its runs are recorded without a file
        try:
            found = list_runs(self.store, workflow=workflow, status=self.status_box.currentData(),
                              limit=LIMIT * 5 if unsaved else LIMIT, with_nodes=False)
        except HistoryError as exc:
            log.warning("cannot read the run history: %s", exc)
            return
        if unsaved:
            found = [r for r in found if not r.workflow
                     and (r.workflow_name or "Untitled") == (self.workflow_title or "Untitled")
                     ][:LIMIT]
        ids = [run.id for run in found]
        try:
            alerts = alerts_by_run(self.store, ids)
            records = record_states(self.store, ids)
        except Exception as exc:  # a marker column never keeps the list from showing
            log.warning("cannot read alerts or records: %s", exc)
            alerts, records = {}, {}
        self.runs.setRowCount(len(found))
        for row, run in enumerate(found):
            started = datetime.fromtimestamp(run.started_at).strftime("%Y-%m-%d %H:%M:%S")
            status = _item(run.status)
            status.setForeground(self.theme.state_color(
                {"interrupted": "cancelled", "running": "running"}.get(run.status, run.status)))
            cells = (_item(started, run.id), _item(workflow_label(run.workflow, run.workflow_name)),
                     status,
                     _item(fmt_seconds(run.duration_s), run.duration_s),
                     _item(str(run.node_count)),
                     self._alert_cell(alerts.get(run.id, [])),
                     _item(_RECORD_LABEL.get(records.get(run.id, ""), "none"),
                           records.get(run.id, "")))
            for col, cell in enumerate(cells):
                own = cell.toolTip()  # the alerts cell lists its alerts
                cell.setToolTip(f"run {run.id}\n{run.workflow or 'not saved'}" + (
                    f"\n{run.error}" if run.error else "") + (f"\n{own}" if own else ""))
                self.runs.setItem(row, col, cell)

    def _alert_cell(self, messages: list[str]) -> QTableWidgetItem:
        cell = _item(f"⚠ {len(messages)}" if messages else "", len(messages))
        if messages:
            cell.setForeground(self.theme.state_color("waiting"))
            cell.setToolTip("\n".join(messages))
        return cell

    def alert_counts(self) -> dict[str, int]:
        """run id -> alerts it fired, for the listed runs (the Alerts column)."""
        col = RUN_COLUMNS.index("Alerts")
        return {self.run_id_at(r): self.runs.item(r, col).data(ID_ROLE)
                for r in range(self.runs.rowCount())}

    def run_ids(self) -> list[str]:
        """The listed runs' ids, top to bottom."""
        return [self.run_id_at(r) for r in range(self.runs.rowCount())]

    def run_id_at(self, row: int) -> str:
        return self.runs.item(row, 0).data(ID_ROLE)

    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.runs.selectedIndexes()})
        return [self.run_id_at(r) for r in rows]

    def _selection_changed(self) -> None:
        count = len(self.selected_ids())
        self.open_button.setEnabled(count == 1)
        self.compare_button.setEnabled(count == 2)
        self.replay_button.setEnabled(count == 1)
        self.reuse_button.setEnabled(count == 1)
        self.diff_button.setEnabled(count == 2)

    def _emit_one(self, signal: Any) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            signal.emit(ids[0])

    def _diff_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 2:
            newer, older = ids  # newest first in the list
            self.diff_requested.emit(older, newer)

    # --- open and compare ---------------------------------------------------------------
    def _open_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            self.open_run(ids[0])

    def open_run(self, run_id: str) -> list[Any]:
        """Rebuild a recorded run's events and ask for their replay."""
        detail = get_run(self.store, run_id) if self.store is not None else None
        if detail is None:
            return []
        events = events_from_history(detail)
        self.run_opened.emit(run_id)
        self.replay_requested.emit(events)
        return events

    def _compare_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 2:
            newer, older = ids  # the list is newest first: compare older (A) with newer (B)
            self.compare_runs(older, newer)

    def compare_runs(self, run_a: str, run_b: str) -> None:
        """Show two runs side by side: per node, both statuses and durations."""
        comparison = compare_runs(self.store, run_a, run_b)
        self.comparison = comparison
        a, b = comparison.a, comparison.b
        self.compare_title.setText(
            f"A: {a.id} {a.status} {fmt_seconds(a.duration_s)}   vs   "
            f"B: {b.id} {b.status} {fmt_seconds(b.duration_s)}")
        self.compare.setRowCount(len(comparison.nodes))
        for row, node in enumerate(comparison.nodes):
            delta = node.delta_s
            sign = "+" if delta is not None and delta >= 0 else "−"
            change = "" if delta is None else f"{sign}{fmt_seconds(abs(delta))}"
            cells = [_item(node.node_id, node.node_id)]
            for side in (node.a, node.b):
                cell = _item(side.status if side else "—", side.status if side else None)
                if side is not None:
                    cell.setForeground(self.theme.state_color(side.status))
                cells.append(cell)
            for side in (node.a, node.b):
                seconds = side.duration_s if side else None
                cells.append(_item(fmt_seconds(seconds), seconds))
            cells.append(_item(change, delta))
            if node.status_changed:
                cells[0].setForeground(self.theme.accent)
            for col, cell in enumerate(cells):
                self.compare.setItem(row, col, cell)

    def compared_rows(self) -> list[tuple[Any, ...]]:
        """The comparison table's values: (node, status a, status b, seconds a, seconds b)."""
        return [tuple(self.compare.item(r, c).data(ID_ROLE) for c in range(5))
                for r in range(self.compare.rowCount())]
