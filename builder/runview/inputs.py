"""The run-inputs dialog: when flow.start declares inputs, Run asks for their values first.

Each declared input gets a field pre-filled with its default, written as JSON (so `3` is a
number and `"3"` a string; text that is not JSON is taken as a plain string). `ask_inputs`
returns the values, or None when the person cancels (the run does not start).
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QWidget


def declared_inputs(workflow: Any) -> dict[str, Any]:
    """The inputs the workflow's flow.start node declares (name -> default), or {}."""
    for node in workflow.nodes.values():
        if node.type == "flow.start":
            inputs = node.params.get("inputs") or {}
            return dict(inputs) if isinstance(inputs, dict) else {}
    return {}


def parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


class InputsDialog(QDialog):
    def __init__(self, declared: dict[str, Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunInputsDialog")
        self.setWindowTitle("Run inputs")
        form = QFormLayout(self)
        form.addRow(QLabel("Values for this run (JSON; plain text is a string):"))
        self.fields: dict[str, QLineEdit] = {}
        for name, default in declared.items():
            field = QLineEdit(json.dumps(default, ensure_ascii=False, default=repr))
            field.setObjectName(f"input_{name}")
            self.fields[name] = field
            form.addRow(name, field)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, Any]:
        return {name: parse_value(field.text()) for name, field in self.fields.items()}


def ask_inputs(parent: QWidget | None, declared: dict[str, Any]) -> dict[str, Any] | None:
    """Ask for the run's inputs (modal); None when cancelled."""
    dialog = InputsDialog(declared, parent)
    try:
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.values()
    finally:
        dialog.deleteLater()
