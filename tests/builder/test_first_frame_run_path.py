"""Start-up, sixth pass (issue 17): the first frame imports and builds no run path.

The run view (builder/runview/: controller, overlay, approvals, breakpoints), the engine's run
modules and qasync come after the window's first frame; `window.runner` is a `PendingRunner`
until then. Nothing the user does is lost meanwhile: a Run pressed before the deferred part is
built builds it and runs, and the deferred part is built after the first frame by itself,
without moving anything on screen."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from builder.mainwindow import MainWindow
from builder.runview.controller import RunController
from builder.runview.pending import PendingRunner
from engine.fileformat import save
from engine.model import Edge, Node, Workflow
from tests.builder.shell_support import EXAMPLES, Answers, make_registry, temp_settings

ROOT = Path(__file__).resolve().parents[2]

# The run path (these modules and their submodules): none of them may be imported when the
# first frame is painted. (engine.runfold, engine.runstate and engine.events are: the run
# panels' docks, in the frame, hold a RunFold, and the node library imports the others.)
RUN_PATH = ("builder.runview", "builder.bridge", "builder.breakpoint_marks",
            "builder.breakpoint_panel", "builder.record_view", "builder.run_record",
            "engine.breakpoints", "engine.compile", "engine.executor", "engine.scheduler",
            "engine.run", "engine.rerun", "engine.history", "engine.record", "qasync")
# the package (its names are looked up when used) and the stand-in for `window.runner`
FIRST_FRAME_MAY_IMPORT = {"builder.runview", "builder.runview.pending"}

# A person's start (`builder.app.main` on a file), with the modules loaded at the moment the
# first frame is painted (before anything connected to `painted` runs) written out.
CHILD = textwrap.dedent("""
    import json, sys
    from builder import app, firstframe

    seen = {}
    done = firstframe.FirstFrame._done

    def _done(self):
        seen["modules"] = sorted(sys.modules)
        done(self)

    firstframe.FirstFrame._done = _done
    report = app._report_first_frame

    def _report(window, out):
        seen["runner"] = type(window.runner).__name__
        seen["nodes"] = sorted(window.document.workflow.nodes)
        seen["status"] = window.statusBar().currentMessage()
        report(window, out)

    app._report_first_frame = _report
    code = app.main(sys.argv[1], first_frame=sys.argv[2])
    print("SEEN " + json.dumps(seen))
    sys.exit(code)
""")


def _first_frame_child(tmp_path: Path, path: Path) -> dict:
    out = tmp_path / "frame.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(tmp_path / "xdg"),
               FLOWLOOM_CONFIG_DIR=str(tmp_path / "config"),
               FLOWLOOM_DATA_DIR=str(tmp_path / "data"),
               FLOWLOOM_HISTORY_DB=str(tmp_path / "history.db"))
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "first_frame_at " in done.stdout and out.exists()  # a frame was painted and saved
    line = next(x for x in done.stdout.splitlines() if x.startswith("SEEN "))
    return json.loads(line[5:])


def run_path(modules: list[str]) -> list[str]:
    return [m for m in modules if m not in FIRST_FRAME_MAY_IMPORT
            and any(m == name or m.startswith(name + ".") for name in RUN_PATH)]


def test_the_first_frame_is_painted_with_no_run_path_module_imported(tmp_path):
    seen = _first_frame_child(tmp_path, EXAMPLES / "hello.loom.json")
    assert run_path(seen["modules"]) == []
    assert "builder.panels" in seen["modules"]  # (the run panels' tabs are in the frame)
    assert seen["runner"] == "PendingRunner"
    # the file named on the command line is open, and said so
    hello = json.loads((EXAMPLES / "hello.loom.json").read_text(encoding="utf-8"))
    assert seen["nodes"] == sorted(n["id"] for n in hello["nodes"])
    assert seen["status"].startswith("Opened ")


def test_the_run_path_check_sees_a_run_path_module():
    # (the check above can fail: a list with one run module in it is caught)
    assert run_path(["builder.runview", "builder.runview.pending", "engine.runfold"]) == []
    assert run_path(["builder.runview.view", "qasync._unix", "engine.run"]) == [
        "builder.runview.view", "qasync._unix", "engine.run"]


# A person's start where Run is pressed as the window is shown: before its first paint, before
# the run view and before the asyncio loop exist (builder.app makes the loop when asked).
EARLY_RUN = textwrap.dedent("""
    import sys
    from builder import app, mainwindow

    show = mainwindow.MainWindow.show

    def show_and_run(self):
        show(self)
        from PySide6.QtWidgets import QApplication

        def finished(result):
            print("RESULT", getattr(result, "status", None), result.outputs if result else None)
            self.session.autosave.discard()
            QApplication.exit()

        self.document.trusted = True  # (the trust gate's question is not what is tested here)
        before = (type(self.runner).__name__, self.first_frame.painted_at)
        self.acts["run"].trigger()
        print("BEFORE", *before)
        self.runner.finished.connect(finished)
        from PySide6.QtCore import QTimer

        QTimer.singleShot(20000, lambda: (print("RESULT none in 20 s"), QApplication.exit()))

    mainwindow.MainWindow.show = show_and_run
    sys.exit(app.main(sys.argv[1]))
