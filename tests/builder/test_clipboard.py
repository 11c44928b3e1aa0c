"""Copy/cut/paste through the system clipboard as workflow JSON: within, across, from text."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QApplication

from builder import clipboard
from engine import fileformat
from engine.errors import WorkflowFileError
from engine.model import Edge
from tests.builder.canvas_helpers import make_canvas, saved


def test_copy_puts_a_loadable_workflow_with_the_inner_edges_on_the_clipboard(qtbot):
    canvas = make_canvas(qtbot)
    canvas.select_nodes(["double", "check", "big"])
    canvas.copy_selection()
    text = QApplication.clipboard().text()
    copied = fileformat.loads(text).workflow
    assert list(copied.nodes) == ["double", "check", "big"]
    assert [e.key() for e in copied.edges] == [("double", "out", "check", "in"),
                                               ("check", "true", "big", "x")]


def test_paste_within_a_canvas_gives_fresh_ids_an_offset_and_one_undo_entry(qtbot):
    canvas = make_canvas(qtbot)
    before = saved(canvas)
    canvas.select_nodes(["double", "check"])
    canvas.copy_selection()
    canvas.paste()
    assert canvas.selected_node_ids() == ["double1", "check1"]
    assert canvas.workflow.node("double1").position == (260.0, 40.0)
    assert Edge("double1", "out", "check1", "in") in canvas.workflow.edges
    assert canvas.workflow.node("check1").params == {"condition": "x > 5"}
    canvas.paste()
    assert canvas.workflow.node("double2").position == (300.0, 80.0), "repeats step further"
    assert canvas.undo_stack.count() == 2
    canvas.undo_stack.undo()
    canvas.undo_stack.undo()
    assert saved(canvas) == before


def test_paste_across_two_canvases_with_two_workflows(qtbot):
    first = make_canvas(qtbot)
    second = make_canvas(qtbot, "resources/examples/while.loom.json")
    second_before = set(second.workflow.nodes)
    first.select_nodes(["big", "small", "join"])
    first.copy_selection()
    second.paste()
    new = set(second.workflow.nodes) - second_before
    assert len(new) == 3
    assert {second.workflow.node(n).type for n in new} == {"data.expression", "flow.merge"}
    assert len([e for e in second.workflow.edges if e.target in new]) == 2
    assert set(second.graph_scene.nodes) == set(second.workflow.nodes)
    assert "big1" not in first.workflow.nodes, "the source is untouched"


def test_paste_accepts_plain_json_typed_in_a_text_editor(qtbot):
    canvas = make_canvas(qtbot)
    typed = """{"nodes": [
        {"id": "a", "type": "data.value", "params": {"value": 41}, "position": [0, 400]},
        {"id": "b", "type": "data.expression", "params": {"expr": "x + 1"},
         "position": [200, 400]}],
      "edges": [{"source": "a", "source_port": "out", "target": "b", "target_port": "x"}]}"""
    QApplication.clipboard().setText(typed)
    canvas.paste()
    assert canvas.workflow.node("a1").params == {"value": 41}
    assert canvas.workflow.node("b1").position == (240.0, 440.0)
    assert Edge("a1", "out", "b1", "x") in canvas.workflow.edges


def test_a_single_node_object_pastes_too(qtbot):
    canvas = make_canvas(qtbot)
    QApplication.clipboard().setText(json.dumps({"type": "flow.output",
                                                 "params": {"name": "z"}}))
    canvas.paste()
    assert [n.type for n in canvas.workflow.nodes.values()][-1] == "flow.output"


def test_pasting_text_that_is_not_a_workflow_changes_nothing_and_says_why(qtbot):
    canvas = make_canvas(qtbot)
    before = saved(canvas)
    messages: list[str] = []
    canvas.status_message.connect(messages.append)
    QApplication.clipboard().setText("hello, not json")
    canvas.paste()
    assert saved(canvas) == before and canvas.undo_stack.count() == 0
    assert messages[-1].startswith("Cannot paste:") and "JSON" in messages[-1]
    with pytest.raises(WorkflowFileError, match="no nodes"):
        clipboard.parse_paste(canvas.workflow, '{"edges": []}')


def test_cut_removes_the_nodes_and_pastes_them_back_with_their_frame(qtbot):
    canvas = make_canvas(qtbot)
    canvas.select_nodes(["big", "small"])
    canvas.frame_selection()
    canvas.select_nodes(["big", "small"])
    canvas.cut_selection()
    assert "big" not in canvas.workflow.nodes and canvas.workflow.frames == {}
    canvas.paste()
    assert {"big1", "small1"} <= set(canvas.workflow.nodes)
    frames = list(canvas.workflow.frames.values())
    assert [f.nodes for f in frames] == [["big1", "small1"]]
    assert set(canvas.graph_scene.frames) == {frames[0].id}
