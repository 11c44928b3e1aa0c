"""The docks' default sizes follow the window: in a small window the canvas keeps most of it."""

from __future__ import annotations

from builder.mainwindow import MainWindow, default_dock_sizes
from tests.builder.shell_support import Answers, make_registry, temp_settings


def test_at_the_default_size_the_docks_are_about_what_they_always_were():
    palette, inspector, bottom = default_dock_sizes(1400, 860, run_panels=True)
    assert abs(palette - 230) <= 10 and abs(inspector - 310) <= 10 and abs(bottom - 230) <= 10
    assert default_dock_sizes(1400, 860, run_panels=False)[2] == 120


def test_a_small_window_gives_the_canvas_more_than_half_of_each_side():
    palette, inspector, bottom = default_dock_sizes(1024, 700, run_panels=True)
    assert 1024 - palette - inspector > 1024 / 2
    assert bottom < 700 * 0.3 and bottom < default_dock_sizes(1400, 860, True)[2]
    assert default_dock_sizes(400, 300, True) == (170, 210, 110)  # never below the bounds
    assert default_dock_sizes(4000, 3000, True) == (260, 330, 250)  # nor above


def test_a_window_shown_small_without_a_saved_layout_sizes_its_docks_to_it(qtbot, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False)
    qtbot.addWidget(window)
    window.resize(1024, 700)
    window.show()
    qtbot.waitExposed(window)
    palette, inspector, _bottom = default_dock_sizes(window.width(), window.height(), True)
    qtbot.waitUntil(lambda: abs(window.inspector_dock.width() - inspector) <= 12, timeout=3000)
    assert abs(window.palette_dock.width() - palette) <= 12
    assert window.canvas.width() > window.width() / 2
