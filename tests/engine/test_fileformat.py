"""The workflow file: canonical round trip, unknown keys kept, atomic saves, broken files,
golden files of past versions, and the migration chain."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from engine import Node, WorkflowFileError, dumps, fileformat, load, loads, save
from engine.corenodes import core_registry
from engine.model import Frame

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.loom.json"))
GOLDEN_V1 = sorted((ROOT / "tests" / "fixtures" / "v1").glob("*.loom.json"))
FIXTURE = ROOT / "tests" / "fixtures" / "v1" / "all_constructs.loom.json"


def _one_sentence(message: str) -> None:
    assert "Traceback" not in message
    assert "\n" not in message
    assert message.endswith(".")


# --- round trip --------------------------------------------------------------------------
def test_there_are_examples_and_golden_files_to_check():
    assert EXAMPLES, "resources/examples holds no *.loom.json"
    assert GOLDEN_V1, "tests/fixtures/v1 holds no golden file"


@pytest.mark.parametrize("path", EXAMPLES + GOLDEN_V1, ids=lambda p: p.name)
def test_loading_then_dumping_reproduces_the_file_byte_for_byte(path):
    text = path.read_text(encoding="utf-8")
    loaded = loads(text)
    assert dumps(loaded.workflow) == text


def test_saving_a_loaded_file_writes_the_same_bytes(tmp_path):
    target = tmp_path / "copy.loom.json"
    save(load(FIXTURE).workflow, target)
    assert target.read_bytes() == FIXTURE.read_bytes()


def test_dumps_is_indented_by_two_spaces_with_sorted_params():
    wf = load(FIXTURE).workflow
    wf.set_param("words", "zeta", 1)
    wf.set_param("words", "alpha", 2)
    text = dumps(wf)
    doc = json.loads(text)
    node = next(n for n in doc["nodes"] if n["id"] == "words")
    assert list(node["params"]) == ["alpha", "expr", "zeta"]
    assert text.startswith('{\n  "format": "flowloom.workflow",\n  "version": 1,\n')
    assert list(doc) == ["format", "version", "name", "description", "nodes", "edges", "ui"]


def test_unknown_keys_are_kept_at_top_level_node_and_edge():
    text = FIXTURE.read_text(encoding="utf-8")
    doc = json.loads(text)
    doc["frames"] = [{"id": "f1", "title": "group", "color": "#446688", "nodes": ["start"],
                      "collapsed": True}]
    doc["nodes"][0]["colour"] = "#ff0000"
    doc["edges"][0]["waypoints"] = [[1, 2]]
    loaded = loads(json.dumps(doc))
    wf = loaded.workflow
    assert "frames" not in wf.extra, "frames are typed, not extra"
    assert wf.frames == {"f1": Frame("f1", "group", "#446688", ["start"], {"collapsed": True})}
    assert wf.extra["ui"] == {"zoom": 1.25}
    assert wf.node("start").extra == {"colour": "#ff0000"}
    assert wf.edges[0].extra == {"waypoints": [[1, 2]]}
    again = json.loads(dumps(wf))
    assert again["frames"] == doc["frames"]
    assert again["nodes"][0]["colour"] == "#ff0000"
    assert again["edges"][0]["waypoints"] == [[1, 2]]
    upper = next(n for n in again["nodes"] if n["id"] == "upper")
    assert upper["note"] == "an unknown node key the next version may use"


def test_node_settings_survive_a_round_trip():
    wf = load(FIXTURE).workflow
    node = wf.node("words")
    assert node.retry == {"max_attempts": 2, "backoff_s": 0.01, "factor": 2}
    assert node.timeout_s == 5
    assert node.on_error == "fail"
    assert "retry" not in json.loads(dumps(wf))["nodes"][0]  # start has none: none written


# --- atomic save -------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object(), {1: "int key"}],
                         ids=["nan", "inf", "object", "int-key"])
def test_a_failing_save_leaves_the_old_file_untouched_and_no_temp_file(tmp_path, bad):
    target = tmp_path / "flow.loom.json"
    target.write_bytes(FIXTURE.read_bytes())
    before = target.read_bytes()
    wf = load(target).workflow
    wf.set_param("words", "bad", bad)
    with pytest.raises(WorkflowFileError) as info:
        save(wf, target)
    assert "not a JSON" in str(info.value) or "key" in str(info.value)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flow.loom.json"]


def test_a_save_that_fails_at_the_rename_removes_its_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "flow.loom.json"
    target.write_bytes(FIXTURE.read_bytes())
    wf = load(target).workflow
    wf.set_meta(name="changed")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileformat.os, "replace", broken_replace)
    with pytest.raises(OSError):
        save(wf, target)
    assert target.read_bytes() == FIXTURE.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["flow.loom.json"]


def test_saving_keeps_the_file_mode(tmp_path):
    target = tmp_path / "flow.loom.json"
    target.write_bytes(FIXTURE.read_bytes())
    os.chmod(target, 0o600)
    wf = load(target).workflow
    wf.set_meta(name="renamed")
    save(wf, target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert load(target).workflow.name == "renamed"


def test_saving_a_new_file_creates_it_readable(tmp_path):
    target = tmp_path / "new.loom.json"
    save(load(FIXTURE).workflow, target)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o644


# --- broken files ------------------------------------------------------------------------
BROKEN = {
    "truncated": (FIXTURE.read_text(encoding="utf-8")[:300], "is not valid JSON"),
    "not-json": ("this is not json at all", "is not valid JSON"),
    "empty": ("", "is not valid JSON"),
    "list": ("[1, 2, 3]", "is not a Flowloom workflow"),
    "no-format": ('{"version": 1, "nodes": []}', "is not a Flowloom workflow"),
    "other-format": ('{"format": "something.else", "version": 1}', "is not a Flowloom workflow"),
    "newer": ('{"format": "flowloom.workflow", "version": 7}', "newer Flowloom"),
    "string-version": ('{"format": "flowloom.workflow", "version": "1"}', "no valid \"version\""),
    "zero-version": ('{"format": "flowloom.workflow", "version": 0}', "no valid \"version\""),
    "no-version": ('{"format": "flowloom.workflow"}', "no valid \"version\""),
    "deep": ("[" * 100_000 + "]" * 100_000, "MAX_DEPTH"),  # issue #11: the limit is named
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_file_gives_one_clear_sentence(tmp_path, case):
    text, expected = BROKEN[case]
    path = tmp_path / f"{case}.loom.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowFileError) as info:
        load(path, core_registry())
    message = str(info.value)
    assert expected in message
    assert str(path) in message
    _one_sentence(message)


def test_a_missing_file_a_folder_and_binary_data_each_get_one_sentence(tmp_path):
    binary = tmp_path / "binary.loom.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for path, expected in ((tmp_path / "nope.loom.json", "does not exist"),
                           (tmp_path, "is a folder"), (binary, "not UTF-8")):
        with pytest.raises(WorkflowFileError) as info:
            load(path)
        assert expected in str(info.value)
        _one_sentence(str(info.value))


def test_wrong_shapes_inside_a_workflow_are_problems_while_the_rest_loads():
    doc = {"format": "flowloom.workflow", "version": 1, "name": 5,
           "nodes": [{"id": "a", "type": "data.value", "params": {"value": 1}},
                     "not a node", {"type": "data.value"}, {"id": "b", "type": 3},
                     {"id": "c", "type": "data.value", "params": [], "position": "here"},
                     {"id": "a", "type": "data.value"}],
           "edges": [{"source": "a"}, 7]}
    loaded = loads(json.dumps(doc))
    text = "\n".join(str(p) for p in loaded.problems)
    assert list(loaded.workflow.nodes) == ["a", "c"]
    assert '"name" must be a string' in text
    assert "node #2 is not a JSON object" in text
    assert 'node #3 has no "id"' in text
    assert "node 'b': has no \"type\"" in text
    assert "node 'c': \"params\" must be an object" in text
    assert "node 'c': \"position\" must be [x, y]" in text
    assert "node 'a': duplicate node id" in text
    assert "edge #1 must be an object" in text and "edge #2 must be an object" in text


def test_nodes_and_edges_that_are_not_lists_are_problems():
    loaded = loads('{"format": "flowloom.workflow", "version": 1, "nodes": {}, "edges": 3}')
    messages = [p.message for p in loaded.problems]
    assert '"nodes" must be a list' in messages and '"edges" must be a list' in messages


# --- versions and migrations -------------------------------------------------------------
@pytest.mark.parametrize("path", GOLDEN_V1, ids=lambda p: p.name)
def test_every_golden_v1_file_loads_without_problems(path):
    loaded = load(path, core_registry())
    assert loaded.problems == []
    assert loaded.workflow.nodes


def test_the_migration_chain_turns_a_v1_document_into_v2():
    seen = []

    def v1_to_v2(doc):
        seen.append(doc["version"])
        doc["nodes"] = [dict(n, position={"x": n["position"][0], "y": n["position"][1]})
                        for n in doc["nodes"]]
        return doc

    doc = json.loads(FIXTURE.read_text(encoding="utf-8"))
    migrated = fileformat.migrate(doc, migrations={1: v1_to_v2}, target=2)
    assert seen == [1]
    assert migrated["version"] == 2
    assert migrated["nodes"][1]["position"] == {"x": 200, "y": 0}
    assert doc["version"] == 1  # the input document is not changed in place


def test_a_chain_of_two_migrations_runs_in_order():
    steps = []

    def step(n):
        def migrate(doc):
            steps.append(n)
            doc.setdefault("history", []).append(n)
            return doc
        return migrate

    out = fileformat.migrate({"format": "flowloom.workflow", "version": 1},
                             migrations={1: step(1), 2: step(2)}, target=3)
    assert steps == [1, 2] and out["version"] == 3 and out["history"] == [1, 2]


def test_a_gap_in_the_migration_chain_is_one_clear_sentence():
    with pytest.raises(WorkflowFileError) as info:
        fileformat.migrate({"format": "flowloom.workflow", "version": 1}, migrations={},
                           target=2, source="old.loom.json")
    assert "old.loom.json is format version 1, which cannot be migrated to 2" in str(info.value)
    _one_sentence(str(info.value))


def test_a_current_file_needs_no_migration():
    doc = {"format": "flowloom.workflow", "version": fileformat.VERSION}
    assert fileformat.migrate(doc) == doc


def test_loaded_node_fields_are_plain_values():
    wf = load(FIXTURE).workflow
    node = wf.node("each")
    assert isinstance(node, Node) and node.position == (400, 0) and node.params == {
        "parallel": 2}


FRAMED = sorted(p for p in (ROOT / "resources").rglob("*.loom.json")
                if '"frames"' in p.read_text(encoding="utf-8"))


def test_files_with_frames_written_before_load_as_frames_and_save_back_byte_for_byte():
    assert len(FRAMED) >= 5
    for path in FRAMED:
        text = path.read_text(encoding="utf-8")
        loaded = loads(text)
        assert loaded.problems == [], path.name
        assert loaded.workflow.frames and "frames" not in loaded.workflow.extra, path.name
        assert dumps(loaded.workflow) == text, path.name


def test_frames_are_written_among_the_top_level_keys_in_sorted_order():
    wf = load(FIXTURE).workflow
    wf.extra["pools"] = {"api": 2}
    wf.add_frame(Frame("f1", "A", None, ["start"]))
    doc = json.loads(dumps(wf))
    assert list(doc)[6:] == ["frames", "pools", "ui"]
    assert doc["frames"] == [{"id": "f1", "title": "A", "nodes": ["start"]}], "no color: none"


def test_frames_that_cannot_be_read_whole_keep_what_they_hold():
    doc = json.loads(FIXTURE.read_text(encoding="utf-8"))
    doc["frames"] = [{"title": "no id", "nodes": ["start"]}, "not an object",
                     {"id": "f1", "title": 7, "nodes": ["start", 3]},
                     {"id": "f1", "title": "repeat", "nodes": []}]
    loaded = loads(json.dumps(doc))
    frames = loaded.workflow.frames
    assert [(f.id, f.title, f.nodes) for f in frames.values()] == [
        ("f1", "", ["start"]), ("f2", "no id", ["start"]), ("f3", "repeat", [])]
    messages = [p.message for p in loaded.problems]
    assert messages == ["frame #2 is not a JSON object; it was left out",
                        'the "title" of frame #3 must be a string',
                        'the "nodes" of frame #3 must be a list of node ids']


def test_frames_that_are_not_a_list_are_kept_as_written():
    doc = json.loads(FIXTURE.read_text(encoding="utf-8"))
    doc["frames"] = {"f1": "odd"}
    loaded = loads(json.dumps(doc))
    assert loaded.workflow.frames == {}
    assert [p.message for p in loaded.problems] == [
        '"frames" must be a list; the frames were not read']
    assert json.loads(dumps(loaded.workflow))["frames"] == {"f1": "odd"}
