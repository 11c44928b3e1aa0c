"""#13: the live charts' legends never hide data — they sit beside the plots, in both themes,
and their samples carry the state colours."""

from __future__ import annotations

import pytest

from builder.panels.charts import LEGEND_STATES, ChartsPanel
from builder.theme import dark_theme, light_theme


def filled(panel: ChartsPanel) -> None:
    for i in range(40):
        panel.running.append(i * 0.1, i % 5)
        panel.done.append(i * 0.1, i)
        panel.cpu.append(i * 0.1, 50 + i)
        panel.memory.append(i * 0.1, 100 + i)
    for i in range(8):
        panel.durations[f"n{i}"] = 0.2 + i * 0.3
        panel.status[f"n{i}"] = ("succeeded", "failed", "running")[i % 3]
    panel.sampler.stop()
    panel.dirty = panel.bars_dirty = True
    panel._last_range = 0.0
    panel.refresh()


@pytest.mark.parametrize("theme", [dark_theme(), light_theme()], ids=["dark", "light"])
@pytest.mark.parametrize("size", [(1200, 420), (700, 260)], ids=["wide", "small"])
def test_legends_sit_outside_every_plot_area(qtbot, theme, size):
    panel = ChartsPanel(theme)
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    qtbot.waitExposed(panel)
    filled(panel)
    qtbot.waitUntil(lambda: panel.counts_legend.sceneBoundingRect().height() > 0, timeout=3000)
    areas = [plot.getViewBox().sceneBoundingRect() for plot in panel.plots]
    for legend in (panel.counts_legend, panel.durations_legend):
        box = legend.sceneBoundingRect()
        assert box.height() > 0
        assert not any(box.intersects(area) for area in areas), (box, areas)
        # and it shows whole: inside the widget, not clipped away
        assert panel.layout_widget.sceneRect().contains(box)
    names = [label.text for _sample, label in panel.durations_legend.items]
    assert names == list(LEGEND_STATES)
    assert [label.text for _s, label in panel.counts_legend.items] == ["running", "done"]


def test_legend_samples_take_the_state_colours_and_follow_the_theme(qtbot):
    panel = ChartsPanel(dark_theme())
    qtbot.addWidget(panel)
    for state, key in panel.state_keys.items():
        assert key.opts["brush"].color() == dark_theme().state_color(state)
    light = light_theme()
    panel.set_theme(light)
    for state, key in panel.state_keys.items():
        assert key.opts["brush"].color() == light.state_color(state)
    colours = {key.opts["brush"].color().name() for key in panel.state_keys.values()}
    assert len(colours) == len(LEGEND_STATES)  # four states, four colours
