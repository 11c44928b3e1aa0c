"""The live view's work per loop turn on a slow machine (issue 17, h/live): the timeline's
cached rects after the span grows equal a full redraw's, the critical path's live pass is
spread over redraws and still ends as the whole pass, the GIL comes back to the loop quickly
while a run is live, and a kept run layer is repainted whole at the first frame tick."""

from __future__ import annotations

import sys

from PySide6.QtCore import QRectF

from builder.panels.timeline import TimelinePanel
from builder.panels.timeline_model import TimelineModel
from builder.runview import handover
from builder.runview.handover import QuickHandover
from builder.theme import dark_theme
from engine import events as ev
from engine.model import Edge, Node, Workflow
from engine.runfold import RunFold
from tests.builder.test_overlay import make


def _drawn(panel: TimelinePanel) -> dict[str, list[tuple[float, ...]]]:
    def key(r: QRectF) -> tuple[float, ...]:
        return (round(r.x(), 9), round(r.y(), 9), round(r.width(), 9), round(r.height(), 9))

    out: dict[str, list[tuple[float, ...]]] = {}
    for color, rects in panel.bars.groups:
        out.setdefault(color.name(), []).extend(key(r) for r in rects)
    return {k: sorted(v) for k, v in out.items()}


def _chain_events(count: int, t0: float = 100.0) -> tuple[Workflow, list[object]]:
    """`count` quick nodes in a chain, all ended within a few ms, then a slow one, open."""
    nodes = [Node(f"n{i}", "data.value", "", {}, (0.0, 0.0)) for i in range(count)]
    edges = [Edge(f"n{i - 1}", "out", f"n{i}", "in") for i in range(1, count)]
    events: list[object] = [ev.RunStarted("r", "w", count + 1, {}, t0, 0.0)]
    t = t0
    for i in range(count):
        events += [ev.NodeStarted(f"n{i}", (), 1, t), ev.NodeFinished(f"n{i}", (), 1e-4, {},
                                                                      t + 1e-4)]
        t += 2e-4
    events.append(ev.NodeStarted("slow", (), 1, t))
    nodes.append(Node("slow", "data.value", "", {}, (0.0, 0.0)))
    edges.append(Edge(f"n{count - 1}", "out", "slow", "in"))
    return Workflow(nodes=nodes, edges=edges), events


def test_narrow_bars_after_the_span_grows_are_drawn_as_a_full_redraw_draws_them(qtbot):
    clock = [100.0]
    panels = []
    for _ in range(2):
        panel = TimelinePanel(dark_theme(), clock=lambda: clock[0])
        panel.wall_clock = lambda: clock[0]
        qtbot.addWidget(panel)
        panel.resize(800, 300)
        panel.show()
        panels.append(panel)
    live, fresh = panels
    fold = RunFold()
    live.reset(None, fold)
    _workflow, events = _chain_events(300)
    fold.feed(events[:1])
    for i in range(1, len(events), 20):  # redraws while the quick bars end, the span 1 s
        fold.feed(events[i:i + 20])
        live.refresh()
    least = live._least
    clock[0] = 101.5  # the slow bar reaches the time axis' end: the span (and least) grow
    live.refresh()
    assert live._least > least
    fresh.reset(None, fold)
    fresh._span, fresh._shown = live._span, live._shown  # (the same view, drawn from scratch)
    fresh.following = False
    fresh.refresh()
    assert fresh._least == live._least
    assert _drawn(live) == _drawn(fresh)
    assert sum(len(r) for r in _drawn(live).values()) == 301


def test_the_live_critical_path_pass_is_spread_over_redraws_and_ends_as_the_whole_pass():
    workflow, events = _chain_events(400)
    compiled = type("Compiled", (), {"nodes": {}, "workflow": workflow})()
    model = TimelineModel()
    fold = RunFold()
    fold.reset(workflow)
    model.reset(compiled, fold)
    fold.feed(events)
    chain = model.advance(budget_s=0.0)  # a redraw with no time to spare: one step of 16
    assert 0 < len(chain.backlog) < 400
    steps = 1
    while chain.backlog:
        model.advance(budget_s=0.0)
        steps += 1
    assert steps > 2
    fold.feed([ev.NodeFinished("slow", (), 1.0, {}, 101.0),
               ev.RunFinished("r", "succeeded", {}, None, 1.0, 101.0)])
    found = model.critical_path()
    assert chain.result() is not None  # (the carried pass, not the whole pass again)
    assert [b.node_id for b in found] == [b.node_id for b in model._longest_chain()]
    assert [b.node_id for b in found] == [f"n{i}" for i in range(400)] + ["slow"]


