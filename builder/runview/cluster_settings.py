"""Run ▸ Cluster…: the Dask scheduler the editor's runs send their cluster nodes to.

The address is kept in QSettings under `run/dask_address`; FLOWLOOM_DASK, when set, wins (as
for `flowloom run`). `seam_for_editor(settings)` gives a run the same seam the CLI builds
(builder/cli_dask.py `dask_seam`), or None when no address is set, so every node runs here.
The dialog's Test button connects once, off the event loop, and says in one sentence whether
the scheduler is reachable. Only the address lives here; the backend is engine/dask_backend.py.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from builder.cli_dask import DASK_ENV, DaskUnavailable, dask_seam, probe

__all__ = ["SETTING", "TEST_TIMEOUT_S", "ClusterDialog", "cluster_address", "seam_for_editor",
           "show_for"]

SETTING = "run/dask_address"
TEST_TIMEOUT_S = 5
EXPLAIN = ("Nodes placed on the cluster (by default the CPU-bound ones, like Python code) run "
           "on the Dask scheduler at this address, e.g. tcp://127.0.0.1:8786. Leave it empty "
           "to run everything here. Applies from the next run.")


def cluster_address(settings: Any) -> str | None:
    """The scheduler address for the editor's runs: FLOWLOOM_DASK, else the saved one."""
    address = os.environ.get(DASK_ENV) or str(settings.value(SETTING, "") or "").strip()
    return address or None


def seam_for_editor(settings: Any) -> Any:
    """The run's seam for the cluster address, or None (everything here). Raises
    DaskUnavailable (a FlowloomError: the run says "Cannot run: …") without the extra."""
    address = cluster_address(settings)
    # the client keeps its own loop: qasync's Qt timers cannot hold distributed's endless
    # timeouts (an OverflowError on the editor's loop)
    return None if address is None else dask_seam(address, own_loop=True)


class ClusterDialog(QDialog):
    def __init__(self, settings: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ClusterDialog")
        self.setWindowTitle("Cluster")
        self.settings = settings
        self._test: asyncio.Future[Any] | None = None
        layout = QVBoxLayout(self)
        explain = QLabel(EXPLAIN)
        explain.setWordWrap(True)
        layout.addWidget(explain)
        form = QFormLayout()
        row = QHBoxLayout()
        self.address = QLineEdit(str(settings.value(SETTING, "") or ""))
        self.address.setPlaceholderText("tcp://127.0.0.1:8786")
        self.test_button = QPushButton("&Test")
        self.test_button.clicked.connect(self.test)
        row.addWidget(self.address, 1)
        row.addWidget(self.test_button)
        form.addRow("Dask scheduler:", row)
        layout.addLayout(form)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.verdict.setObjectName("ClusterVerdict")
        layout.addWidget(self.verdict)
        if os.environ.get(DASK_ENV):
            note = QLabel(f"{DASK_ENV} is set ({os.environ[DASK_ENV]}): it wins over this "
                          f"address.")
            note.setWordWrap(True)
            layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def test(self) -> asyncio.Future[Any] | None:
        """Connect once, off the loop; the verdict line says reachable or why not."""
        address = self.address.text().strip()
        if not address:
            self.verdict.setText("No address: every node runs here.")
            return None
        self.verdict.setText(f"Connecting to {address}…")
        self.test_button.setEnabled(False)
        self._test = asyncio.ensure_future(self._probe(address))
        return self._test

    async def _probe(self, address: str) -> None:
        try:
            await asyncio.to_thread(probe, address, TEST_TIMEOUT_S)
        except DaskUnavailable as exc:
            text = f"Unreachable: {exc}."
        else:
            text = f"Reachable: the Dask scheduler at {address} answered."
        self.verdict.setText(text)
        self.test_button.setEnabled(True)

    def accept(self) -> None:
        self.settings.setValue(SETTING, self.address.text().strip())
        self.settings.sync()
        super().accept()

    def done(self, result: int) -> None:
        if self._test is not None and not self._test.done():
            self._test.cancel()  # the thread finishes on its own within TEST_TIMEOUT_S
        super().done(result)


def show_for(window: Any) -> ClusterDialog:
    """Run ▸ Cluster…: the dialog, modeless, on `window`'s settings."""
    dialog = ClusterDialog(window.settings, window)
    dialog.open()
    return dialog
