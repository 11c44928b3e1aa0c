"""Edit ▸ Preferences… (Ctrl+,): app-wide settings, today the limits per LLM server host.

The dialog edits rows of server (host:port or URL) -> most requests at once, checks them with
`builder.host_limits.check_rows` as the person types (one sentence naming the row; OK stays
disabled until it is fixed), and on OK writes them to the same settings key the runs read
(`llm/host_limits`). `show_for` then gives the window (and the windows it opened) a fresh
`HostSlots`, so the next run uses the new limits; a run already going keeps the old ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from builder.host_limits import (
    MAX_LIMIT,
    check_rows,
    host_limits,
    host_slots_for,
    save_host_limits,
)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from builder.mainwindow import MainWindow

HOST_COL, LIMIT_COL = 0, 1
EXPLAIN = ("At most this many requests at once to an LLM server, across every workflow this "
           "editor runs (so two runs do not overload one local model). A server is a host and "
           "port, like <tt>localhost:11434</tt>, or a URL. Applies from the next run.")


class PreferencesDialog(QDialog):
    def __init__(self, settings: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PreferencesDialog")
        self.setWindowTitle("Preferences")
        self.settings = settings
        self.saved: dict[str, int] | None = None  # what OK wrote
        layout = QVBoxLayout(self)
        group = QGroupBox("LLM server limits")
        inner = QVBoxLayout(group)
        explain = QLabel(EXPLAIN)
        explain.setWordWrap(True)
        explain.setTextFormat(Qt.TextFormat.RichText)
        inner.addWidget(explain)
        self.table = QTableWidget(0, 2)
        self.table.setObjectName("HostLimits")
        self.table.setHorizontalHeaderLabels(["Server", "At most at once"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(HOST_COL, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(LIMIT_COL, QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().setVisible(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.itemChanged.connect(lambda _item: self.validate())
        inner.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("&Add server")
        self.add_button.clicked.connect(lambda: self.add_row())
        self.remove_button = QPushButton("&Remove")
        self.remove_button.setToolTip("Remove the selected server's limit")
        self.remove_button.clicked.connect(self.remove_selected)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        inner.addLayout(buttons)
        self.problem = QLabel()
        self.problem.setObjectName("PreferencesProblem")
        self.problem.setWordWrap(True)
        self.problem.setProperty("role", "error")
        inner.addWidget(self.problem)
        layout.addWidget(group, 1)
        self.box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                    | QDialogButtonBox.StandardButton.Cancel)
        self.box.accepted.connect(self.accept)
        self.box.rejected.connect(self.reject)
        layout.addWidget(self.box)
        for host, limit in sorted(host_limits(settings).items()):
            self.add_row(host, limit, edit=False)
        self.table.itemSelectionChanged.connect(self._update_remove)
        self._update_remove()
        self.validate()
        self.resize(520, 360)

    # --- rows ---------------------------------------------------------------------------
    def add_row(self, host: str = "", limit: int = 1, edit: bool = True) -> int:
        row = self.table.rowCount()
        self.table.blockSignals(True)
        self.table.insertRow(row)
        self.table.setItem(row, HOST_COL, QTableWidgetItem(host))
        spin = QSpinBox()
        spin.setRange(1, MAX_LIMIT)
        spin.setValue(limit)
        spin.setSuffix(" at once")
        spin.setToolTip("The most requests this editor's runs send this server at one time")
        spin.valueChanged.connect(lambda _v: self.validate())
        self.table.setCellWidget(row, LIMIT_COL, spin)
        self.table.blockSignals(False)
        self.validate()
        if edit:  # a new row: type its server straight away
            self.table.setCurrentCell(row, HOST_COL)
            self.table.editItem(self.table.item(row, HOST_COL))
        return row

    def remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        if not rows and self.table.currentRow() >= 0:
            rows = [self.table.currentRow()]
        for row in rows:
            self.table.removeRow(row)
        self._update_remove()
        self.validate()

    def _update_remove(self) -> None:
        self.remove_button.setEnabled(self.table.rowCount() > 0
                                      and self.table.currentRow() >= 0)

    def rows(self) -> list[tuple[str, int]]:
        out = []
        for row in range(self.table.rowCount()):
            item = self.table.item(row, HOST_COL)
            spin = self.table.cellWidget(row, LIMIT_COL)
            out.append((item.text() if item is not None else "",
                        spin.value() if isinstance(spin, QSpinBox) else 0))
        return out

    # --- checking and saving --------------------------------------------------------------
    def validate(self) -> str | None:
        """Check the rows; show the first problem and keep OK disabled until it is fixed."""
        _limits, problem = check_rows(self.rows())
        self.problem.setText(problem or "")
        self.problem.setVisible(problem is not None)
        self.box.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)
        return problem

    def accept(self) -> None:
        limits, problem = check_rows(self.rows())
        if problem is not None:  # OK is disabled then; Enter in a cell can still get here
            self.problem.setText(problem)
            self.problem.setVisible(True)
            return
        save_host_limits(self.settings, limits)
        self.saved = limits
        super().accept()


def apply_to(window: MainWindow) -> None:
    """Give the window and the windows it opened one fresh HostSlots from the settings, so
    their next runs share the new limits."""
    slots = host_slots_for(window.settings)
    window.runner.host_slots = slots
    for other in getattr(window, "other_windows", []):
        other.runner.host_slots = slots


def _saved(window: MainWindow) -> None:
    apply_to(window)
    window.show_status("Preferences saved: LLM server limits apply from the next run")


def show_for(window: MainWindow) -> PreferencesDialog:
    """Edit ▸ Preferences…: modal; on OK the limits are saved and applied."""
    dialog = PreferencesDialog(window.settings, window)
    dialog.accepted.connect(lambda: _saved(window))
    dialog.finished.connect(dialog.deleteLater)  # a fresh one reads the settings next time
    dialog.open()
    return dialog
