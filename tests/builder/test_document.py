"""Documents and the File operations: save/open, clean state, prompts, recent files, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.commands import SetParamCommand
from builder.document import Document, Session
from engine.fileformat import dumps, load
from tests.builder.shell_support import (
    EXAMPLES,
    Answers,
    make_registry,
    small_workflow,
    temp_settings,
)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(folder))
    return folder


def make_session(tmp_path: Path, answers: Answers) -> Session:
    return Session(make_registry(), temp_settings(tmp_path), answers.prompts())


def test_modified_follows_the_undo_stacks_clean_state(qtbot, tmp_path):
    document = Document(small_workflow())
    seen = []
    document.modified_changed.connect(seen.append)
    assert not document.modified
    document.undo_stack.push(SetParamCommand(document.workflow, "a", "value", 4))
    assert document.modified and seen == [True]
    document.undo_stack.undo()
    assert not document.modified and seen == [True, False]
    document.undo_stack.redo()
    document.save_to(tmp_path / "x.loom.json")
    assert not document.modified
    document.undo_stack.undo()  # back past the saved state: modified again
    assert document.modified


def test_save_as_then_open_round_trips_the_workflow(qtbot, tmp_path, data_dir):
    answers = Answers(save_paths=[str(tmp_path / "mine")])
    session = make_session(tmp_path, answers)
    session.replace_document(Document(small_workflow()))
    session.document.undo_stack.push(SetParamCommand(session.document.workflow, "b", "expr",
                                                     "x * 3"))
    before = dumps(session.document.workflow)
    assert session.save()
    saved = tmp_path / "mine.loom.json"  # the suffix is added when the name has none
    assert saved.read_text(encoding="utf-8") == before
    assert not session.document.modified and session.document.path == saved
    other = make_session(tmp_path, Answers(open_paths=[str(saved)]))
    assert other.open()
    assert dumps(other.document.workflow) == before
    assert other.document.path == saved and not other.document.modified


def test_new_open_and_close_ask_before_dropping_unsaved_changes(qtbot, tmp_path, data_dir):
    answers = Answers()
    session = make_session(tmp_path, answers)
    session.replace_document(Document(small_workflow()))
    workflow = session.document.workflow
    session.document.undo_stack.push(SetParamCommand(workflow, "a", "value", 9))

    answers.unsaved = ["cancel"]
    assert not session.new()
    assert session.document.workflow is workflow  # cancel keeps everything

    answers.unsaved = ["cancel"]
    assert not session.open(EXAMPLES / "hello.loom.json")
    assert session.document.workflow is workflow

    answers.unsaved = ["save"]
    answers.save_paths = [str(tmp_path / "kept.loom.json")]
    assert session.close()  # saved first, then closed
    assert load(tmp_path / "kept.loom.json").workflow.node("a").params["value"] == 9
    assert session.document.workflow is not workflow and not session.document.modified

    assert answers.count("unsaved") == 3
    assert session.new()  # nothing modified: no question
    assert answers.count("unsaved") == 3


def test_discard_answer_drops_the_changes(qtbot, tmp_path, data_dir):
    answers = Answers(unsaved=["discard"])
    session = make_session(tmp_path, answers)
    session.replace_document(Document(small_workflow()))
    session.document.undo_stack.push(SetParamCommand(session.document.workflow, "a", "value", 9))
    assert session.open(EXAMPLES / "hello.loom.json")
    assert session.document.workflow.name == "Hello Flowloom"
    assert answers.count("unsaved") == 1


def test_a_file_that_fails_to_load_shows_the_loaders_message_and_opens_nothing(
        qtbot, tmp_path, data_dir):
    broken = tmp_path / "broken.loom.json"
    broken.write_text('{"format": "flowloom.workflow", "version": 1, "nodes": [', "utf-8")
    answers = Answers()
    session = make_session(tmp_path, answers)
    before = session.document
    assert not session.open(broken)
    assert session.document is before
    assert len(answers.errors) == 1
    title, message = answers.errors[0]
    assert "not valid JSON" in message and str(broken) in message
    assert "Traceback" not in message
    assert session.recent.paths() == []


def test_recent_files_keep_the_newest_first_and_forget_missing_ones(qtbot, tmp_path, data_dir):
    answers = Answers()
    session = make_session(tmp_path, answers)
    first, second = tmp_path / "one.loom.json", tmp_path / "two.loom.json"
    for path in (first, second):
        path.write_text((EXAMPLES / "hello.loom.json").read_text("utf-8"), "utf-8")
    assert session.open(first) and session.open(second) and session.open(first)
    assert session.recent.paths() == [str(first.resolve()), str(second.resolve())]
    # A fresh session with the same settings sees the same list.
    assert make_session(tmp_path, Answers()).recent.paths()[0] == str(first.resolve())
    second.unlink()
    assert not session.open(second)
    assert session.recent.paths() == [str(first.resolve())]
    assert "does not exist" in answers.errors[-1][1]


def test_a_file_with_unreadable_entries_opens_the_rest_and_says_what_was_left_out(
        qtbot, tmp_path, data_dir):
    doc = json.loads((EXAMPLES / "hello.loom.json").read_text("utf-8"))
    doc["nodes"].append({"type": "data.value"})  # no id
    path = tmp_path / "partial.loom.json"
    path.write_text(json.dumps(doc), "utf-8")
    answers = Answers()
    session = make_session(tmp_path, answers)
    assert session.open(path)
    assert len(session.document.workflow.nodes) == 7
    assert 'no "id"' in answers.errors[0][1]


def test_saving_refuses_a_literal_secret_and_leaves_the_file_alone(qtbot, tmp_path, data_dir):
    from engine.model import Node, Workflow

    saved = tmp_path / "keys.loom.json"
    saved.write_text("original", encoding="utf-8")
    answers = Answers()
    session = make_session(tmp_path, answers)
    workflow = Workflow("keys", nodes=[Node("chat", "ai.chat", params={
        "api_key_secret": "sk-live-0123456789abcdefghijklmnopqrstuvwxyz"})])
    session.replace_document(Document(workflow, saved))
    session.document.mark_modified()
    assert not session.save()
    assert saved.read_text(encoding="utf-8") == "original"
    title, message = answers.errors[-1]
    assert "secret" in title.lower() and "chat" in message and "api_key_secret" in message
    session.document.undo_stack.push(SetParamCommand(workflow, "chat", "api_key_secret",
                                                     "openai"))
    assert session.save()
    assert "openai" in saved.read_text(encoding="utf-8")
