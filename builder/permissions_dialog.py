"""The dialog shown before the first run of a workflow from elsewhere: its manifest, node by node.

It lists what the workflow will contact, read, write and execute (engine/permissions.py
computes it; this only shows it). Clicking an entry selects its node(s) on the canvas through
the `select` callback. The buttons: Allow once (run with exactly what is listed, the file stays
untrusted), Trust this file (remember it; full powers), Cancel (the default: nothing runs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.permissions import NET, READ, RUN, WRITE, Manifest

ALLOW_ONCE, TRUST, CANCEL = "once", "trust", "cancel"
HEADINGS = {NET: "Contacts (network)", READ: "Reads files", WRITE: "Writes files",
            RUN: "Executes code"}
DYNAMIC = {NET: "a host computed at run time", READ: "a path computed at run time",
           WRITE: "a path computed at run time", RUN: "code chosen at run time"}
NODES_ROLE = Qt.ItemDataRole.UserRole


def manifest_items(manifest: Manifest) -> list[QTreeWidgetItem]:
    """One top-level item per capability needed; a child per target, holding its node ids."""
    tops = []
    for cap in (NET, READ, WRITE, RUN):
        rows = [(target, ids) for target, ids in manifest.needs[cap].items()]
        rows += [(f"{DYNAMIC[cap]} (from {d['param']!r}; any will be allowed)", [d["node"]])
                 for d in manifest.dynamic if d["capability"] == cap]
        if not rows:
            continue
        top = QTreeWidgetItem([HEADINGS[cap], ""])
        top.setData(0, NODES_ROLE, [n for _, ids in rows for n in ids])
        font = top.font(0)
        font.setBold(True)
        top.setFont(0, font)
        for target, ids in rows:
            child = QTreeWidgetItem([target, ", ".join(ids)])
            child.setData(0, NODES_ROLE, list(ids))
            child.setToolTip(0, target)
            top.addChild(child)
        tops.append(top)
    return tops


class PermissionsDialog(QDialog):
    """What a workflow from elsewhere will do; `choice` is ALLOW_ONCE, TRUST or CANCEL."""

    def __init__(self, name: str, manifest: Manifest, select: Callable[[list[str]], None],
                 can_trust: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PermissionsDialog")
        self.setWindowTitle("Run a workflow from elsewhere?")
        self.choice = CANCEL
        self._select = select
        layout = QVBoxLayout(self)
        heading = QLabel(f"“{name}” did not come from this machine. Before anything in it runs, "
                         f"this is what it will do:")
        heading.setWordWrap(True)
        heading.setProperty("role", "heading")
        layout.addWidget(heading)
        self.tree = QTreeWidget()
        self.tree.setObjectName("manifest")
        self.tree.setHeaderLabels(["What", "Nodes"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.addTopLevelItems(manifest_items(manifest))
        self.tree.expandAll()
        self.tree.resizeColumnToContents(0)
        self.tree.itemClicked.connect(self._on_clicked)
        layout.addWidget(self.tree, 1)
        note = QLabel("Code that is allowed to run can do anything you can: this is not a "
                      "sandbox. Click an entry to see its node on the canvas.")
        note.setWordWrap(True)
        note.setProperty("role", "dim")
        layout.addWidget(note)
        buttons = QDialogButtonBox()
        self.allow_button = QPushButton("Allow once")
        self.allow_button.setToolTip("Run with exactly what is listed; the file stays "
                                     "untrusted")
        self.trust_button = QPushButton("Trust this file")
        self.trust_button.setToolTip("Remember this file as trusted; it runs with full powers "
                                     "until it changes")
        self.trust_button.setEnabled(can_trust)
        self.cancel_button = QPushButton("Cancel")
        buttons.addButton(self.allow_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.trust_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        for button in (self.allow_button, self.trust_button):
            button.setAutoDefault(False)  # Enter must never allow by accident
        self.cancel_button.setDefault(True)
        self.allow_button.clicked.connect(lambda: self._choose(ALLOW_ONCE))
        self.trust_button.clicked.connect(lambda: self._choose(TRUST))
        self.cancel_button.clicked.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(620, 380)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.cancel_button.setFocus()

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept()

    def _on_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        ids = item.data(0, NODES_ROLE) or []
        if ids:
            self._select(list(ids))

    def entries(self) -> list[QTreeWidgetItem]:
        """Every target row (for tests and keyboard users' sake, in display order)."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            out.extend(top.child(j) for j in range(top.childCount()))
        return out
