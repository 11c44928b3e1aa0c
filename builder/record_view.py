"""The editor's run-record actions (engine/record/), started from the History panel:

* Replay — the selected run re-executed from its record through the window's RunController,
  so the canvas, panels and status bar show it as a live run.
* Re-run reusing — the open document run reusing what the selected run recorded; first a
  `ReuseDialog` lists which nodes run, reuse their outputs, or resend their effects, and asks.
* Diff — two runs compared (engine/rundiff.py): a `RunDiffDialog` lists the changes and
  `DiffMarks` puts a small label on each changed node (params, status, duration, outputs) and
  "first divergence" on the first.

`RecordActions(run_view)` connects the RunPanels' history signals. The dialogs are attributes
a test may replace (`confirm_reuse(parent, plan) -> bool`, `show_diff(parent, diff)`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGraphicsSimpleTextItem,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from builder.run_record import EditorRecording

log = logging.getLogger(__name__)

ACTION_LABELS = {"reuse": "reuse", "run": "run", "resend": "resend (effects)", "skip": "skip"}


def _table(headers: list[str], rows: list[list[str]]) -> QTableWidget:
    table = QTableWidget(len(rows), len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))
    table.resizeColumnsToContents()
    table.horizontalHeader().setStretchLastSection(True)
    return table


class ReuseDialog(QDialog):
    """Which nodes will run, reuse, or resend their effects; Run or Cancel."""

    def __init__(self, plan: Any, run_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Re-run reusing run {run_id}")
        rows = [[nid, ACTION_LABELS.get(action, action), plan.why.get(nid, "")]
                for nid, action in plan.actions.items()]
        self.table = _table(["Node", "Will", "Why"], rows)
        self.table.setObjectName("ReusePlan")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton("Run", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        resend = plan.nodes_with("resend")
        layout.addWidget(QLabel(plan.summary() + (
            f".\nThese send their effects again: {', '.join(resend)}." if resend else ".")))
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)


def confirm_reuse(parent: QWidget | None, plan: Any, run_id: str = "") -> bool:
    return ReuseDialog(plan, run_id, parent).exec() == QDialog.DialogCode.Accepted


class RunDiffDialog(QDialog):
    def __init__(self, diff: dict[str, Any], title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        rows = []
        for nid, node in diff["nodes"].items():
            what = [label for label, key in (("params", "params_changed"),
                                             ("status", "status_changed"),
                                             ("outputs", "outputs_changed"))
                    if nid in diff[key]]
            if what:
                a, b = node["status"]
                rows.append([nid, ", ".join(what), f"{a} → {b}",
                             _changes_text(node["output_diff"])])
        self.table = _table(["Node", "Changed", "Status", "Output differences"], rows)
        self.table.setObjectName("RunDiff")
        first = diff["first_divergence"]
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"First divergence: {first}" if first else
                                "No differences in params, statuses or outputs."))
        layout.addWidget(self.table, 1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)


def _changes_text(changes: list[dict[str, Any]] | None) -> str:
    if not changes:
        return ""
    parts = []
    for change in changes[:5]:
        where = change["path"] or "value"
        if "text_diff" in change:
            parts.append(f"{where}: text changed")
        else:
            parts.append(f"{where} {change['op']}: {str(change.get('a'))[:30]} → "
                         f"{str(change.get('b'))[:30]}")
    return "; ".join(parts) + (f" (+{len(changes) - 5} more)" if len(changes) > 5 else "")


def show_diff(parent: QWidget | None, diff: dict[str, Any], title: str = "Run diff") -> Any:
    dialog = RunDiffDialog(diff, title, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def mark_texts(diff: dict[str, Any]) -> dict[str, str]:
    """node id -> the short label its canvas mark shows."""
    marks = {}
    for nid, node in diff["nodes"].items():
        parts = []
        if nid == diff["first_divergence"]:
            parts.append("① first divergence")
        if nid in diff["params_changed"]:
            parts.append("Δ params")
        if nid in diff["status_changed"]:
            a, b = node["status"]
            parts.append(f"{a or '—'} → {b or '—'}")
        if nid in diff["outputs_changed"]:
            parts.append("≠ outputs")
        da, db = node["duration_s"]
        if parts and da is not None and db is not None:
            parts.append(f"{db - da:+.2f} s")
        if parts:
            marks[nid] = " · ".join(parts)
    return marks


class DiffMarks:
    """Labels above changed nodes (children of the node items, so they move with them)."""

    def __init__(self, canvas: Any, theme: Any) -> None:
        self.canvas = canvas
        self.theme = theme
        self.items: dict[str, QGraphicsSimpleTextItem] = {}

    def clear(self) -> None:
        for item in self.items.values():
            if isValid(item) and item.scene() is not None:
                item.scene().removeItem(item)
        self.items = {}

    def show(self, diff: dict[str, Any]) -> dict[str, str]:
        self.clear()
        texts = mark_texts(diff)
        nodes = self.canvas.graph_scene.nodes
        for nid, text in texts.items():
            node = nodes.get(nid)
            if node is None:
                continue
            mark = QGraphicsSimpleTextItem(text, node)
            first = nid == diff["first_divergence"]
            mark.setBrush(QBrush(self.theme.state_color("failed" if first else "waiting")))
            mark.setZValue(10)
            rect = node.boundingRect()
            mark.setPos(rect.left(), rect.bottom() + 4)
            self.items[nid] = mark
        return texts


class RecordActions(QObject):
    """Replay, Re-run reusing and Diff for the window's RunView."""

    def __init__(self, view: Any) -> None:
        super().__init__(view)
        self.view = view
        self.window = view.window
        self.marks = DiffMarks(self.window.canvas, self.window.theme)
        self.confirm_reuse = confirm_reuse
        self.show_diff = show_diff
        self.last_diff: dict[str, Any] | None = None
        panels = view.panels
        panels.replay_run_requested.connect(self.replay)
        panels.reuse_requested.connect(self.rerun_reusing)
        panels.diff_requested.connect(self.diff)

    def _say(self, text: str) -> str:
        self.window.show_status(text)
        return text

    def _store(self) -> Any:
        return self.view.controller.history_store()

    def replay(self, run_id: str) -> str | None:
        """Re-execute `run_id` from its record as a live run; returns why not, or None."""
        from engine.record.replay import Unreplayable, prepare_replay

        store = self._store()
        if store is None:
            return self._say("Cannot replay: the run history is off.")
        try:
            replay = prepare_replay(store, run_id, self.window.registry)
        except Unreplayable as exc:
            return self._say(f"Cannot replay: {exc}")
        recording = EditorRecording(replay.source, replay_of=run_id)
        path = Path(replay.workflow_path) if replay.workflow_path else None
        self.marks.clear()
        why = self.view.controller.start(
            self.window.document.workflow, self.window.registry,
            path.parent if path else None, inputs=replay.inputs, path=path,
            recording=recording, snapshot=replay.compiled.workflow)
        return self._say(why) if why else self._say(f"Replaying run {run_id} from its record")

    def rerun_reusing(self, run_id: str) -> str | None:
        """Run the open document reusing `run_id`'s record, after asking."""
        from engine.compile import compile_workflow
        from engine.errors import CompileError
        from engine.executor import resolve_inputs
        from engine.record.reuse import plan_reuse
        from engine.record.store import PRUNED, load_record

        store = self._store()
        record = load_record(store, run_id) if store is not None else None
        if record is None or record.state == PRUNED:
            return self._say(f"Cannot reuse run {run_id}: "
                             f"{'it has no record' if record is None else record.note}")
        document = self.window.document
        try:
            compiled = compile_workflow(document.workflow.copy(), self.window.registry)
        except CompileError as exc:
            return self._say(f"Cannot run: {exc}")
        try:
            inputs = resolve_inputs(compiled, record.inputs)
        except Exception:  # noqa: BLE001 - the document's inputs changed: its defaults
            inputs = resolve_inputs(compiled, None)
        plan = plan_reuse(compiled, record, inputs)
        if not self.confirm_reuse(self.window, plan, run_id):
            return self._say("Run cancelled.")
        from builder.mainwindow import read_secret  # the window's credential lookup

        path = Path(document.path) if document.path else None
        recording = EditorRecording(plan.source, reuse=plan.reuse)
        self.marks.clear()
        why = self.view.controller.start(document.workflow, self.window.registry,
                                         path.parent if path else None, secrets=read_secret,
                                         inputs=inputs, path=path, recording=recording)
        return self._say(why) if why else self._say(
            f"Running, reusing run {run_id}: {plan.summary()}")

    def diff(self, run_a: str, run_b: str) -> dict[str, Any] | None:
        from engine.rundiff import RunMissing, diff_runs

        store = self._store()
        if store is None:
            self._say("Cannot compare: the run history is off.")
            return None
        try:
            result = diff_runs(store, run_a, run_b)
        except RunMissing as exc:
            self._say(f"Cannot compare: {exc}")
            return None
        self.last_diff = result
        self.marks.show(result)
        first = result["first_divergence"]
        self._say(f"Run {run_a} → {run_b}: " + (f"first divergence at {first}" if first
                                                else "no differences"))
        self.show_diff(self.window, result, f"Run {run_a} → {run_b}")
        return result
