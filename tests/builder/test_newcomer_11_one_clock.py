"""Point 11: one clock for durations — a delay lasts what it says in the editor (qasync's
coarse Qt timers woke sleeps early), and the canvas, inspector, timeline and charts all show
the engine's own monotonic timing of it."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt

from engine.compile import compile_workflow
from engine.executor import Run
from engine.model import Edge, Node, Workflow
from tests.builder.newcomer_support import click_node, make_window, press, run_to_end, write
from tests.builder.shell_support import make_registry

SECONDS = 1.0


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))


def delay_workflow() -> Workflow:
    return Workflow(name="Wait", nodes=[
        Node("v", "data.value", "Value", {"value": 1}, (0, 0)),
        Node("wait", "util.delay", "Delay", {"seconds": SECONDS}, (240, 0)),
        Node("out", "flow.output", "Result", {"name": "result"}, (480, 0)),
    ], edges=[Edge("v", "out", "wait", "in"), Edge("wait", "out", "out", "in")])


def test_a_delay_shows_the_same_engine_duration_everywhere_in_the_editor(
        qtbot, qloop, tmp_path, data_dir):
    window = make_window(qtbot, tmp_path)
    assert window.open_path(write(tmp_path, "wait.loom.json", delay_workflow()))
    press(qtbot, window, Qt.Key.Key_F5)
    result = run_to_end(window, qloop)
    engine_s = result.nodes["wait"].duration_s
    assert engine_s >= SECONDS  # not woken early by the editor's event loop
    assert window.run_view.overlay.views["wait"].duration_s == engine_s
    panels = window.run_view.panels
    assert panels.charts.bar_data()["wait"] == engine_s
    bar = next(b for b in panels.timeline.model.bars if b.node_id == "wait")
    assert abs((bar.end - bar.start) - engine_s) < 0.02  # the same events' monotonic stamps
    click_node(qtbot, window, "wait")
    assert window.runner.node_record("wait")["duration_s"] == engine_s

    headless = Run(compile_workflow(delay_workflow(), make_registry()))
    headless_s = asyncio.run(headless.execute()).nodes["wait"].duration_s
    assert abs(headless_s - engine_s) < 0.1  # 1.91 s vs 2.006 s before
