"""The problems panel re-validates after edits (debounced) and points at the faulty node."""

from __future__ import annotations

from builder.problems import ProblemsPanel, validate
from engine.model import Edge, Node
from tests.builder.shell_support import make_registry, small_workflow


def test_validate_lists_errors_first_then_warnings():
    workflow = small_workflow()
    workflow.add_node(Node("lonely", "data.value", "", {"value": 1}, (0, 300)))
    registry = make_registry()
    assert [(p.node_id, p.is_error) for p in validate(workflow, registry)] == [("lonely", False)]
    workflow.set_param("b", "expr", "x +")
    problems = validate(workflow, registry)
    assert problems[0].is_error and problems[0].node_id == "b"


def test_panel_follows_model_changes_after_a_short_pause(qtbot):
    workflow = small_workflow()
    panel = ProblemsPanel()
    qtbot.addWidget(panel)
    seen = []
    panel.problems_changed.connect(seen.append)
    panel.set_document(workflow, make_registry())
    assert panel.list.count() == 0 and seen == [[]]
    assert "ready to run" in panel.summary.text()
    workflow.set_param("b", "expr", "x +")
    workflow.add_node(Node("ghost", "no.such_type", "", {}, (0, 200)))
    assert panel.pending() and panel.checks == 1  # debounced: not yet
    qtbot.waitUntil(lambda: panel.checks == 2, timeout=2000)
    texts = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert any("'b'" in t for t in texts) and any("no.such_type" in t for t in texts)
    assert {p.node_id for p in seen[-1]} >= {"b", "ghost"}
    assert "2 errors" in panel.summary.text()


def test_clicking_a_problem_asks_for_its_node(qtbot):
    workflow = small_workflow()
    workflow.add_edge(Edge("a", "out", "c", "nope"))  # an edge into a port that is not there
    panel = ProblemsPanel()
    qtbot.addWidget(panel)
    panel.set_document(workflow, make_registry())
    assert panel.errors()
    with qtbot.waitSignal(panel.node_requested) as blocker:
        panel.select_problem(0)
    assert blocker.args == ["c"]


def test_a_plugin_that_failed_to_load_is_listed_with_its_reason(qtbot, tmp_path):
    from nodes import default_registry
    from nodes.plugins import load_folder

    (tmp_path / "broken.py").write_text("raise RuntimeError('plugin exploded')\n")
    registry = default_registry(plugins=False)
    load_folder(registry, tmp_path)
    panel = ProblemsPanel()
    qtbot.addWidget(panel)
    panel.set_document(small_workflow(), registry)
    texts = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert len(texts) == 1 and texts[0].startswith("Plugin ")
    assert "broken.py" in texts[0] and "RuntimeError: plugin exploded" in texts[0]
    assert "ready to run" in panel.summary.text() and "1 plugin not loaded" in panel.summary.text()
    panel.select_problem(0)  # no node to go to: nothing happens, nothing breaks
