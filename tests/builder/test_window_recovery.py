"""A crash loses nothing: the next window offers the autosaved work and restores it exactly."""

from __future__ import annotations

from builder.commands import SetParamCommand
from builder.mainwindow import MainWindow
from engine.fileformat import dumps, save
from tests.builder.shell_support import Answers, make_registry, small_workflow, temp_settings


def test_after_a_simulated_crash_a_new_window_offers_and_restores_the_work(
        qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    path = tmp_path / "small.loom.json"
    save(small_workflow(), path)
    first = MainWindow(make_registry(), temp_settings(tmp_path), Answers().prompts(),
                       recover=False)
    assert first.session.open_file(path)
    first.show()
    first.document.undo_stack.push(SetParamCommand(first.document.workflow, "b", "expr",
                                                   "x * 7"))
    new_id = first.add_node_in_view("util.delay")
    autosave = first.session.autosave
    qtbot.waitUntil(lambda: autosave.writes >= 1 and not autosave.pending(), timeout=4000)
    expected = dumps(first.document.workflow)
    assert new_id in first.document.workflow.nodes
    # The crash: the window vanishes without closing, saving or cleaning up.
    autosave._timer.stop()
    first.hide()
    first.deleteLater()
    qtbot.wait(10)

    answers = Answers(restore=[True])
    second = MainWindow(make_registry(), temp_settings(tmp_path), answers.prompts())
    qtbot.addWidget(second)
    qtbot.waitUntil(lambda: answers.count("restore") == 1, timeout=3000)  # offered on start
    assert answers.asked[0] == ("restore", ["small.loom.json"])
    assert dumps(second.document.workflow) == expected
    assert second.document.path == path and second.document.modified
    assert second.windowTitle() == "small.loom.json • — Flowloom"
    assert second.canvas.node_item(new_id) is not None  # the canvas shows the restored nodes
    # Saving puts it back where it came from, and the recovery file goes away.
    assert second.session.save()
    assert path.read_text("utf-8") == expected
    assert list((tmp_path / "data" / "recovery").glob("*.loom.json")) == []


def test_a_clean_exit_leaves_nothing_to_recover(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    answers = Answers(unsaved=["discard"])
    window = MainWindow(make_registry(), temp_settings(tmp_path), answers.prompts(),
                        recover=False)
    qtbot.addWidget(window)
    window.add_node_in_view("data.value")
    window.session.autosave.write_now()
    assert window.session.autosave.workflow_file.exists()
    assert window.close()
    assert answers.count("unsaved") == 1
    assert list((tmp_path / "data" / "recovery").glob("*.loom.json")) == []
    again = Answers()
    second = MainWindow(make_registry(), temp_settings(tmp_path), again.prompts())
    qtbot.addWidget(second)
    qtbot.waitUntil(lambda: second.recovery_checked, timeout=5000)  # it looked, found nothing
    assert again.count("restore") == 0