def test_the_switch_interval_is_short_while_a_run_holds_it_and_put_back_after():
    before = sys.getswitchinterval()
    hold = QuickHandover()
    hold.hold()
    hold.hold()  # (held twice: put back once, to what it was)
    try:
        assert sys.getswitchinterval() == min(before, handover.RUN_S)
    finally:
        hold.release()
    assert sys.getswitchinterval() == before
    hold.release()
    assert sys.getswitchinterval() == before


def test_a_kept_run_layer_is_repainted_whole_at_the_first_frame_tick(qtbot):
    canvas, overlay = make(qtbot)
    layer = overlay.layer
    updates: list[object] = []
    layer.update = lambda *args: updates.append(args)  # (the layer's own repaint calls)
    overlay.reset(canvas.workflow)
    assert overlay.layer is layer and updates == []  # not in the run's first loop turn
    qtbot.waitUntil(lambda: updates == [()], timeout=2000)
    assert not overlay._repaint_all


def test_a_burst_of_events_reaches_the_views_a_bounded_batch_per_loop_turn(qtbot):
    from builder.bridge import MAX_BATCH, RunBridge

    bridge = RunBridge(interval_ms=10)
    batches: list[list] = []
    bridge.events.connect(batches.append)
    burst = [ev.NodeLogged("a", (), "info", str(i), 0.0) for i in range(2 * MAX_BATCH + 100)]
    bridge._on_batch(burst)
    qtbot.waitUntil(lambda: sum(map(len, batches)) == len(burst), timeout=2000)
    assert [len(b) for b in batches] == [MAX_BATCH, MAX_BATCH, 100]
    assert [e for b in batches for e in b] == burst
    assert bridge._timer.interval() == 10  # (the next events wait for the timer again)
    done = ev.RunFinished("r", "succeeded", {}, None, 0.1, 0.0)
    bridge._on_batch(burst + [done])  # the run's end: everything at once, one batch
    assert batches[-1] == burst + [done]


def test_the_pacer_keeps_the_canvas_and_the_timeline_repaints_apart():
    from builder.runview.pacer import GAP_S, FramePacer

    now = [10.0]
    pacer = FramePacer(clock=lambda: now[0])
    assert pacer.claim("canvas")
    assert pacer.claim("canvas")  # (its own next frame: not held back by itself)
    assert not pacer.claim("panels")  # the canvas repainted just now
    now[0] += GAP_S
    assert pacer.claim("panels")
    assert not pacer.claim("canvas")
    now[0] += GAP_S
    assert pacer.claim("canvas")


def test_a_live_timeline_redraw_refused_by_the_pacer_comes_a_little_later(qtbot):
    from builder.panels import RunPanels
    from builder.runview.pacer import FramePacer

    panels = RunPanels()
    redraws: list[int] = []
    panels.refresh = lambda: redraws.append(1)
    pacer = panels.pacer = FramePacer()
    assert pacer.claim("canvas")
    panels._tick()  # the canvas has just repainted: not now
    assert redraws == [] and panels._retry.isActive()
    qtbot.waitUntil(lambda: redraws == [1], timeout=2000)


def test_a_new_runs_wires_never_show_the_last_runs_value_when_a_tooltip_is_asked(qtbot):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QApplication

    canvas, overlay = make(qtbot)
    wire = next(w for w in canvas.graph_scene.wires.values() if w.edge.source == "a")
    plain = str(wire.edge)  # (what a wire says once a preview is taken back)
    overlay.apply([ev.NodeStarted("a", (), 1, 1.0),
                   ev.NodeFinished("a", (), 0.1, {"out": 41}, 1.1),
                   ev.RunFinished("r", "succeeded", {}, None, 0.2, 1.2)])
    assert "= 41" in wire.toolTip()
    overlay.reset(canvas.workflow)  # the next run of the same document (the layer kept)
    overlay.apply([ev.NodeStarted("a", (), 1, 2.0)])  # a runs again: no value yet
    local = canvas.mapFromScene(wire.path().pointAtPercent(0.5))
    QApplication.sendEvent(canvas.viewport(), QHelpEvent(
        QEvent.Type.ToolTip, local, canvas.viewport().mapToGlobal(local)))
    assert wire.toolTip() == plain  # asked for: the last run's value is gone first
    overlay.apply([ev.NodeFinished("a", (), 0.1, {"out": 43}, 2.1),
                   ev.RunFinished("r2", "succeeded", {}, None, 0.2, 2.2)])
    assert "= 43" in wire.toolTip()
    overlay.clear()  # another document: the plain tooltip at once
    assert wire.toolTip() == plain
