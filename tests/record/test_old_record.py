"""A record written before issue 17's sixth pass (tests/record/fixtures/keys_v1.history.db,
written by that code from keys_v1.loom.json: ints, a str with quotes and non-ASCII, a float, a
bool, a list through a foreach, a value past INLINE_MAX, two inputs) still loads, and a run of
the same file re-uses it whole: every key the current code makes is the one kept then."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine.history import HistoryStore
from engine.record.store import load_record

FIXTURES = Path(__file__).parent / "fixtures"
RUN_ID = "a732596bce9c"


def test_a_run_reuses_every_node_of_a_record_written_before(flowloom, history_db):
    shutil.copy(FIXTURES / "keys_v1.history.db", history_db)
    with HistoryStore.open(history_db) as store:
        record = load_record(store, RUN_ID)
    assert record is not None and record.state == "complete"
    assert record.outputs("s1") == {"out": 'née "q"!'}
    assert record.outputs("big_len") == {"out": 600}

    code, out, err = flowloom("run", str(FIXTURES / "keys_v1.loom.json"), "--json",
                              "--reuse-from", RUN_ID)

    assert code == 0, err
    assert f"reusing run {RUN_ID}: 15 reused, 1 run, 0 resend their effects" in err
    result = json.loads(out)
    assert result["outputs"] == {"r": 22}
    # every top-level node but the output came from the record (the loop body did not run)
    assert all(n.get("cached") for nid, n in result["nodes"].items()
               if nid not in ("out", "sq"))
