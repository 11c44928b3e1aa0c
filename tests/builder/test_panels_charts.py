"""Charts dock: counts over time, per-node durations and CPU/memory samples from real runs."""

from __future__ import annotations

import pytest

from builder.panels import RunPanels
from engine import events as ev
from tests.builder.test_panels_support import EXAMPLES, compile_file, flat, record


def test_counts_match_finished_executions_and_bars_match_node_durations(qtbot, qloop):
    compiled = compile_file(EXAMPLES / "foreach_parallel.loom.json")
    panels = RunPanels()
    batches, result = record(qloop, compiled, panels=panels)
    events = flat(batches)
    charts = panels.charts
    ended = [e for e in events if isinstance(e, (ev.NodeFinished, ev.NodeFailed))]
    xs, done = charts.done_curve.getData()
    assert done[-1] == len(ended)
    assert list(done) == sorted(done)  # the finished count never goes down
    _, running = charts.running_curve.getData()
    assert max(running) >= 2  # four iterations at once
    assert running[-1] == 0
    assert list(xs) == sorted(xs)
    bars = charts.bar_data()
    ran = {nid: nr for nid, nr in result.nodes.items() if nr.runs}
    assert set(bars) == set(ran)
    for nid, node_run in ran.items():
        assert bars[nid] == pytest.approx(node_run.duration_s)
    assert bars["wait"] >= 6 * 0.1 * 0.9  # six iterations of 0.1 s each, summed


def test_cpu_and_memory_are_sampled_while_a_run_is_live(qtbot, qloop):
    compiled = compile_file(EXAMPLES / "foreach_parallel.loom.json")  # ~0.25 s with 4 at once
    panels = RunPanels()
    record(qloop, compiled, panels=panels)
    charts = panels.charts
    cpu_x, cpu_y = charts.cpu_curve.getData()
    _, mem_y = charts.memory_curve.getData()
    assert len(cpu_x) >= 2 and len(mem_y) == len(cpu_x)  # at start, ~2 Hz, at the end
    assert all(m > 10 for m in mem_y)  # a Python + Qt process holds well over 10 MB
    assert all(c >= 0 for c in cpu_y)
    assert not charts.sampler.isActive()  # stopped with the run


def test_sampler_ticks_at_about_two_hertz_during_a_long_run(qtbot, qloop):
    compiled = compile_file(EXAMPLES / "parallel.loom.json")
    panels = RunPanels()
    panels.on_run_started(compiled, "r1")
    assert panels.charts.sampler.isActive()
    qtbot.waitUntil(lambda: panels.charts.cpu.n >= 3, timeout=5000)
    x, _ = panels.charts.cpu.data()
    assert list(x) == sorted(x)
