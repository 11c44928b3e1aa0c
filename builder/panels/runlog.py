"""The Log dock: every node's log lines and the engine's own messages (started, finished,
retrying, skipped, failed, cancelled, run start/end), filterable by node and by level.

`LogModel` is a table model over plain tuples appended in batches (one beginInsertRows per
batch, oldest lines dropped past `MAX_LINES`); `LogFilter` keeps lines of one node (or all) at
or above a level. Clicking a line selects its node (`node_selected`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from builder.panels.common import (
    LEVELS,
    fmt_seconds,
    iteration_label,
    node_labels,
    node_title,
)
from builder.theme import Theme
from engine import events as ev

MAX_LINES = 50_000
COLUMNS = ("Time", "Node", "Level", "Message")
_Index = QModelIndex | QPersistentModelIndex


class LogLine(NamedTuple):
    t: float  # seconds since the run started
    node_id: str  # "" for the run itself
    iteration: tuple[int, ...]
    level: str
    message: str


def lines_of(event: Any, t0: float) -> LogLine | None:
    """The log line an event shows as, or None for events the log leaves out (progress)."""
    t = event.t - t0
    nid = getattr(event, "node_id", "")
    it = getattr(event, "iteration", ())
    if isinstance(event, ev.NodeLogged):
        return LogLine(t, nid, it, event.level, event.message)
    if isinstance(event, ev.NodeStarted):
        text = "replayed from the earlier run" if event.attempt == 0 else (
            "started" if event.attempt == 1 else f"started attempt {event.attempt}")
        return LogLine(t, nid, it, "debug", text)
    if isinstance(event, ev.NodeFinished):
        return LogLine(t, nid, it, "debug",
                       f"finished in {fmt_seconds(event.duration_s)}: {event.summary}")
    if isinstance(event, ev.NodeRetrying):
        return LogLine(t, nid, it, "warning", f"attempt {event.attempt} failed ({event.error}); "
                                              f"retrying in {event.delay_s:.1f} s")
    if isinstance(event, ev.NodeFailed):
        return LogLine(t, nid, it, "error", f"failed after {event.attempts} attempt(s): "
                                            f"{event.error}")
    if isinstance(event, ev.NodeSkipped):
        return LogLine(t, nid, it, "debug", f"skipped: {event.reason}")
    if isinstance(event, ev.NodeCancelled):
        return LogLine(t, nid, it, "warning", "cancelled")
    if isinstance(event, ev.RunStarted):
        return LogLine(t, "", (), "info", f"run {event.run_id} started ({event.node_count} nodes)")
    if isinstance(event, ev.RunFinished):
        level = "info" if event.status == "succeeded" else "error"
        tail = f": {event.error}" if event.error else ""
        return LogLine(t, "", (), level, f"run {event.status} in "
                                         f"{fmt_seconds(event.duration_s)}{tail}")
    return None


class LogModel(QAbstractTableModel):
    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self.theme = theme
        self.lines: list[LogLine] = []
        self.compiled: Any = None
        self.labels: dict[str, str] = {}

    def clear(self, compiled: Any) -> None:
        self.beginResetModel()
        self.lines, self.compiled = [], compiled
        self.labels = node_labels(compiled)
        self.endResetModel()

    def append(self, new: list[LogLine]) -> None:
        if not new:
            return
        overflow = len(self.lines) + len(new) - MAX_LINES
        if overflow > 0:
            drop = min(overflow, len(self.lines))
            self.beginRemoveRows(QModelIndex(), 0, drop - 1)
            del self.lines[:drop]
            self.endRemoveRows()
            new = new[-MAX_LINES:]
        first = len(self.lines)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self.lines.extend(new)
        self.endInsertRows()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.lines)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        line = self.lines[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return f"{line.t:7.3f}"
            if col == 1:
                return ((self.labels.get(line.node_id) or node_title(self.compiled,
                                                                       line.node_id)) + " "
                        + iteration_label(line.iteration)).strip()
            if col == 2:
                return line.level
            return line.message
        if role == Qt.ItemDataRole.ForegroundRole:
            if line.level == "error":
                return self.theme.state_color("failed")
            if line.level == "warning":
                return self.theme.state_color("waiting")
            if line.level == "debug" or col == 0:
                # dim, but readable on a light background too (text_dim is made for dark)
                return self.theme.text_dim if self.theme.dark else self.theme.text_dim.darker(150)
            return None
        if role == Qt.ItemDataRole.FontRole and line.level == "debug":
            font = QFont()
            font.setItalic(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole and col == 3:
            return line.message
        if role == Qt.ItemDataRole.UserRole:
            return line.node_id
        return None


class LogFilter(QSortFilterProxyModel):
    """Lines of one node ("" = every node) at or above a level."""

    def __init__(self) -> None:
        super().__init__()
        self.node_id: str | None = None  # None: all nodes
        self.min_level = "debug"

    def set_filter(self, node_id: str | None, min_level: str) -> None:
        self.beginFilterChange()
        self.node_id, self.min_level = node_id, min_level
        self.endFilterChange()

    def filterAcceptsRow(self, row: int, parent: _Index) -> bool:  # noqa: N802
        model = self.sourceModel()
        assert isinstance(model, LogModel)
        line = model.lines[row]
        if self.node_id is not None and line.node_id != self.node_id:
            return False
        return LEVELS.index(line.level) >= LEVELS.index(self.min_level) \
            if line.level in LEVELS else True


class LogPanel(QWidget):
    node_selected = Signal(str)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LogModel(theme)
        self.proxy = LogFilter()
        self.proxy.setSourceModel(self.model)
        self.t0: float | None = None
        self._follow = True  # the table sticks to the newest line
        self.node_box = QComboBox()
        self.node_box.setObjectName("LogNodeFilter")
        # its width must not depend on 1 000 node titles (measured at every layout otherwise)
        self.node_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.node_box.setMinimumContentsLength(18)
        self.level_box = QComboBox()
        self.level_box.setObjectName("LogLevelFilter")
        self.level_box.addItems(LEVELS)
        self.level_box.setCurrentText("debug")
        self.table = QTableView()
        self.table.setObjectName("LogTable")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        # fixed widths: ResizeToContents re-measures thousands of rows on every insert
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.setColumnWidth(0, self.table.fontMetrics().horizontalAdvance("0000.000") + 16)
        self.table.setColumnWidth(1, 120)
        self.table.setColumnWidth(2, 60)
        top = QHBoxLayout()
        top.addWidget(QLabel("Node"))
        top.addWidget(self.node_box, 1)
        top.addWidget(QLabel("Level at least"))
        top.addWidget(self.level_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self.node_box.currentIndexChanged.connect(self._apply_filter)
        self.level_box.currentIndexChanged.connect(self._apply_filter)
        self.table.clicked.connect(self._clicked)
        self._entries: list[tuple[str, str]] | None = None  # what the node filter lists
        self._fill_nodes(None)

    def set_theme(self, theme: Theme) -> None:
        self.model.theme = theme
        rows = self.model.rowCount()
        if rows:
            self.model.dataChanged.emit(self.model.index(0, 0),
                                        self.model.index(rows - 1, self.model.columnCount() - 1))

    def reset(self, compiled: Any) -> None:
        self.t0 = None
        self.model.clear(compiled)
        self._fill_nodes(compiled)

    def _fill_nodes(self, compiled: Any) -> None:
        labels = self.model.labels if compiled is self.model.compiled else node_labels(compiled)
        entries = [(labels[nid], nid) for nid in compiled.workflow.nodes] \
            if compiled is not None else []
        self.node_box.blockSignals(True)
        if entries != self._entries:  # (a re-run of the same nodes: 1 000 items not re-made)
            self._entries = entries
            self.node_box.clear()
            self.node_box.addItem("All nodes", None)
            self.node_box.addItem("Run messages", "")
            for label, nid in entries:
                self.node_box.addItem(label, nid)
        self.node_box.setCurrentIndex(0)
        self.node_box.blockSignals(False)
        self._apply_filter()

    def feed(self, batch: list[Any]) -> None:
        if self.t0 is None and batch:
            first = next((e for e in batch if isinstance(e, ev.RunStarted)), batch[0])
            self.t0 = first.t
        assert self.t0 is not None or not batch
        bar = self.table.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        self.model.append([line for e in batch
                           if (line := lines_of(e, self.t0 or 0.0)) is not None])
        # a hidden table (a dock behind another tab) is laid out, not scrolled: that costs
        # tens of ms per batch for rows nobody sees; it is scrolled when it shows again
        if at_end and self.table.isVisible():
            self.table.scrollToBottom()
        self._follow = at_end

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._follow:
            self.table.scrollToBottom()

    def set_node_filter(self, node_id: str | None) -> None:
        """Show one node's lines (None: all nodes; "": the run's own messages)."""
        index = self.node_box.findData(node_id)
        self.node_box.setCurrentIndex(max(index, 0))

    def set_level_filter(self, level: str) -> None:
        self.level_box.setCurrentText(level)

    def _apply_filter(self) -> None:
        self.proxy.set_filter(self.node_box.currentData(), self.level_box.currentText())

    def visible_lines(self) -> list[LogLine]:
        """The lines the table shows, in order (for tests and copy)."""
        return [self.model.lines[self.proxy.mapToSource(self.proxy.index(r, 0)).row()]
                for r in range(self.proxy.rowCount())]

    def _clicked(self, index: QModelIndex) -> None:
        node_id = self.proxy.data(index, Qt.ItemDataRole.UserRole)
        if node_id:
            self.node_selected.emit(node_id)

