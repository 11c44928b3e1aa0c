"""file.* nodes on real files in tmp_path, relative to the workflow's folder."""

from __future__ import annotations

import json
import os

import pytest

from engine.context import Services
from engine.errors import NodeFailure
from nodes.files import write_atomic
from tests.nodes.flowrun import error_of, run_one


@pytest.fixture
def services(tmp_path):
    return Services(base_dir=tmp_path)


@pytest.mark.asyncio
async def test_read_text_json_and_csv_by_extension(tmp_path, services):
    (tmp_path / "a.txt").write_text("héllo\n", encoding="utf-8")
    (tmp_path / "b.json").write_text('{"n": [1, 2]}')
    (tmp_path / "c.csv").write_text('name,score\nada,3\n"b, c",4\n')
    expected = {"a.txt": "héllo\n", "b.json": {"n": [1, 2]},
                "c.csv": [{"name": "ada", "score": "3"}, {"name": "b, c", "score": "4"}]}
    for name, want in expected.items():
        result, _ = await run_one("file.read", {"path": name}, services=services)
        assert result.outputs["out"] == want, name


@pytest.mark.asyncio
async def test_read_csv_without_header_gives_rows_and_input_path_wins(tmp_path, services):
    (tmp_path / "c.csv").write_text("1,2\n3,4\n")
    result, _ = await run_one("file.read", {"path": "nope.csv", "header": False},
                              {"path": "c.csv"}, services=services)
    assert result.outputs["out"] == [["1", "2"], ["3", "4"]]


@pytest.mark.asyncio
async def test_read_errors_name_the_file(tmp_path, services):
    result, _ = await run_one("file.read", {"path": "missing.txt"}, services=services)
    assert f"file {tmp_path / 'missing.txt'} does not exist" in error_of(result)
    (tmp_path / "bad.json").write_text("{oops")
    result, _ = await run_one("file.read", {"path": "bad.json"}, services=services)
    assert "bad.json is not valid JSON" in error_of(result)
    (tmp_path / "latin.txt").write_bytes(b"caf\xe9")
    result, _ = await run_one("file.read", {"path": "latin.txt"}, services=services)
    assert "is not utf-8 text" in error_of(result)


@pytest.mark.asyncio
async def test_write_json_then_refuse_to_overwrite_then_overwrite_when_asked(tmp_path, services):
    target = tmp_path / "out" / "data.json"
    result, events = await run_one("file.write", {"path": "out/data.json"},
                                   {"content": {"a": 1}}, services=services)
    assert result.ok, error_of(result)
    assert result.outputs["path"] == str(target.resolve())
    assert json.loads(target.read_text()) == {"a": 1}

    result, _ = await run_one("file.write", {"path": "out/data.json"},
                              {"content": {"a": 2}}, services=services)
    assert not result.ok
    assert "already exists; turn on `overwrite`" in error_of(result)
    assert json.loads(target.read_text()) == {"a": 1}

    result, _ = await run_one("file.write", {"path": "out/data.json", "overwrite": True},
                              {"content": {"a": 3}}, services=services)
    assert result.ok and json.loads(target.read_text()) == {"a": 3}
    assert sorted(os.listdir(target.parent)) == ["data.json"]  # no temp files left behind


@pytest.mark.asyncio
async def test_write_csv_rows_and_text_type_errors(tmp_path, services):
    rows = [{"name": "ada", "n": 1}, {"name": "bob", "n": 2}]
    result, _ = await run_one("file.write", {"path": "t.csv"}, {"content": rows},
                              services=services)
    assert result.ok, error_of(result)
    assert (tmp_path / "t.csv").read_text() == "name,n\nada,1\nbob,2\n"
    result, _ = await run_one("file.write", {"path": "t.txt"}, {"content": {"a": 1}},
                              services=services)
    assert "text content must be a string, got dict" in error_of(result)
    assert not (tmp_path / "t.txt").exists()


def test_write_atomic_never_replaces_a_file_that_exists(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("keep")
    with pytest.raises(NodeFailure, match="already exists"):
        write_atomic(target, b"new", overwrite=False)
    assert target.read_text() == "keep"
    assert os.listdir(tmp_path) == ["f.txt"]


@pytest.mark.asyncio
async def test_list_with_glob_sorted_relative_and_recursive(tmp_path, services):
    for name in ("data/b.csv", "data/a.csv", "data/notes.md", "data/sub/c.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    result, _ = await run_one("file.list", {"folder": "data", "pattern": "*.csv"},
                              services=services)
    assert result.outputs["files"] == [os.path.join("data", "a.csv"),
                                       os.path.join("data", "b.csv")]
    result, _ = await run_one("file.list", {"folder": "data", "pattern": "*.csv",
                                            "recursive": True}, services=services)
    assert os.path.join("data", "sub", "c.csv") in result.outputs["files"]
    assert len(result.outputs["files"]) == 3
    result, _ = await run_one("file.list", {"folder": "nowhere"}, services=services)
    assert "nowhere does not exist" in error_of(result)
