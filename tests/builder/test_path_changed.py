"""History and Analytics follow the document's file, not its edits: dragging a wire, moving a
node or undoing runs no history query; Save As to a new path and the end of a run do."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from builder.commands import ConnectPortsCommand
from engine.model import Edge
from tests.builder.canvas_helpers import drag, port
from tests.builder.shell_support import Answers
from tests.builder.test_window import open_window, saved_small


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "history.db"))
    return tmp_path / "data"


def count_queries(window) -> list[str]:
    """Every SQL statement the editor's history store runs from now on."""
    store = window.runner.history_store()
    seen: list[str] = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: seen.append(statement))
    return seen


def test_dragging_a_wire_and_undoing_runs_no_history_query_but_save_as_does(
        qtbot, tmp_path, data_dir):
    answers = Answers(save_paths=[str(tmp_path / "moved.loom.json")])
    window = open_window(qtbot, tmp_path, answers, path=saved_small(tmp_path))
    panels = window.run_view.panels
    history, analytics = panels.history, panels.analytics  # built: they would re-query
    assert history.workflow_path == str(tmp_path / "small.loom.json")
    queries = count_queries(window)
    document = window.document
    document.undo_stack.push(ConnectPortsCommand(document.workflow, Edge("a", "out", "c", "in"),
                                                 window.registry))
    assert document.modified
    canvas = window.canvas
    canvas.fit_all()
    drag(qtbot, canvas, port(canvas, "a", "out", "out"), port(canvas, "b", "in", "x"))
    while document.undo_stack.canUndo():
        document.undo_stack.undo()
    assert not document.modified
    qtbot.wait(0)  # (nothing is deferred: a queued refresh would have run by now)
    assert queries == [], "an edit made History or Analytics query the run history"
    paths: list[object] = []
    document.path_changed.connect(paths.append)
    assert window.session.save_as()
    assert paths == [tmp_path / "moved.loom.json"]
    assert history.workflow_path == analytics.workflow_path == str(tmp_path / "moved.loom.json")
    assert queries, "a new path: History and Analytics list its runs"
    queries.clear()
    assert window.session.save()  # same path again: nothing to follow
    assert paths == [tmp_path / "moved.loom.json"] and queries == []
