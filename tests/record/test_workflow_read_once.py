"""`flowloom run` reads the workflow file once for the run's record and the history's content
hash (builder/cli_replay.py RunRecording): the record keeps the text as `Path.read_text` gives
it (universal newlines), the history the sha256 of the bytes on disk, as when each read the
file on its own."""

from __future__ import annotations

import hashlib
import json
import sqlite3

from engine.history.names import RUNS_TABLE
from tests.record.conftest import edge, node, workflow
from tests.record.test_record_batches import record_of


def test_the_record_and_the_history_hash_come_from_one_read(flowloom, tmp_path, history_db):
    doc = workflow("crlf", [node("a", "data.expression", expr="'é☃'", inputs=[]),
                            node("b", "data.expression", 100, expr="x + '!'")],
                   [edge("a", "b", "out", "x")])
    path = tmp_path / "crlf.loom.json"
    data = json.dumps(doc, indent=1, ensure_ascii=False).replace("\n", "\r\n").encode()
    data = data.replace(b"\r\n ", b"\r ", 1)  # a lone carriage return as well
    path.write_bytes(data)
    code, out, err = flowloom("run", str(path), "--json", "-q")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    assert record_of(history_db, run_id).workflow_text == path.read_text(encoding="utf-8")
    with sqlite3.connect(history_db) as conn:
        (content_hash,) = conn.execute(f"SELECT content_hash FROM {RUNS_TABLE} WHERE id = ?",
                                       (run_id,)).fetchone()
    assert content_hash == hashlib.sha256(data).hexdigest()