""")


def test_a_run_pressed_before_the_first_paint_runs_in_the_editor_process(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(tmp_path / "xdg"),
               FLOWLOOM_CONFIG_DIR=str(tmp_path / "config"),
               FLOWLOOM_DATA_DIR=str(tmp_path / "data"),
               FLOWLOOM_HISTORY_DB=str(tmp_path / "history.db"))
    done = subprocess.run([sys.executable, "-c", EARLY_RUN, str(two_nodes(tmp_path))],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert lines["BEFORE"] == "PendingRunner None"  # pressed before the paint and the loop
    assert lines["RESULT"].startswith("succeeded")


# --- in process (pytest-qt, the qasync loop of tests/builder/conftest.py) -------------------
@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    return tmp_path / "data"


def two_nodes(tmp_path: Path) -> Path:
    """A workflow with no declared inputs (a run asks nothing) whose run ends with 2."""
    path = tmp_path / "two.loom.json"
    save(Workflow("two", nodes=[
        Node("a", "data.expression", params={"expr": "1", "inputs": []}, position=(0, 0)),
        Node("b", "data.expression", params={"expr": "x + 1", "inputs": ["x"]},
             position=(240, 0))], edges=[Edge("a", "out", "b", "x")]), path)
    return path


def new_window(qtbot, tmp_path, path: Path | None = None) -> MainWindow:
    window = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                        recover=False, theme_mode="dark")
    qtbot.addWidget(window)
    if path is not None:
        assert window.session.open_file(path)
    return window


def until(loop, condition, timeout: float = 10.0) -> None:
    async def wait():
        while not condition():
            await asyncio.sleep(0.01)

    loop.run_until_complete(asyncio.wait_for(wait(), timeout))


@pytest.mark.parametrize("how", ["action", "toolbar", "menu"])
def test_run_pressed_before_the_deferred_part_is_built_builds_it_and_runs(qtbot, qloop,
                                                                           tmp_path, data_dir,
                                                                           how):
    window = new_window(qtbot, tmp_path, two_nodes(tmp_path))
    window.show()
    assert isinstance(window.runner, PendingRunner) and window._run_view is None
    finished = []
    pending = window.runner
    if how == "action":  # F5 is this action's shortcut
        window.acts["run"].trigger()
    elif how == "toolbar":
        window.toolbar.widgetForAction(window.acts["run"]).click()
    else:
        window.menus["&Run"].actions()[0].trigger()
    assert isinstance(window.runner, RunController) and window._run_view is not None
    window.runner.finished.connect(finished.append)
    assert pending.running is window.runner.running  # (the stand-in forwards from now on)
    result = qloop.run_until_complete(asyncio.wait_for(window.runner.task, 10))
    assert result.status == "succeeded", result
    until(qloop, lambda: finished)
    assert window.run_view.overlay.state("b") == "succeeded"
    assert window.runner.node_record("b")["outputs"] == {"out": 2}
    assert "succeeded" in window.statusBar().currentMessage().lower()


def test_the_deferred_part_is_built_after_the_first_frame_by_itself(qtbot, qloop, tmp_path,
                                                                    data_dir):
    window = new_window(qtbot, tmp_path, EXAMPLES / "hello.loom.json")
    said = window.statusBar().currentMessage()

    def geometry() -> list[object]:
        return [w.geometry() for w in (window.canvas, window.palette_dock,
                                       window.inspector_dock, window.problems_dock,
                                       window.toolbar, window.menuBar(), window.statusBar())]

    at_frame = []
    window.first_frame.painted.connect(
        lambda: at_frame.append((window._run_view, type(window.runner), geometry())))
    window.show()
    assert window._run_view is None and isinstance(window.runner, PendingRunner)
    until(qloop, lambda: at_frame and window._run_view is not None)
    assert at_frame[0][:2] == (None, PendingRunner)  # not built for (or in) the frame
    assert isinstance(window.runner, RunController)
    assert geometry() == at_frame[0][2]  # building it moved nothing on screen
    until(qloop, lambda: window.run_view.warmed)
    assert window.statusBar().currentMessage() == said  # the status line stays
    assert not window.run_view.breakpoints.dock.isVisible()


def test_a_file_with_breakpoints_has_its_marks_in_the_first_frame(qtbot, tmp_path, data_dir):
    from builder.mainwindow import BREAKPOINTS_AT, carries_breakpoints
    from engine.breakpoints import BREAKPOINTS_KEY, UI_KEY, Breakpoint, with_breakpoints

    assert BREAKPOINTS_AT == (UI_KEY, BREAKPOINTS_KEY)
    plain = new_window(qtbot, tmp_path, two_nodes(tmp_path))
    assert not carries_breakpoints(plain.document.workflow) and plain._run_view is None
    workflow = plain.document.workflow
    workflow.extra = with_breakpoints(workflow.extra, [Breakpoint(node="b")])
    path = tmp_path / "marked.loom.json"
    save(workflow, path)
    window = new_window(qtbot, tmp_path, path)
    assert carries_breakpoints(window.document.workflow)
    assert window._run_view is not None  # built with the document, before any frame
    assert [bp.node for bp in window.run_view.breakpoints.breakpoints()] == ["b"]


def test_the_stand_in_keeps_what_is_set_before_and_hands_it_over(qtbot, tmp_path, data_dir):
    window = new_window(qtbot, tmp_path)
    pending = window.runner
    assert isinstance(pending, PendingRunner) and not pending.built
    grants, seam = object(), (lambda: None)
    pending.grants = grants
    slots = pending.host_slots  # (set by the window from the preferences)
    assert pending.grants is grants and pending.running is False and not pending.built
    pending.seam = seam
    assert window.runner.seam is seam and not pending.built
    store = window.runner.history_store  # anything else: the run view is built
    assert pending.built and isinstance(window.runner, RunController)
    assert callable(store)
    controller = window.runner
    assert controller.grants is grants and controller.seam is seam
    assert controller.host_slots is slots
    pending.grants = None  # a reference kept to the stand-in writes through
    assert controller.grants is None
