"""The Services panel (View → Services): `flowloom doctor`'s checks (nodes/doctor.py) for the
open workflow, as rows with an online / offline marker, the detail and the latency.

The checks run as one asyncio task on the qasync loop, owned by the panel (a refresh while one
runs waits for it; closing the panel cancels it), so the window never blocks on a slow server.
A QTimer refreshes every REFRESH_MS while the panel is shown; Refresh asks at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nodes.doctor import Check, run_checks

log = logging.getLogger(__name__)

REFRESH_MS = 30_000


class ServicesPanel(QWidget):
    def __init__(self, registry: Any, workflow: Callable[[], Any],
                 secret: Callable[[str], str | None], history_path: Callable[[], Path | None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._registry = registry
        self._workflow = workflow
        self._secret = secret
        self._history_path = history_path
        self._task: asyncio.Task[list[Check]] | None = None
        self._colors = (QColor("#3fae6a"), QColor("#e0524d"))
        self.checks: list[Check] = []
        self.refreshes = 0  # finished refreshes, for tests and the status line
        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["", "Service", "Status", "Latency"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)  # the status takes the room, latency its own
        header.resizeSection(1, 440)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.summary = QLabel("Not checked yet")
        self.summary.setProperty("role", "dim")
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.tree)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)

    def set_colors(self, online: QColor, offline: QColor) -> None:
        self._colors = (online, offline)
        self._fill()

    # --- checking --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Run the checks now (unless a round is still running)."""
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.get_event_loop()
        self.summary.setText("Checking…")
        self.refresh_button.setEnabled(False)
        self._task = loop.create_task(self._check())  # owned: kept, cancelled on hide
        self._task.add_done_callback(self._done)

    async def _check(self) -> list[Check]:
        return await run_checks(workflow=self._workflow(), registry=self._registry,
                                secret=self._secret, history_path=self._history_path())

    def _done(self, task: asyncio.Task[list[Check]]) -> None:
        self.refresh_button.setEnabled(True)
        if task.cancelled():
            self.summary.setText("Check cancelled")
            return
        exc = task.exception()
        if exc is not None:
            log.warning("services check failed: %s", exc)
            self.summary.setText(f"Check failed: {exc}")
            return
        self.checks = task.result()
        self.refreshes += 1
        failed = sum(1 for c in self.checks if not c.ok)
        self.summary.setText("Every check passed" if not failed
                             else f"{failed} of {len(self.checks)} checks failed")
        self._fill()

    def _fill(self) -> None:
        self.tree.clear()
        online, offline = self._colors
        for check in self.checks:
            latency = "" if check.latency_ms is None else f"{check.latency_ms:g} ms"
            item = QTreeWidgetItem(["●", check.name, check.detail, latency])
            item.setForeground(0, online if check.ok else offline)
            item.setToolTip(0, "online" if check.ok else "offline")
            item.setToolTip(1, check.name)
            item.setToolTip(2, check.detail)
            item.setTextAlignment(3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tree.addTopLevelItem(item)

    # --- shown / hidden --------------------------------------------------------------------
    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.timer.start()
        if self._task is None:
            QTimer.singleShot(0, self.refresh)

    def hideEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().hideEvent(event)
        self.timer.stop()

    def stop(self) -> None:
        """Stop refreshing and cancel a round in flight (the window is closing)."""
        self.timer.stop()
        if self._task is not None and not self._task.done():
            self._task.cancel()
