"""A live run's timeline starts in the view it runs in: set once when the panel is reset for
the run, not moved again by its first redraws (each move lays both axes out again)."""

from __future__ import annotations

import pytest

from builder.panels.timeline import FOLLOW_ROWS, SPAN_FIRST_S, TimelinePanel
from builder.theme import dark_theme
from engine import events as ev
from engine.runfold import RunFold
from tests.builder.test_timeline_redraw import shown_panel


def test_the_first_redraws_of_a_run_leave_the_view_where_the_reset_put_it(qtbot):
    clock = [100.0]
    panel = shown_panel(qtbot, clock)
    fold = RunFold()
    panel.reset(None, fold)
    (x0, x1), (y0, y1) = panel.view.viewRange()
    assert (x0, x1) == pytest.approx((0.0, SPAN_FIRST_S))
    assert (y0, y1) == pytest.approx((-0.5, FOLLOW_ROWS - 0.5))
    moves: list[object] = []
    panel.view.sigRangeChanged.connect(lambda *_: moves.append(panel.view.viewRange()))
    fold.feed([ev.RunStarted("r", "w", 0, {}, 100.0, 0.0)])
    for i in range(10):  # 10 nodes in the first half second, a redraw after each
        clock[0] = 100.0 + 0.05 * (i + 1)
        fold.feed([ev.NodeStarted(f"n{i}", (), 1, clock[0] - 0.04),
                   ev.NodeFinished(f"n{i}", (), 0.03, {}, clock[0] - 0.01)])
        panel.refresh()
    assert moves == []
    assert [round(r.width(), 6) for _, rects in panel.bars.groups for r in rects] \
        == [0.03] * 10


def test_an_empty_panel_still_shows_no_run_the_old_way(qtbot):
    panel = TimelinePanel(dark_theme())
    qtbot.addWidget(panel)
    panel.reset(None)  # (no run: the document changed)
    assert panel.view.viewRange()[0][1] < 0.1
