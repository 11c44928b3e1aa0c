"""The editor opens a file that uses a renamed type's old id: the node shows as its type (not
as an unknown one), nothing asks about it, and saving writes the new id."""

from __future__ import annotations

import json

from PySide6.QtGui import QUndoStack

from builder.canvas import Canvas
from builder.document import Session
from builder.theme import dark_theme
from tests.builder.shell_support import Answers, temp_settings
from tests.engine.test_legacy_ids import WRITTEN_BEFORE, registry_with_shout


def test_opening_and_saving_a_file_with_an_old_type_id_writes_the_new_one(qtbot, tmp_path):
    registry = registry_with_shout()
    answers = Answers()
    session = Session(registry, temp_settings(tmp_path), answers.prompts())
    copy = tmp_path / "old.loom.json"
    copy.write_text(WRITTEN_BEFORE.read_text("utf-8"), "utf-8")
    assert session.open_file(copy)
    assert answers.errors == [], "no dialog about the old id"
    workflow = session.document.workflow
    assert workflow.node("yell").type == "text.shout"
    stack = QUndoStack()
    canvas = Canvas(workflow, registry, stack, dark_theme())
    stack.setParent(canvas)  # deleted with the canvas, not by the cyclic collector
    qtbot.addWidget(canvas)
    item = canvas.node_item("yell")
    assert not item.content.unknown and item.content.title == "Yell"
    assert [p.name for p in item.content.inputs] == ["x"]
    assert session.save()
    assert [n["type"] for n in json.loads(copy.read_text("utf-8"))["nodes"]][2] == "text.shout"
