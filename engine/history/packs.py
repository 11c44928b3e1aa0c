"""Node runs and output previews stored packed: one row per recorder flush.

Schema 4 keeps a run's node runs and output previews in `node_run_packs`, one row per write
of the recorder (every flush, up to `flush_events` events), instead of one upserted row per node
run and one per output: the writer thread's CPU for a 10 000-node chain fell from ~24 to ~8 µs a
node run (bench/history.py; docs/perf.md "Packed node runs"). Stdlib only (the CLI's writer,
lite.py, imports it without SQLAlchemy); the same SQL runs over a SQLAlchemy connection and a
sqlite3 one (anything with `exec_driver_sql(sql, params)`).

A pack has three columns (each NULL when it holds nothing):

* `nodes`: node runs as a JSON array, each `[node_id, iteration, status, attempts, retries,
  error, reason]` — the whole record as it stands at that flush — and `times`, their
  `started_at, ended_at, duration_s` as little-endian doubles, three per node run (NaN for
  none). The times are binary because writing a float as JSON text (its shortest repr) cost
  ~2 µs each here, 6 of the 7 µs a node run took to encode; packed they are exact and ~0.1 µs.
  A node run written by an earlier pack (started, then finished) is superseded by a later one:
  readers fold a run's packs in id order and the last entry for (node_id, iteration) wins,
  while the node run keeps the place of its first entry (what the row id was under schema 3).
* `outputs`: output previews as a JSON array, each `[node_id, iteration, preview, truncated]`,
  appended in the order the nodes finished (never superseded).

Crash recovery appends one pack with the run's `running` and `retrying` node runs changed to
`interrupted` (`interrupt`), so readers never need to know about recovery.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import itemgetter
from typing import Any, NamedTuple

from engine.history.names import INTERRUPTED, NODE_RUN_PACKS_TABLE, RETRYING, RUNNING

PACK_ENTRIES = 1000  # the migration's pack size (the recorder's follows its flushes)
_PAGE = 50_000  # schema-3 rows the migration reads at a time
INSERT_PACK = (f"INSERT INTO {NODE_RUN_PACKS_TABLE} (run_id, nodes, times, outputs) "
               "VALUES (?, ?, ?, ?)")
_CHUNK = 500  # run ids per query: under SQLite's bound-parameter limit
_encoder = json.JSONEncoder(check_circular=False, separators=(",", ":"))  # C encoder, lists
_NAN = float("nan")
_fields, _times = itemgetter(0, 1, 2, 3, 4, 8, 9), itemgetter(5, 6, 7)  # of a node-run entry


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
    """A JSON column's text (None for no entries); tuples are written as JSON arrays."""
    return _encoder.encode(entries) if entries else None


def encode_nodes(entries: Sequence[Sequence[Any]]) -> tuple[str | None, bytes | None]:
    """(nodes, times) of node-run entries in NodeRun's field order without run_id."""
    if not entries:
        return None, None
    times = [_NAN if t is None else t for t in chain.from_iterable(map(_times, entries))]
    return (_encoder.encode(list(map(_fields, entries))),
            struct.pack(f"<{len(times)}d", *times))


def pack(run_id: str, entries: Sequence[Sequence[Any]],
         previews: Sequence[Sequence[Any]] = ()) -> tuple[Any, ...]:
    """INSERT_PACK's parameters: a run's node-run entries and output previews."""
    return (run_id, *encode_nodes(entries), encode(previews))


def _decode(text: str, blob: bytes) -> Iterable[list[Any]]:
    times = [None if t != t else t for t in struct.unpack(f"<{len(blob) // 8}d", blob)]
    for i, e in enumerate(json.loads(text)):
        yield [*e[:5], *times[3 * i:3 * i + 3], *e[5:]]


def node_runs(conn: Any, run_ids: Sequence[str]) -> list[NodeRun]:
    """The node runs of `run_ids`, each folded to its last entry, in the order they were
    first written (per chunk of 500 runs, as schema 3's `ORDER BY id` per query)."""
    found: list[NodeRun] = []
    for start in range(0, len(run_ids), _CHUNK):
        chunk = tuple(run_ids[start:start + _CHUNK])
        folded: dict[tuple[str, str, str], list[Any]] = {}
        rows = conn.exec_driver_sql(
            f"SELECT run_id, nodes, times FROM {NODE_RUN_PACKS_TABLE} WHERE run_id IN "
            f"({', '.join('?' * len(chunk))}) AND nodes IS NOT NULL ORDER BY id", chunk)
        for run_id, text, blob in rows:
            for entry in _decode(text, blob):
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
        conn.exec_driver_sql(INSERT_PACK, pack(run_id, stuck))
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


def _pages(conn: Any, columns: str, table: str) -> Iterable[list[tuple[Any, ...]]]:
    """A schema-3 table's rows in id order, _PAGE at a time (a big history is never held
    whole); each row without its id."""
    last = 0
    while True:
        rows = conn.exec_driver_sql(f"SELECT id, {columns} FROM {table} WHERE id > ? "
                                    f"ORDER BY id LIMIT {_PAGE}", (last,)).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        yield [row[1:] for row in rows]


def pack_rows(conn: Any) -> None:
    """Schema 3 -> 4: move the `node_runs` and `outputs` rows into packs, in id order (so the
    node runs' order and their folding stay as the row ids had them, and each run's outputs
    keep theirs), and drop the two tables (a file without them has nothing to move)."""
    present = {name for (name,) in conn.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('node_runs', 'outputs')")}
    if present != {"node_runs", "outputs"}:
        for name in sorted(present):
            conn.exec_driver_sql(f"DROP TABLE {name}")
        return
    for rows in _pages(conn, "run_id, node_id, iteration, status, attempts, retries, "
                             "started_at, ended_at, duration_s, error, reason", "node_runs"):
        conn.exec_driver_sql(INSERT_PACK, [pack(run_id, entries)
                                           for run_id, entries in _chunks(rows)])
    for rows in _pages(conn, "run_id, node_id, iteration, preview, truncated", "outputs"):
        conn.exec_driver_sql(INSERT_PACK, [pack(run_id, (), [(*e[:3], bool(e[3]))
                                                             for e in entries])
                                           for run_id, entries in _chunks(rows)])
    conn.exec_driver_sql("DROP TABLE outputs")
    conn.exec_driver_sql("DROP TABLE node_runs")
