"""Point 8: the light theme reaches Timeline, Charts and Analytics, debug log rows stay
readable, the charts' legend names every state, duration labels have room, and two nodes with
the same title are told apart."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from builder.panels.charts import LEGEND_STATES
from builder.theme import light_theme
from engine.model import Edge, Node, Workflow
from tests.builder.newcomer_support import make_window, press, run_to_end, write


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))


def two_delays() -> Workflow:
    return Workflow(name="Twice", nodes=[
        Node("v", "data.value", "Value", {"value": 1}, (0, 0)),
        Node("delay_1", "util.delay", "Delay", {"seconds": 0.01}, (240, -60)),
        Node("delay_2", "util.delay", "Delay", {"seconds": 0.02}, (240, 60)),
        Node("note", "util.log", "Note", {"message": "quiet", "level": "debug"}, (480, 0)),
    ], edges=[Edge("v", "out", "delay_1", "in"), Edge("v", "out", "delay_2", "in"),
              Edge("delay_1", "out", "note", "in")])


def luminance(color) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    return (0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF()))


def contrast(a, b) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_light_theme_reaches_the_run_panels_and_labels_are_told_apart(
        qtbot, qloop, tmp_path, data_dir):
    window = make_window(qtbot, tmp_path, theme="dark")
    assert window.open_path(write(tmp_path, "twice.loom.json", two_delays()))
    press(qtbot, window, Qt.Key.Key_F5)
    assert run_to_end(window, qloop).status == "succeeded"
    window.acts["theme_light"].trigger()
    light = light_theme()
    panels = window.run_view.panels
    for widget in (panels.timeline.plot, panels.charts.layout_widget, panels.analytics.charts):
        assert widget.backgroundBrush().color() == light.background, widget

    log = panels.log.model
    row = next(r for r in range(log.rowCount()) if log.lines[r].level == "debug")
    fg = log.data(log.index(row, 3), Qt.ItemDataRole.ForegroundRole)
    assert contrast(fg, light.background) >= 3.0  # readable, if dimmer than the rest

    legend = panels.charts.durations_legend
    assert [label.text for _sample, label in legend.items] == list(LEGEND_STATES)

    ticks = panels.charts.durations_plot.getAxis("left")._tickLevels[0]
    names = sorted(name for _i, name in ticks)
    assert "Delay (delay_1)" in names and "Delay (delay_2)" in names
    timeline_rows = {panels.timeline.row_label(b) for b in panels.timeline.model.bars}
    assert {"Delay (delay_1)", "Delay (delay_2)"} <= timeline_rows
    assert "Value" in timeline_rows  # a unique title stays as it is
