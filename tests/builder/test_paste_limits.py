"""Hostile pastes and values in the editor: a paste over a limit is refused with a status-bar
sentence in bounded time; one at the limit lands in one batch; a file with NaN or a lone
surrogate is refused on open with the loader's sentence; a value that cannot be written makes
Save and autosave say so, never throw."""

from __future__ import annotations

import json
import time

from PySide6.QtWidgets import QApplication

from builder.commands import SetParamCommand
from builder.document import Document, Session
from engine import limits
from engine.fileformat import dumps
from tests.builder.canvas_helpers import make_canvas, saved
from tests.builder.shell_support import Answers, make_registry, small_workflow, temp_settings


def nodes_text(count: int, title: str = "") -> str:
    node = {"type": "data.expression", "params": {"expr": "x"}, "title": title}
    return json.dumps({
        "nodes": [dict(node, id=f"p{i}", position=[i * 10 % 4000, i // 400 * 120])
                  for i in range(count)],
        "edges": [{"source": f"p{i}", "source_port": "out", "target": f"p{i + 1}",
                   "target_port": "x"} for i in range(count - 1)]})


def paste_clipboard(qtbot, text: str) -> tuple[object, list[str], str, float]:
    canvas = make_canvas(qtbot)
    said: list[str] = []
    canvas.status_message.connect(said.append)
    before = saved(canvas)
    QApplication.clipboard().setText(text)
    started = time.perf_counter()
    canvas.paste()
    return canvas, said, before, time.perf_counter() - started


def test_pasting_5000_nodes_is_refused_at_once_naming_the_limit(qtbot):
    canvas, said, before, seconds = paste_clipboard(qtbot, nodes_text(5000))
    assert seconds < 5.0
    assert said[-1] == ("Cannot paste: The clipboard holds 5 000 nodes; the editor pastes at "
                        "most MAX_PASTE_NODES = 1 000 at once (engine/limits.py).")
    assert saved(canvas) == before and canvas.undo_stack.count() == 0


def test_pasting_a_50_mb_title_is_refused_before_it_is_parsed(qtbot):
    canvas, said, before, seconds = paste_clipboard(qtbot, nodes_text(1, "t" * 50_000_000))
    assert seconds < 5.0
    assert "MAX_PASTE_CHARS" in said[-1] and said[-1].startswith("Cannot paste:")
    assert saved(canvas) == before


def test_a_pasted_title_over_max_string_chars_or_a_nan_is_refused_with_a_sentence(qtbot):
    canvas, said, before, _ = paste_clipboard(
        qtbot, nodes_text(1, "t" * (limits.MAX_STRING_CHARS + 1)))
    assert "MAX_STRING_CHARS" in said[-1]
    QApplication.clipboard().setText('{"nodes": [{"type": "data.value", '
                                     '"params": {"value": NaN}}]}')
    canvas.paste()
    assert said[-1] == ("Cannot paste: the clipboard holds NaN, which is not a JSON number; "
                        "write a number or null instead.")
    assert saved(canvas) == before


def test_pasting_max_paste_nodes_lands_in_one_batch_and_one_undo_entry(qtbot):
    canvas, said, before, seconds = paste_clipboard(qtbot, nodes_text(limits.MAX_PASTE_NODES))
    assert seconds < 30.0, f"pasting {limits.MAX_PASTE_NODES} nodes took {seconds:.1f} s"
    pasted = [n for n in canvas.workflow.nodes if n.startswith("p")]
    assert len(pasted) == limits.MAX_PASTE_NODES
    assert len(canvas.graph_scene.nodes) == len(canvas.workflow.nodes)
    assert canvas.undo_stack.count() == 1 and not said
    canvas.undo_stack.undo()
    assert saved(canvas) == before


def test_a_file_with_nan_or_a_lone_surrogate_is_refused_on_open_with_the_loaders_sentence(
        qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    answers = Answers()
    session = Session(make_registry(), temp_settings(tmp_path), answers.prompts())
    text = dumps(small_workflow())
    for raw, words in (("NaN", "holds NaN"), ('"\\ud800"', "lone surrogate")):
        path = tmp_path / "hostile.loom.json"
        path.write_text(text.replace('"description": ""', f'"description": "", "x": {raw}'),
                        encoding="utf-8")
        before = session.document
        assert not session.open(path)
        assert session.document is before
        title, message = answers.errors[-1]
        assert words in message and "Traceback" not in message


def test_save_and_autosave_say_why_a_value_cannot_be_written(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    answers = Answers(save_paths=[str(tmp_path / "mine")])
    session = Session(make_registry(), temp_settings(tmp_path), answers.prompts())
    session.replace_document(Document(small_workflow()))
    workflow = session.document.workflow
    session.document.undo_stack.push(SetParamCommand(workflow, "a", "value", "bad \udc80"))
    assert not session.save()
    title, message = answers.errors[-1]
    assert title == "Cannot save workflow" and "lone surrogate (\\udc80)" in message
    assert not (tmp_path / "mine.loom.json").exists()
    session.autosave.write_now()  # logs, does not throw out of the timer's slot
    assert session.autosave.writes == 0
    session.document.undo_stack.push(SetParamCommand(workflow, "a", "value", float("nan")))
    session.autosave.write_now()
    assert session.autosave.writes == 0
    session.document.undo_stack.push(SetParamCommand(workflow, "a", "value", 4))
    session.autosave.write_now()
    assert session.autosave.writes == 1
