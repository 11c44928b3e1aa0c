"""The inspector's form is generated from Param metadata and edits the model through undo."""

from __future__ import annotations

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
)

from builder.inspector import Inspector
from builder.inspector_fields import monospace
from engine.fileformat import dumps
from engine.model import Node, Workflow
from tests.builder.shell_support import make_registry


def make_inspector(qtbot, names=None):
    workflow = Workflow(name="W", nodes=[Node("n1", "test.everything", "Thing", {}, (0, 0)),
                                         Node("n2", "data.value", "", {"value": 1}, (200, 0))])
    inspector = Inspector(credential_names=names)
    stack = QUndoStack(inspector)  # deleted with the inspector, not by the cyclic collector
    qtbot.addWidget(inspector)
    inspector.set_document(workflow, make_registry(), stack)
    inspector.show_node("n1")
    inspector.show()
    return inspector, workflow, stack


def test_each_param_type_gets_its_own_kind_of_field(qtbot):
    inspector, _, _ = make_inspector(qtbot, names=lambda: ["openai", "github"])
    kinds = {name: type(field.widget) for name, field in inspector.fields.items()}
    assert kinds["label"] is QLineEdit and kinds["expr"] is not None
    assert issubclass(kinds["count"], QSpinBox) and issubclass(kinds["ratio"], QDoubleSpinBox)
    assert kinds["enabled"] is QCheckBox and kinds["mode"] is QComboBox
    assert issubclass(kinds["notes"], QPlainTextEdit) and issubclass(kinds["items"],
                                                                     QPlainTextEdit)
    assert inspector.fields["expr"].widget.font().family() == monospace().family()
    assert inspector.fields["script"].widget.font().family() == monospace().family()
    token = inspector.fields["token"].widget
    assert isinstance(token, QComboBox)
    assert [token.itemText(i) for i in range(token.count())] == ["github", "openai"]
    # Values shown are the node's, with defaults filled in.
    assert inspector.fields["label"].widget.text() == "hi"
    assert inspector.fields["count"].widget.value() == 2


def test_editing_a_field_changes_the_model_and_undo_restores_it(qtbot):
    inspector, workflow, stack = make_inspector(qtbot)
    before = dumps(workflow)
    line = inspector.fields["label"].widget
    line.setFocus()
    line.selectAll()
    qtbot.keyClicks(line, "hello there")
    line.editingFinished.emit()
    assert workflow.node("n1").params["label"] == "hello there"
    inspector.fields["count"].widget.setValue(7)
    inspector.fields["enabled"].widget.setChecked(False)
    inspector.fields["mode"].widget.setCurrentIndex(1)
    assert workflow.node("n1").params == {"label": "hello there", "count": 7,
                                          "enabled": False, "mode": "slow"}
    assert stack.count() == 4
    stack.undo()
    stack.undo()
    assert "mode" not in workflow.node("n1").params
    assert inspector.fields["enabled"].widget.isChecked()  # the form follows undo
    while stack.canUndo():
        stack.undo()
    assert dumps(workflow) == before
    assert inspector.fields["label"].widget.text() == "hi"


def test_json_fields_refuse_text_that_is_not_json_and_push_nothing(qtbot):
    inspector, workflow, stack = make_inspector(qtbot)
    field = inspector.fields["items"]
    field.widget.setPlainText("[1, 2,")
    field.flush()
    assert stack.count() == 0
    assert "not valid JSON" in inspector.errors["items"].text()
    assert inspector.errors["items"].isVisible()
    field.widget.setPlainText('[1, 2, "three"]')
    field.flush()
    assert workflow.node("n1").params["items"] == [1, 2, "three"]
    assert not inspector.errors["items"].isVisible()


def test_engine_validation_messages_show_under_the_field_they_name(qtbot):
    inspector, workflow, stack = make_inspector(qtbot)
    line = inspector.fields["expr"].widget
    line.setText("x +")  # does not parse
    line.editingFinished.emit()
    assert workflow.node("n1").params["expr"] == "x +"
    assert inspector.errors["expr"].isVisible() and inspector.errors["expr"].text()
    assert not inspector.errors["label"].isVisible()
    stack.undo()
    assert not inspector.errors["expr"].isVisible()


def test_node_settings_are_edited_through_commands(qtbot):
    inspector, workflow, stack = make_inspector(qtbot)
    inspector._title.setText("Renamed")
    inspector._title.editingFinished.emit()
    inspector._timeout.setValue(12.5)
    inspector._attempts.setValue(3)
    inspector._on_error.setCurrentIndex(1)
    node = workflow.node("n1")
    assert (node.title, node.timeout_s, node.on_error) == ("Renamed", 12.5, "continue")
    assert node.retry["max_attempts"] == 3
    while stack.canUndo():
        stack.undo()
    node = workflow.node("n1")
    assert (node.title, node.timeout_s, node.on_error, node.retry) == ("Thing", None, None, None)


def test_selection_switches_the_form_and_a_removed_node_clears_it(qtbot):
    inspector, workflow, _ = make_inspector(qtbot)
    inspector.show_selection(["n2"])
    assert list(inspector.fields) == ["value"]
    inspector.show_selection(["n1", "n2"])
    assert inspector.fields == {} and inspector.node_id is None
    inspector.show_node("n2")
    workflow.remove_node("n2")
    assert inspector.node_id is None and inspector.fields == {}


def test_a_number_without_a_default_can_be_left_unset(qtbot):
    workflow = Workflow(name="W", nodes=[Node("c", "ai.chat", "", {"max_tokens": 50}, (0, 0))])
    inspector = Inspector()
    stack = QUndoStack(inspector)
    qtbot.addWidget(inspector)
    inspector.set_document(workflow, make_registry(), stack)
    inspector.show_node("c")
    box = inspector.fields["max_tokens"].widget
    assert box.value() == 50
    box.setValue(box.minimum())
    assert box.text() == "not set"
    assert "max_tokens" not in workflow.node("c").params
    stack.undo()
    assert workflow.node("c").params["max_tokens"] == 50 and box.value() == 50
