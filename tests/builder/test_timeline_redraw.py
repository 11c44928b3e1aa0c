"""Timeline redraws of a big run: ended bars keep their rects, the followed range moves in
steps (the axes are laid out a few times per run), and what is drawn is what bar_rect says."""

from __future__ import annotations

from PySide6.QtCore import QRectF

from builder.panels.timeline import FOLLOW_ROWS, RANGE_EVERY_S, SPAN_FIRST_S, TimelinePanel
from builder.theme import dark_theme
from engine import events as ev
from engine.runfold import RunFold


def _key(rect: QRectF) -> tuple[float, float, float, float]:
    return (round(rect.x(), 9), round(rect.y(), 9), round(rect.width(), 9),
            round(rect.height(), 9))


def drawn(panel: TimelinePanel) -> dict[str, list[tuple[float, ...]]]:
    """The rects the bars item paints, by colour name, sorted."""
    return {color.name(): sorted(_key(r) for r in rects) for color, rects in panel.bars.groups}


def expected(panel: TimelinePanel) -> dict[str, list[tuple[float, ...]]]:
    now = panel.now()
    out: dict[str, list[tuple[float, ...]]] = {}
    for bar in panel.model.bars:
        status = {"retrying": "waiting"}.get(bar.status, bar.status)
        out.setdefault(panel.theme.state_color(status).name(), []).append(
            _key(panel.bar_rect(bar, now)))
    return {k: sorted(v) for k, v in out.items()}



def shown_panel(qtbot, clock: list[float]) -> TimelinePanel:
    """A Timeline panel on screen (800 x 300) whose clocks read `clock[0]`."""
    panel = TimelinePanel(dark_theme(), clock=lambda: clock[0])
    panel.wall_clock = lambda: clock[0]
    qtbot.addWidget(panel)
    panel.resize(800, 300)
    panel.show()
    return panel

def test_a_long_run_is_drawn_exactly_while_ranges_change_in_steps(qtbot):
    clock = [100.0]
    panel = TimelinePanel(dark_theme(), clock=lambda: clock[0])
    panel.wall_clock = lambda: clock[0]  # the throttles too go by the run's own time
    qtbot.addWidget(panel)
    panel.resize(800, 300)
    panel.show()
    fold = RunFold()
    panel.reset(None, fold)
    ranges: list[object] = []
    panel.view.sigRangeChanged.connect(lambda *_: ranges.append(panel.view.viewRange()))
    fold.feed([ev.RunStarted("r", "big", 0, {}, 100.0, 0.0)])
    t = 100.0
    for i in range(400):  # 400 quick nodes, one every 10 ms, two running at a time
        t += 0.01
        batch = [ev.NodeStarted(f"n{i}", (), 1, t)]
        if i == 200:
            batch.append(ev.NodeFailed(f"n{i - 1}", (), 0.01, "boom", 1, t))
        elif i:
            batch.append(ev.NodeFinished(f"n{i - 1}", (), 0.01, {}, t))
        fold.feed(batch)
        clock[0] = t
        if i % 5 == 0:
            panel.refresh()
            assert drawn(panel) == expected(panel), i
    assert panel.view.viewRange()[0][1] >= panel.now()  # the time axis still holds the run
    # a refresh every 50 ms over 4 s: the view moved only when a bar reached the edge
    # (time doubling from 1 s: 2 steps) or a page of rows filled (at most twice a second)
    assert 2 <= len(ranges) <= 2 + 4 * 2 + 1, len(ranges)
    top, bottom = panel.view.viewRange()[1]
    # (a page at most every RANGE_EVERY_S: 50 rows of this run come in that time)
    assert bottom - top == FOLLOW_ROWS
    assert bottom >= len(fold.bars) - 1 - RANGE_EVERY_S / 0.01 - FOLLOW_ROWS
    fold.feed([ev.NodeFinished("n399", (), 0.01, {}, t + 0.01),
               ev.RunFinished("r", "succeeded", {}, None, t + 0.01 - 100.0, t + 0.01)])
    panel.refresh()
    assert drawn(panel) == expected(panel)
    (x0, x1), (y0, y1) = panel.view.viewRange()
    assert x1 >= panel.now() and x1 <= panel.now() * 1.05 + 1e-9  # the whole run, exactly
    assert y0 <= 0 and y1 >= len(fold.bars) - 1
    assert SPAN_FIRST_S <= 1.0


def test_a_new_run_in_the_same_panel_is_not_drawn_from_the_last_runs_cache(qtbot):
    clock = [10.0]
    panel = TimelinePanel(dark_theme(), clock=lambda: clock[0])
    qtbot.addWidget(panel)
    for run in range(2):
        fold = RunFold()
        panel.reset(None, fold)
        events = [ev.RunStarted(f"r{run}", "w", 0, {}, 10.0, 0.0)]
        for i in range(3 + run):
            events += [ev.NodeStarted(f"m{i}", (), 1, 10.0 + i * 0.1),
                       ev.NodeFinished(f"m{i}", (), 0.05, {}, 10.05 + i * 0.1)]
        fold.feed(events)
        clock[0] = 10.5
        panel.refresh()
        assert drawn(panel) == expected(panel)
        assert sum(len(r) for _, r in panel.bars.groups) == 3 + run


def test_a_short_run_is_shown_whole_once_it_ends(qtbot):
    clock = [100.0]
    panel = shown_panel(qtbot, clock)
    fold = RunFold()
    panel.reset(None, fold)
    fold.feed([ev.RunStarted("r", "short", 0, {}, 100.0, 0.0)])
    for i in range(4):  # four nodes of 5 ms, then one of 10 ms: a 30 ms run
        fold.feed([ev.NodeStarted(f"n{i}", (), 1, 100.0 + 0.005 * i)])
        clock[0] = 100.0 + 0.005 * (i + 1)
        fold.feed([ev.NodeFinished(f"n{i}", (), 0.005, {}, clock[0])])
        panel.refresh()
    fold.feed([ev.NodeStarted("last", (), 1, clock[0])])
    clock[0] += 0.01
    panel.refresh()
    fold.feed([ev.NodeFinished("last", (), 0.01, {}, clock[0]),
               ev.RunFinished("r", "succeeded", {}, None, 0.03, clock[0])])
    panel.refresh()
    shown = panel.view.viewRange()[0]
    assert shown[1] - shown[0] < 0.1  # the 30 ms run fills the view, not 1 s of it
