"""The inspector dock: a form for the selected node, generated from its type's Param metadata.

Every edit becomes one undoable command (SetParamCommand / SetNodeFieldCommand) on the document's
undo stack; the form follows the model (undo, redo, edits elsewhere) through `node_changed`.
Problems the engine finds with the node's params (engine.validate.check_params) are shown under
the field they name; a field whose text cannot be read (bad JSON) says so and pushes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from builder.commands import SetNodeFieldCommand, SetParamCommand
from builder.inspector_fields import Field, make_field
from engine.errors import RegistryError
from engine.model import Node, Workflow
from engine.validate import check_workflow

_PARAM_PROBLEM = re.compile(r"^parameter '([^']+)'[: ]\s*(.*)$")
ON_ERROR_CHOICES = (("fail — stop the run", None), ("continue — send it out of 'error'",
                                                    "continue"))


def _label(text: str, role: str | None = None, wrap: bool = False) -> QLabel:
    label = QLabel(text)
    if role:
        label.setProperty("role", role)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class Inspector(QWidget):
    def __init__(self, credential_names: Callable[[], list[str]] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.credential_names = credential_names
        self.workflow: Workflow | None = None
        self.registry: Any = None
        self.undo_stack: QUndoStack | None = None
        self.node_id: str | None = None
        self.fields: dict[str, Field] = {}
        self.errors: dict[str, QLabel] = {}
        # node id -> the "Last run" section's content (set by the window), or None
        self.last_run: Callable[[str], QWidget | None] | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._scroll = QScrollArea(self)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._scroll)
        self._build_empty()

    # --- wiring ----------------------------------------------------------------------------
    def set_document(self, workflow: Workflow, registry: Any, undo_stack: QUndoStack) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.workflow, self.registry, self.undo_stack = workflow, registry, undo_stack
        self._unsubscribe = [workflow.node_changed.subscribe(self._on_node_changed),
                             workflow.node_removed.subscribe(self._on_node_removed),
                             # a wire can fix (or cause) a problem the form shows
                             workflow.edge_added.subscribe(self._on_edges_changed),
                             workflow.edge_removed.subscribe(self._on_edges_changed)]
        self.show_node(None)

    def show_node(self, node_id: str | None) -> None:
        """Show the form of `node_id` (None, or a node that is gone: the empty hint)."""
        if self.workflow is None or node_id not in (self.workflow.nodes if node_id else {}):
            self.node_id = None
            self._build_empty()
            return
        self.node_id = node_id
        self._build_form(self.workflow.node(node_id))

    def show_selection(self, node_ids: list[str]) -> None:
        self.show_node(node_ids[0] if len(node_ids) == 1 else None)
        if len(node_ids) > 1:
            self._build_empty(f"{len(node_ids)} nodes selected")

    def refresh_last_run(self) -> None:
        """A run ended: rebuild the shown node's form so its Last run section is current."""
        if self.node_id is not None:
            self.show_node(self.node_id)

    def _on_node_changed(self, node: Node, fields: tuple[str, ...]) -> None:
        if node.id == self.node_id:
            self._refresh(node)

    def _on_edges_changed(self, *_args: object) -> None:
        node = self._node()
        if node is not None and hasattr(self, "_node_problems"):
            self._show_problems(node, self._node_type(node))

    def _on_node_removed(self, node: Node, _index: int) -> None:
        if node.id == self.node_id:
            self.show_node(None)

    # --- building --------------------------------------------------------------------------
    def _replace_content(self, content: QWidget) -> None:
        old = self._scroll.takeWidget()
        self._scroll.setWidget(content)
        if old is not None:
            old.deleteLater()

    def _build_empty(self, text: str = "Select a node to edit its settings.") -> None:
        self.fields, self.errors = {}, {}
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(12, 12, 12, 12)
        hint = _label(text, "dim", wrap=True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(1)
        layout.addWidget(hint)
        layout.addStretch(2)
        self._replace_content(content)

    def _node_type(self, node: Node) -> Any:
        try:
            return self.registry.get(node.type)
        except RegistryError:
            return None

    def _build_form(self, node: Node) -> None:
        node_type = self._node_type(node)
        self.fields, self.errors = {}, {}
        content = QWidget()
        outer = QVBoxLayout(content)
        outer.setContentsMargins(12, 10, 12, 12)
        outer.setSpacing(6)
        self._heading = _label("", "heading")
        outer.addWidget(self._heading)
        outer.addWidget(_label(f"{node.type} · id {node.id}", "dim"))
        if node_type is not None and node_type.description:
            outer.addWidget(_label(node_type.description, "dim", wrap=True))
        self._title = QLineEdit(node.title)
        self._title.setPlaceholderText(node_type.title if node_type else "")
        self._title.editingFinished.connect(self._commit_title)
        form = self._section(outer, "Node")
        form.addRow("Title", self._title)
        if node_type is None:
            outer.addWidget(_label(f"Unknown node type {node.type!r}: its parameters are kept "
                                   "as they are.", "error", wrap=True))
        elif node_type.parameters:
            form = self._section(outer, "Parameters")
            for param in node_type.parameters:
                self._add_param_row(form, param)
        self._add_settings(outer)
        self._node_problems = _label("", "error", wrap=True)
        outer.addWidget(self._node_problems)
        last_run = self.last_run(node.id) if self.last_run is not None else None
        if last_run is not None:
            outer.addSpacing(6)
            outer.addWidget(_label("Last run", "heading"))
            outer.addWidget(last_run)
        outer.addStretch(1)
        self._replace_content(content)
        self._refresh(node)

    def _section(self, outer: QVBoxLayout, title: str) -> QFormLayout:
        outer.addSpacing(6)
        outer.addWidget(_label(title, "heading"))
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setHorizontalSpacing(8)
        form.setVerticalSpacing(6)
        outer.addLayout(form)
        return form

    def _add_param_row(self, form: QFormLayout, param: Any) -> None:
        field = make_field(param, self.credential_names)
        field.committed.connect(lambda name=param.name: self._commit_param(name))
        label = QLabel(param.name.replace("_", " ") + (" *" if param.required else ""))
        tip = param.help or ""
        if param.default not in (None, "", [], {}):
            tip += f"{' — ' if tip else ''}default: {param.default!r}"
        label.setToolTip(tip)
        field.widget.setToolTip(tip)
        error = _label("", "error", wrap=True)
        error.hide()
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(field.widget)
        column.addWidget(error)
        form.addRow(label, box)
        self.fields[param.name] = field
        self.errors[param.name] = error

    def _add_settings(self, outer: QVBoxLayout) -> None:
        form = self._section(outer, "When it runs")
        self._timeout = QDoubleSpinBox()
        self._timeout.setRange(0, 86_400)
        self._timeout.setDecimals(1)
        self._timeout.setSpecialValueText("no limit")
        self._timeout.setSuffix(" s")
        self._timeout.setKeyboardTracking(False)
        self._timeout.valueChanged.connect(self._commit_timeout)
        self._attempts = QSpinBox()
        self._attempts.setRange(1, 100)
        self._attempts.setSpecialValueText("once (no retry)")
        self._attempts.setKeyboardTracking(False)
        self._attempts.valueChanged.connect(self._commit_retry)
        self._backoff = QDoubleSpinBox()
        self._backoff.setRange(0, 3600)
        self._backoff.setDecimals(1)
        self._backoff.setSuffix(" s")
        self._backoff.setKeyboardTracking(False)
        self._backoff.valueChanged.connect(self._commit_retry)
        self._on_error = QComboBox()
        for text, value in ON_ERROR_CHOICES:
            self._on_error.addItem(text, value)
        self._on_error.currentIndexChanged.connect(self._commit_on_error)
        form.addRow("Timeout", self._timeout)
        form.addRow("Attempts", self._attempts)
        form.addRow("Backoff", self._backoff)
        form.addRow("On error", self._on_error)

    # --- model -> form ---------------------------------------------------------------------
    def _refresh(self, node: Node) -> None:
        node_type = self._node_type(node)
        self._heading.setText(node.title or (node_type.title if node_type else node.type))
        if self._title.text() != node.title:
            with QSignalBlocker(self._title):
                self._title.setText(node.title)
        if node_type is not None:
            params = node_type.with_defaults(node.params)
            for name, field in self.fields.items():
                field.set_value(params.get(name))
                # the field shows the model's value again: its old parse error is gone
                self.errors[name].setProperty("parse_error", False)
        with QSignalBlocker(self._timeout):
            self._timeout.setValue(node.timeout_s if isinstance(node.timeout_s, (int, float))
                                   else 0)
        retry = node.retry if isinstance(node.retry, dict) else {}
        with QSignalBlocker(self._attempts), QSignalBlocker(self._backoff):
            self._attempts.setValue(int(retry.get("max_attempts", 1) or 1))
            self._backoff.setValue(float(retry.get("backoff_s", 1.0) or 0))
        self._backoff.setEnabled(self._attempts.value() > 1)
        with QSignalBlocker(self._on_error):
            self._on_error.setCurrentIndex(1 if node.on_error == "continue" else 0)
        self._show_problems(node, node_type)

    def _show_problems(self, node: Node, node_type: Any) -> None:
        by_field: dict[str, list[str]] = {}
        general: list[str] = []
        for problem in check_workflow(self.workflow, self.registry):
            if problem.node_id != node.id or not problem.is_error:
                continue
            match = _PARAM_PROBLEM.match(problem.message)
            if match and match.group(1) in self.fields:
                by_field.setdefault(match.group(1), []).append(match.group(2))
            elif problem.edge is None and node_type is not None:
                general.append(problem.message)
        for name, label in self.errors.items():
            if label.property("parse_error"):
                continue  # the field's own unreadable text is the more useful message
            messages = by_field.get(name, [])
            label.setText("; ".join(messages))
            label.setVisible(bool(messages))
            self.fields[name].set_invalid(bool(messages))
        self._node_problems.setText("\n".join(general))
        self._node_problems.setVisible(bool(general))

    # --- form -> commands ------------------------------------------------------------------
    def _push(self, command: Any) -> None:
        if self.undo_stack is not None:
            self.undo_stack.push(command)

    def _node(self) -> Node | None:
        if self.workflow is None or self.node_id not in self.workflow.nodes:
            return None
        return self.workflow.node(self.node_id)

    def _commit_param(self, name: str) -> None:
        node = self._node()
        field = self.fields.get(name)
        if node is None or field is None:
            return
        error = self.errors[name]
        try:
            value = field.read()
        except ValueError as exc:
            error.setProperty("parse_error", True)
            error.setText(str(exc))
            error.show()
            field.set_invalid(True)
            return
        error.setProperty("parse_error", False)
        node_type = self._node_type(node)
        current = node_type.with_defaults(node.params).get(name) if node_type else None
        if value == current and type(value) is type(current):
            self._show_problems(node, node_type)
            return
        self._push(SetParamCommand(self.workflow, node.id, name, value))

    def _commit_field(self, name: str, value: Any) -> None:
        node = self._node()
        if node is not None and getattr(node, name) != value:
            self._push(SetNodeFieldCommand(self.workflow, node.id, name, value))

    def _commit_title(self) -> None:
        self._commit_field("title", self._title.text().strip())

    def _commit_timeout(self, value: float) -> None:
        self._commit_field("timeout_s", float(value) if value > 0 else None)

    def _commit_retry(self, *_args: object) -> None:
        attempts = self._attempts.value()
        self._backoff.setEnabled(attempts > 1)
        retry = None if attempts <= 1 else {"max_attempts": attempts,
                                            "backoff_s": self._backoff.value()}
        self._commit_field("retry", retry)

    def _commit_on_error(self, _index: int) -> None:
        self._commit_field("on_error", self._on_error.currentData())
