"""Start-up, fourth pass (issue 17): what the first frame does not show is not built before it,
and the canvas's bulk build draws exactly what the per-item path draws."""

from __future__ import annotations

import gc

import pytest
import shiboken6
from PySide6.QtGui import QPainterPath

from builder import app as editor_app
from builder.canvas.look import Look
from builder.canvas.scene import GraphScene
from builder.mainwindow import MainWindow
from builder.theme import dark_theme
from engine import fileformat
from engine.model import Edge, Node, Workflow
from nodes import default_registry
from tests.builder.shell_support import EXAMPLES, Answers, make_registry, temp_settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))


def new_window(qtbot, tmp_path, theme: str = "dark") -> MainWindow:
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode=theme)
    qtbot.addWidget(window)
    return window


def test_the_start_page_is_built_when_the_window_is_first_shown(qtbot, tmp_path, data_dir):
    window = new_window(qtbot, tmp_path)
    page = window.start_page
    assert page.buttons == {} and page.isHidden()  # nothing read or built before the show
    window.show()
    assert page.isVisible() and "template:hello" in page.buttons


def test_a_start_that_opens_a_file_never_builds_the_start_page(qtbot, tmp_path, data_dir):
    window = new_window(qtbot, tmp_path)
    assert window.session.open_file(EXAMPLES / "hello.loom.json")
    window.show()
    assert not window.start_page.isVisible() and window.start_page.buttons == {}


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_window_draws_its_theme_once_while_it_is_built(qtbot, tmp_path, monkeypatch,
                                                            theme):
    builds = []
    original = GraphScene.build
    monkeypatch.setattr(GraphScene, "build", lambda self: (builds.append(1), original(self)))
    window = new_window(qtbot, tmp_path, theme)
    assert len(builds) == 1  # (the theme applied again after construction rebuilt the scene)
    colors = window.theme.categories
    assert window.palette.model._category_colors is colors
    window.show()
    # switching theme still redraws everything
    other = "light" if theme == "dark" else "dark"
    window.acts[f"theme_{other}"].trigger()
    assert len(builds) == 2 and window.canvas.look.theme is window.theme
    assert window.palette.model._category_colors is window.theme.categories


def test_the_collector_is_back_on_once_the_first_frame_is_painted(qtbot, tmp_path, data_dir):
    window = new_window(qtbot, tmp_path)
    was = gc.isenabled()
    gc.disable()
    try:
        editor_app._collect_after_start(window)
        assert not gc.isenabled()
        window.show()
        qtbot.waitUntil(lambda: window.first_frame.painted_at is not None, timeout=10000)
        assert gc.isenabled()
    finally:
        gc.enable() if was else gc.disable()


def _elements(path: QPainterPath) -> list[tuple[float, float]]:
    return [(round(path.elementAt(i).x, 6), round(path.elementAt(i).y, 6))
            for i in range(path.elementCount())]


def test_wires_built_in_bulk_are_routed_as_one_added_later(qtbot):
    registry = default_registry(plugins=False)
    workflow = Workflow("mixed", nodes=[
        Node("a", "data.expression", params={"expr": "1", "inputs": []}, position=(0, 0)),
        Node("b", "data.expression", params={"expr": "x + y", "inputs": ["x", "y"]},
             position=(300, 120)),
        Node("c", "data.expression", params={"expr": "x", "inputs": ["x"]},
             position=(-400, 300)),
    ], edges=[Edge("a", "out", "b", "x"), Edge("a", "out", "b", "y"),
              Edge("b", "out", "c", "x"), Edge("a", "nosuch", "c", "x")])
    for path in sorted(EXAMPLES.glob("*.loom.json")):
        loaded = fileformat.load(path).workflow
        for wf in (workflow, loaded):
            scene = GraphScene(wf, registry, _look())
            assert set(scene.wires) == {e.key() for e in wf.edges
                                        if e.source in scene.nodes and e.target in scene.nodes}
            bulk = {key: _elements(wire.path()) for key, wire in scene.wires.items()}
            for node_id in scene.nodes:  # the per-wire routing of a moved node
                scene.node_geometry_changed(node_id)
            assert {key: _elements(w.path()) for key, w in scene.wires.items()} == bulk
            assert all(scene.wires[k] in scene.wires_of(k[0]) for k in scene.wires)
            scene.detach()
            shiboken6.delete(scene)


def _look() -> Look:
    return Look(dark_theme())
