"""The inspector's "Last run" section: status, inputs, outputs and log of the selected node.

`last_run_widget(record)` builds it from `RunController.node_record(node_id)` (None: no run yet).
Values are shown as indented JSON in read-only boxes, cut at PREVIEW_CHARS.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from builder.runview.approvals import pretty

PREVIEW_CHARS = 4000


def _box(text: str, name: str, height: int = 90) -> QPlainTextEdit:
    if len(text) > PREVIEW_CHARS:
        text = text[:PREVIEW_CHARS] + "\n…"
    box = QPlainTextEdit(text)
    box.setObjectName(name)
    box.setReadOnly(True)
    box.setMaximumHeight(height)
    return box


def last_run_widget(record: dict[str, Any] | None) -> QWidget | None:
    if record is None:
        return None
    widget = QWidget()
    widget.setObjectName("LastRun")
    layout = QVBoxLayout(widget)
    layout.setContentsMargins(0, 0, 0, 0)
    status = record["status"]
    if record.get("cached"):
        status += " (outputs reused from the run before)"
    elif record.get("duration_s"):
        status += f" in {record['duration_s'] * 1000:.0f} ms"
        attempts = record.get("attempt_durations_s") or ()
        if len(attempts) > 1:  # running time is the sum; say how each attempt went
            status += " over attempts of " + ", ".join(f"{d * 1000:.0f}" for d in attempts)
            status += " ms"
        if record.get("queued_s", 0) >= 0.001:
            status += f", after {record['queued_s'] * 1000:.0f} ms waiting for a slot"
    detail = record.get("error") or record.get("reason")
    label = QLabel(status + (f": {detail}" if detail else ""))
    label.setObjectName("LastRunStatus")
    label.setWordWrap(True)
    layout.addWidget(label)
    if record.get("inputs") is not None:
        layout.addWidget(QLabel("Inputs"))
        layout.addWidget(_box(pretty(record["inputs"]), "LastRunInputs"))
    if record.get("outputs") is not None:
        layout.addWidget(QLabel("Outputs"))
        layout.addWidget(_box(pretty(record["outputs"]), "LastRunOutputs"))
    if record.get("log"):
        layout.addWidget(QLabel("Log"))
        lines = "\n".join(f"{level}: {message}" for level, message in record["log"])
        layout.addWidget(_box(lines, "LastRunLog", 120))
    return widget
