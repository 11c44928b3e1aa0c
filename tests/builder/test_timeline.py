"""Timeline dock: bars from real runs (loops, parallel branches, growth, critical path, hover)."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from builder.panels import RunPanels
from builder.panels.timeline import TimelinePanel
from builder.theme import dark_theme
from engine import Edge, Node, Run, Workflow, compile_workflow
from engine import events as ev
from nodes import default_registry
from tests.builder.test_panels_support import EXAMPLES, compile_file, flat, record


def executions(events: list) -> list[tuple[str, tuple[int, ...]]]:
    seen = dict.fromkeys((e.node_id, e.iteration) for e in events
                         if isinstance(e, ev.NodeStarted))
    return list(seen)


def test_one_bar_per_node_execution_with_loop_iterations_labelled(qtbot, qloop):
    compiled = compile_file(EXAMPLES / "foreach_parallel.loom.json")
    panels = RunPanels()
    batches, result = record(qloop, compiled, panels=panels)
    timeline = panels.timeline
    bars = timeline.model.bars
    assert [(b.node_id, b.iteration) for b in bars] == executions(flat(batches))
    wait_bars = [b for b in bars if b.node_id == "wait"]
    assert sorted(b.iteration for b in wait_bars) == [(i,) for i in range(6)]
    assert all(b.status == "succeeded" and b.end is not None for b in bars)
    ticks = timeline.plot.getPlotItem().getAxis("left")._tickLevels[0]
    labels = [text for _, text in ticks]
    assert "Pretend work [3]" in labels and "Each word (4 at once)" in labels
    # foreach runs 4 at once: some pairs of iteration bars overlap in time
    overlapping = [(a, b) for a, b in itertools.combinations(wait_bars, 2)
                   if a.start < b.end and b.start < a.end]
    assert overlapping
    assert result.ok
    # the loop's bar spans its body, so the chain runs through the loop, not into it
    assert [b.node_id for b in timeline.model.critical_path()] == ["start", "words", "each", "out"]


def test_parallel_branches_overlap(qtbot, qloop):
    compiled = compile_file(EXAMPLES / "parallel.loom.json")
    panels = RunPanels()
    record(qloop, compiled, panels=panels)
    bars = {b.node_id: b for b in panels.timeline.model.bars}
    rects = {nid: panels.timeline.bar_rect(bars[nid]) for nid in ("wait_a", "wait_b", "wait_c")}
    for a, b in itertools.combinations(rects.values(), 2):
        assert a.left() < b.right() and b.left() < a.right()
    # and the join starts only after every branch ended
    assert all(bars["join"].start >= bars[n].end for n in ("double", "plus", "square"))


def test_running_bars_grow_between_two_refreshes(qtbot, qloop):
    compiled = compile_file(EXAMPLES / "parallel.loom.json")
    panels = RunPanels()
    widths: dict[str, list[float]] = {}
    refresh = panels.timeline.refresh

    def spy() -> None:
        refresh()
        for bar in panels.timeline.model.bars:
            if bar.end is None:
                widths.setdefault(bar.node_id, []).append(panels.timeline.bar_rect(bar).width())

    panels.timeline.refresh = spy
    record(qloop, compiled, panels=panels)
    grown = {nid: w for nid, w in widths.items() if len(w) >= 2}
    assert "wait_a" in grown, widths
    assert all(b > a for a, b in itertools.pairwise(grown["wait_a"]))


def test_running_bar_grows_with_the_clock_from_a_recorded_prefix(qtbot, qloop):
    compiled = compile_file(EXAMPLES / "parallel.loom.json")
    events = flat(record(qloop, compiled)[0])
    cut = next(i for i, e in enumerate(events)
               if isinstance(e, ev.NodeStarted) and e.node_id == "wait_b")
    now = [events[cut].t]
    panel = TimelinePanel(dark_theme(), clock=lambda: now[0])
    qtbot.addWidget(panel)
    panel.reset(compiled)
    panel.feed(events[:cut + 1])
    bar = next(b for b in panel.model.bars if b.node_id == "wait_b")
    now[0] += 0.05
    panel.refresh()
    first = panel.bar_rect(bar).width()
    now[0] += 0.1
    panel.refresh()
    assert panel.bar_rect(bar).width() == pytest.approx(first + 0.1, abs=1e-6)
    assert panel.bars.boundingRect().right() >= bar.start + first + 0.1 - 1e-6


def _known_workflow() -> Workflow:
    nodes = [Node("start", "flow.start"),
             Node("fast", "util.delay", params={"seconds": 0.02}),
             Node("slow", "util.delay", params={"seconds": 0.15}),
             Node("mid", "util.delay", params={"seconds": 0.05}),
             Node("side", "util.delay", params={"seconds": 0.12}),
             Node("join", "flow.merge", params={"mode": "all"}),
             Node("out", "flow.output", params={"name": "result"})]
    edges = [Edge("start", "out", "fast", "in"), Edge("start", "out", "slow", "in"),
             Edge("slow", "out", "mid", "in"), Edge("fast", "out", "side", "in"),
             Edge("mid", "out", "join", "in"), Edge("side", "out", "join", "in"),
             Edge("join", "out", "out", "in")]
    return Workflow("known", nodes=nodes, edges=edges)


def test_critical_path_is_the_longest_dependency_chain(qtbot, qloop):
    # by hand: start -> slow (0.15) -> mid (0.05) = 0.20 beats start -> fast (0.02) -> side
    # (0.12) = 0.14, then join -> out
    compiled = compile_workflow(_known_workflow(), default_registry(plugins=False))
    panels = RunPanels()
    record(qloop, compiled, panels=panels)
    chain = [b.node_id for b in panels.timeline.model.critical_path()]
    ran = {b.node_id for b in panels.timeline.model.bars}
    assert chain == [n for n in ("start", "slow", "mid", "join", "out") if n in ran]
    assert "slow" in chain and "mid" in chain and "fast" not in chain
    outlined = panels.timeline.bars.outlines[0][1]
    assert len(outlined) == len(chain)


@pytest.mark.asyncio
async def test_hovering_a_bar_emits_its_node_and_leaving_emits_empty(qtbot):
    compiled = compile_file(EXAMPLES / "parallel.loom.json")
    panels = RunPanels()
    dock = panels.dock("TimelineDock")
    qtbot.addWidget(dock)
    dock.resize(900, 400)
    dock.show()
    qtbot.waitExposed(dock)
    run = Run(compiled)
    panels.on_run_started(compiled, run.run_id)
    run.subscribe(panels.on_events, batched=True)
    result = await asyncio.wait_for(run.execute(), 20)
    panels.on_run_finished(result)
    timeline = panels.timeline
    timeline.fit()
    bar = next(b for b in timeline.model.bars if b.node_id == "wait_b")
    centre = QPointF(bar.start + bar.length(0) / 2, bar.row)
    view_point = timeline.plot.mapFromScene(timeline.view.mapViewToScene(centre))
    hovered: list[str] = []
    panels.node_hovered.connect(hovered.append)
    QTest.mouseMove(timeline.plot.viewport(), view_point)
    qtbot.waitUntil(lambda: hovered[-1:] == ["wait_b"], timeout=3000)
    assert timeline.bars.outlines[1][1], "the hovered node's bars are outlined"
    selected: list[str] = []
    panels.node_selected.connect(selected.append)
    QTest.mouseClick(timeline.plot.viewport(), Qt.MouseButton.LeftButton, pos=view_point)
    qtbot.waitUntil(lambda: selected == ["wait_b"], timeout=3000)
    empty = timeline.plot.mapFromScene(timeline.view.mapViewToScene(
        QPointF(bar.start + bar.length(0) / 2, len(timeline.model.bars) + 3)))
    QTest.mouseMove(timeline.plot.viewport(), empty)
    qtbot.waitUntil(lambda: hovered[-1] == "", timeout=3000)


def _labels(timeline: TimelinePanel) -> list[str]:
    return [text for _, text in timeline.plot.getPlotItem().getAxis("left")._tickLevels[0]]


def test_row_names_never_crowd_a_small_timeline(qtbot, qloop):
    """A long run fitted into a short panel names every few rows, at least LABEL_PX apart on
    screen, and more of them once the panel is taller."""
    from builder.panels.timeline import LABEL_PX

    n = 120
    nodes = [Node("n0", "data.value", params={"value": 0})]
    nodes += [Node(f"n{i}", "data.expression", params={"expr": "x + 1"}) for i in range(1, n)]
    edges = [Edge(f"n{i - 1}", "out", f"n{i}", "x") for i in range(1, n)]
    compiled = compile_workflow(Workflow("long", nodes=nodes, edges=edges), default_registry())
    batches, _result = record(qloop, compiled)
    timeline = TimelinePanel(dark_theme())
    qtbot.addWidget(timeline)
    timeline.resize(700, 200)
    timeline.show()
    qtbot.waitExposed(timeline)
    timeline.reset(compiled)
    for batch in batches:
        timeline.feed(batch)
    timeline.fit()
    assert len(timeline.model.bars) == n and not timeline.model.running

    def spacing() -> float:  # pixels between two names on the axis
        low, high = timeline.view.viewRange()[1]
        shown = max(len(_labels(timeline)), 1)
        return timeline.view.height() / shown * (n / (high - low))

    qtbot.waitUntil(lambda: timeline.view.height() < 200)
    qtbot.waitUntil(lambda: 0 < len(_labels(timeline)) and spacing() >= LABEL_PX)
    few = len(_labels(timeline))
    assert few < 12
    timeline.resize(700, 900)
    qtbot.waitUntil(lambda: len(_labels(timeline)) > few)
    assert spacing() >= LABEL_PX
