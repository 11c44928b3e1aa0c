"""Log dock: node logs and engine messages from real runs, filters, click selects the node."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from builder.panels import RunPanels
from engine import Edge, Node, Workflow, compile_workflow
from engine import events as ev
from nodes import default_registry
from tests.builder.test_panels_support import EXAMPLES, compile_file, flat, record


def _logging_workflow() -> Workflow:
    nodes = [Node("start", "flow.start", params={"inputs": {"name": "ada"}}),
             Node("hello", "util.log", title="Say hello",
                  params={"message": "hello {{ x['name'] }}", "level": "info"}),
             Node("careful", "util.log", title="Careful",
                  params={"message": "careful with {{ x['name'] }}", "level": "warning"}),
             Node("detail", "util.log", params={"message": "detail", "level": "debug"})]
    edges = [Edge("start", "out", "hello", "in"), Edge("start", "out", "careful", "in"),
             Edge("start", "out", "detail", "in")]
    return Workflow("logs", nodes=nodes, edges=edges)


def test_log_shows_node_logs_and_filters_by_node_and_level(qtbot, qloop):
    compiled = compile_workflow(_logging_workflow(), default_registry(plugins=False))
    panels = RunPanels()
    qtbot.addWidget(panels.dock("LogDock"))
    batches, result = record(qloop, compiled, panels=panels)
    assert result.ok
    log = panels.log
    logged = [(e.node_id, e.level, e.message) for e in flat(batches)
              if isinstance(e, ev.NodeLogged)]
    assert ("hello", "info", "hello ada") in logged
    log.set_level_filter("debug")
    shown = log.visible_lines()
    assert all((n, lv, m) in [(x.node_id, x.level, x.message) for x in shown]
               for n, lv, m in logged)
    assert any(x.node_id == "" and "succeeded" in x.message for x in shown)  # engine message
    log.set_node_filter("careful")
    assert {x.node_id for x in log.visible_lines()} == {"careful"}
    assert "careful with ada" in [x.message for x in log.visible_lines()]
    log.set_node_filter(None)
    log.set_level_filter("warning")
    assert [(x.node_id, x.message) for x in log.visible_lines()] == [
        ("careful", "careful with ada")]
    log.set_level_filter("info")
    assert "detail" not in [x.message for x in log.visible_lines()]
    assert "hello ada" in [x.message for x in log.visible_lines()]


def test_clicking_a_log_line_selects_its_node(qtbot, qloop):
    compiled = compile_file(EXAMPLES / "foreach_parallel.loom.json")
    panels = RunPanels()
    dock = panels.dock("LogDock")
    qtbot.addWidget(dock)
    dock.resize(800, 400)
    dock.show()
    qtbot.waitExposed(dock)
    record(qloop, compiled, panels=panels)
    log = panels.log
    log.set_level_filter("debug")
    log.set_node_filter("upper")
    lines = log.visible_lines()
    assert lines and {x.node_id for x in lines} == {"upper"}
    assert any(x.iteration for x in lines)  # inside the loop: per iteration
    table = log.table
    table.scrollToTop()
    rect = table.visualRect(log.proxy.index(0, 3))
    with qtbot.waitSignal(panels.node_selected, timeout=2000) as blocker:
        QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == ["upper"]


def test_failures_and_retries_are_engine_messages_at_error_and_warning(qtbot, qloop):
    compiled = compile_file(EXAMPLES / "errors.loom.json")
    panels = RunPanels()
    batches, _ = record(qloop, compiled, panels=panels)
    events = flat(batches)
    retries = [e for e in events if isinstance(e, ev.NodeRetrying)]
    assert retries, "the example retries its division"
    panels.log.set_level_filter("warning")
    shown = panels.log.visible_lines()
    warnings = [x for x in shown if x.level == "warning" and "retrying" in x.message]
    assert len(warnings) == len(retries)
    failed = [e for e in events if isinstance(e, ev.NodeFailed)]
    assert len([x for x in shown if x.level == "error" and x.node_id]) == len(failed)


def test_run_panels_offer_five_named_docks_and_forward_their_signals(qtbot):
    panels = RunPanels()
    names = [d.objectName() for d in panels.docks]
    assert names == ["LogDock", "TimelineDock", "ChartsDock", "HistoryDock", "AnalyticsDock"]
    for dock in panels.docks:
        qtbot.addWidget(dock)
        assert dock.widget() is not None and dock.windowTitle()
    with qtbot.waitSignal(panels.node_selected, timeout=1000) as blocker:
        panels.log.node_selected.emit("n1")
    assert blocker.args == ["n1"]
    with qtbot.waitSignal(panels.replay_requested, timeout=1000) as blocker:
        panels.history.replay_requested.emit([1])
    assert blocker.args == [[1]]
