"""Node runs and output previews stored packed: one row of JSON text per recorder flush.

Schema 4 keeps a run's node runs and output previews in `node_run_packs`, one row per write
of the recorder (every flush, up to `flush_events` events), instead of one row per node run and
one per output: SQLite inserting 10 000 indexed rows cost ~20-26 µs a node on the reference
machine, the same facts as a few JSON texts ~4 µs. Stdlib only (the CLI's writer, lite.py,
imports it without SQLAlchemy); the same SQL runs over a SQLAlchemy connection and a sqlite3 one
(anything with `exec_driver_sql(sql, params)`).

A pack has two JSON arrays (either may be NULL, meaning empty):

* `nodes`: node runs, each `[node_id, iteration, status, attempts, retries, started_at,
  ended_at, duration_s, error, reason]` — the whole record as it stands at that flush. A node
  run written by an earlier pack (started, then finished) is superseded by a later one: readers
  fold a run's packs in id order and the last entry for (node_id, iteration) wins, while the
  node run keeps the place of its first entry (what the row id was under schema 3).
* `outputs`: output previews, each `[node_id, iteration, preview, truncated]`, appended in the
  order the nodes finished (never superseded).

Crash recovery appends one pack with the run's `running` and `retrying` node runs changed to
`interrupted` (`interrupt`), so readers never need to know about recovery.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from engine.history.names import INTERRUPTED, NODE_RUN_PACKS_TABLE, RETRYING, RUNNING

PACK_ENTRIES = 1000  # the migration's pack size (the recorder's follows its flushes)
INSERT_PACK = f"INSERT INTO {NODE_RUN_PACKS_TABLE} (run_id, nodes, outputs) VALUES (?, ?, ?)"
_CHUNK = 500  # run ids per query: under SQLite's bound-parameter limit
_encoder = json.JSONEncoder(check_circular=False, separators=(",", ":"))  # C encoder, lists


class NodeRun(NamedTuple):
    """One node run as the readers see it (schema 3's node_runs row without its id)."""

    run_id: str
    node_id: str
    iteration: str
    status: str
    attempts: int
    retries: int
    started_at: float | None
    ended_at: float | None
    duration_s: float | None
    error: str | None
    reason: str | None


def encode(entries: Sequence[Sequence[Any]]) -> str | None:
    """A pack column's text (None for no entries); tuples are written as JSON arrays."""
    return _encoder.encode(entries) if entries else None


def node_runs(conn: Any, run_ids: Sequence[str]) -> list[NodeRun]:
    """The node runs of `run_ids`, each folded to its last entry, in the order they were
    first written (per chunk of 500 runs, as schema 3's `ORDER BY id` per query)."""
    found: list[NodeRun] = []
    for start in range(0, len(run_ids), _CHUNK):
        chunk = tuple(run_ids[start:start + _CHUNK])
        folded: dict[tuple[str, str, str], list[Any]] = {}
        rows = conn.exec_driver_sql(
            f"SELECT run_id, nodes FROM {NODE_RUN_PACKS_TABLE} WHERE run_id IN "
            f"({', '.join('?' * len(chunk))}) AND nodes IS NOT NULL ORDER BY id", chunk)
        for run_id, text in rows:
            for entry in json.loads(text):
                folded[(run_id, entry[0], entry[1])] = entry
        found.extend(NodeRun(key[0], *entry) for key, entry in folded.items())
    return found


def outputs(conn: Any, run_id: str) -> list[tuple[str, str, str, bool]]:
    """A run's output previews (node_id, iteration, preview, truncated), in the order written."""
    found: list[tuple[str, str, str, bool]] = []
    for (text,) in conn.exec_driver_sql(
            f"SELECT outputs FROM {NODE_RUN_PACKS_TABLE} WHERE run_id = ? "
            "AND outputs IS NOT NULL ORDER BY id", (run_id,)):
        found.extend((node_id, iteration, preview, bool(cut))
                     for node_id, iteration, preview, cut in json.loads(text))
    return found


def interrupt(conn: Any, run_id: str) -> int:
    """Append a pack marking the run's unfinished (running, retrying) node runs interrupted;
    the number of them."""
    stuck = [[*nr[1:3], INTERRUPTED, *nr[4:]] for nr in node_runs(conn, [run_id])
             if nr.status in (RUNNING, RETRYING)]
    if stuck:
        conn.exec_driver_sql(INSERT_PACK, (run_id, encode(stuck), None))
    return len(stuck)


def _chunks(rows: Iterable[tuple[Any, ...]]) -> Iterable[tuple[str, list[tuple[Any, ...]]]]:
    """(run_id, entries) for consecutive rows of one run, at most PACK_ENTRIES each."""
    run_id, entries = None, []
    for row in rows:
        if entries and (row[0] != run_id or len(entries) >= PACK_ENTRIES):
            yield run_id, entries
            entries = []
        run_id = row[0]
        entries.append(row[1:])
    if entries:
        yield run_id, entries


def pack_rows(conn: Any) -> None:
    """Schema 3 -> 4: move the `node_runs` and `outputs` rows into packs (node runs in id
    order, so their order and the folding stay as the row ids had them; then each run's
    outputs), and drop the two tables (a file without them has nothing to move)."""
    present = {name for (name,) in conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('node_runs', 'outputs')")}
    if present != {"node_runs", "outputs"}:
        for name in sorted(present):
            conn.exec_driver_sql(f"DROP TABLE {name}")
        return
    nodes = conn.exec_driver_sql(
        "SELECT run_id, node_id, iteration, status, attempts, retries, started_at, ended_at, "
        "duration_s, error, reason FROM node_runs ORDER BY id").fetchall()
    packed = [(run_id, encode(entries), None) for run_id, entries in _chunks(nodes)]
    previews = conn.exec_driver_sql(
        "SELECT run_id, node_id, iteration, preview, truncated FROM outputs "
        "ORDER BY run_id, id").fetchall()
    packed += [(run_id, None, encode([(*e[:3], bool(e[3])) for e in entries]))
               for run_id, entries in _chunks(previews)]
    if packed:
        conn.exec_driver_sql(INSERT_PACK, packed)
    conn.exec_driver_sql("DROP TABLE outputs")
    conn.exec_driver_sql("DROP TABLE node_runs")
