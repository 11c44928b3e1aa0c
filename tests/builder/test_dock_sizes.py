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


def test_a_first_start_fits_the_window_to_a_smaller_screen():
    from builder.mainwindow import DEFAULT_SIZE, first_size

    assert first_size(None) == DEFAULT_SIZE
    assert first_size((2560, 1440)) == DEFAULT_SIZE
    width, height = first_size((1280, 800))
    assert width <= 1280 * 0.96 and height <= 800 * 0.92
    assert width > 1000 and height > 600  # as much of the screen as leaves room for a frame


def test_once_the_run_panels_join_the_bottom_dock_it_keeps_its_size_in_a_small_window(
        qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False)
    qtbot.addWidget(window)
    window.resize(1228, 736)  # a 1280 x 800 screen's first start
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.run_view.warmed, timeout=10000)  # every run panel built
    bottom = default_dock_sizes(window.width(), window.height(), True)[2]
    # the History panel's two tables once held the bottom dock at 222 px and more
    qtbot.waitUntil(lambda: window.problems_dock.height() <= bottom + 12, timeout=3000)
