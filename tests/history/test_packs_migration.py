"""A schema-3 history (node runs and output previews as rows) opened by this code is migrated
to packed node runs, and every reader gives the answers the schema-3 code gave on it.

tests/history/fixtures/history_v3.db and history_v3.answers.json were both written by
tests/history/fixtures/make_v3.py at 6a1cb15 (the answers: that code opening a copy, which also
marked its dead run interrupted). `answers()` is the same function, run here on the new code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.history import SCHEMA_VERSION, HistoryStore, packs
from engine.history.lite import LiteStore
from tests.history.fixtures.make_v3 import ANSWERS, DB, answers

pytestmark = pytest.mark.timeout(60)


def _copy(tmp_path: Path) -> Path:
    db = tmp_path / "h.db"
    shutil.copy(DB, db)  # never the fixture itself: opening it migrates it
    return db


@pytest.mark.parametrize("page, pack_entries", [(50_000, 1000), (7, 3)])
def test_a_schema_3_history_gives_the_same_answers_after_the_migration(tmp_path, monkeypatch,
                                                                       page, pack_entries):
    # (7, 3): rows read 7 at a time and packed 3 at a time, so runs span pages and packs
    monkeypatch.setattr(packs, "_PAGE", page)
    monkeypatch.setattr(packs, "PACK_ENTRIES", pack_entries)
    expected = json.loads(ANSWERS.read_text(encoding="utf-8"))
    with HistoryStore.open(_copy(tmp_path)) as store:
        assert store.schema_version() == SCHEMA_VERSION == 4
        got = json.loads(json.dumps(answers(store)))
        with store.reading() as conn:
            tables = {name for (name,) in conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"node_runs", "outputs"} & tables == set()
    assert "node_run_packs" in tables
    for part in expected:  # one part at a time (order included): a failure names the reader
        assert json.dumps(got[part]) == json.dumps(expected[part]), part
    assert got == expected


def test_the_migrated_history_keeps_its_masked_secret_and_its_interrupted_run(tmp_path):
    with HistoryStore.open(_copy(tmp_path)) as store:
        got = answers(store)
    dead = got["get_run"]["deadbeef0001"]["detail"]
    assert dead["status"] == "interrupted"
    assert [(n["node_id"], n["iteration"], n["status"]) for n in dead["nodes"]] == [
        ("a", [], "succeeded"), ("b", [0], "interrupted"), ("b", [1], "interrupted"),
        ("c", [], "skipped")]
    previews = [o["preview"] for run in got["get_run"].values()
                for o in run["detail"]["outputs"]]
    assert '{"out": {"header": "Bearer ••••••"}}' in previews
    assert any(o["truncated"] for run in got["get_run"].values()
               for o in run["detail"]["outputs"])


def test_the_cli_writer_opens_the_migrated_file_with_sqlite3(tmp_path):
    db = _copy(tmp_path)
    assert LiteStore.open(db) is None  # schema 3: HistoryStore migrates it first
    HistoryStore.open(db).close()
    lite = LiteStore.open(db)
    assert lite is not None
    lite.close()
