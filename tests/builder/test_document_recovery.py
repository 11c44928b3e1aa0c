"""Autosave writes a recovery file after changes; a later session offers it and restores it."""

from __future__ import annotations

import json

import pytest

from builder.commands import MoveNodesCommand, SetParamCommand
from builder.document import Document, Session
from builder.recovery import find_recoveries
from engine.fileformat import dumps
from tests.builder.shell_support import Answers, make_registry, small_workflow, temp_settings


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(folder))
    return folder


def session_with_changes(tmp_path, answers):
    session = Session(make_registry(), temp_settings(tmp_path), answers.prompts())
    session.replace_document(Document(small_workflow(), tmp_path / "small.loom.json"))
    stack, workflow = session.document.undo_stack, session.document.workflow
    stack.push(SetParamCommand(workflow, "b", "expr", "x * 10"))
    stack.push(MoveNodesCommand(workflow, {"c": ((480.0, 0.0), (500.0, 40.0))}))
    return session


def test_autosave_writes_the_workflow_a_moment_after_the_last_change(qtbot, tmp_path, data_dir):
    session = session_with_changes(tmp_path, Answers())
    assert session.autosave.pending() and session.autosave.writes == 0  # debounced, not yet
    qtbot.waitUntil(lambda: session.autosave.writes == 1, timeout=3000)
    recovery_file = session.autosave.workflow_file
    assert recovery_file.parent == data_dir / "recovery"
    assert recovery_file.read_text("utf-8") == dumps(session.document.workflow)
    meta = json.loads(recovery_file.with_name(
        recovery_file.name.replace(".loom.json", ".meta.json")).read_text("utf-8"))
    assert meta["original"] == str(tmp_path / "small.loom.json")


def test_saving_or_undoing_to_the_clean_state_removes_the_recovery_file(qtbot, tmp_path,
                                                                         data_dir):
    session = session_with_changes(tmp_path, Answers())
    session.autosave.write_now()
    assert session.autosave.workflow_file.exists()
    assert session.save()
    assert not session.autosave.workflow_file.exists()
    session.document.undo_stack.undo()
    session.autosave.write_now()
    assert session.autosave.workflow_file.exists()
    session.document.undo_stack.redo()  # back at the saved state
    assert not session.autosave.workflow_file.exists()


def test_after_a_crash_the_next_session_offers_and_restores_the_exact_content(
        qtbot, tmp_path, data_dir):
    crashed = session_with_changes(tmp_path, Answers())
    qtbot.waitUntil(lambda: crashed.autosave.writes >= 1, timeout=3000)
    expected = dumps(crashed.document.workflow)
    crashed.autosave._timer.stop()  # the process "dies": nothing else runs, nothing is cleaned
    crashed.deleteLater()

    answers = Answers(restore=[True])
    survivor = Session(make_registry(), temp_settings(tmp_path), answers.prompts())
    assert survivor.offer_recovery() == []
    assert answers.asked == [("restore", ["small.loom.json"])]
    assert dumps(survivor.document.workflow) == expected
    assert survivor.document.modified  # restored work is unsaved work
    assert survivor.document.path == tmp_path / "small.loom.json"
    # The old recovery file is gone; the restored work has its own already.
    assert [r.token for r in find_recoveries()] == [survivor.autosave.token]


def test_declining_the_restore_discards_the_recovery_files(qtbot, tmp_path, data_dir):
    crashed = session_with_changes(tmp_path, Answers())
    crashed.autosave.write_now()
    crashed.autosave._timer.stop()
    answers = Answers(restore=[False])
    fresh = Session(make_registry(), temp_settings(tmp_path), answers.prompts())
    fresh.offer_recovery()
    assert answers.count("restore") == 1
    assert not crashed.autosave.workflow_file.exists()
    assert fresh.document.workflow.nodes == {}
