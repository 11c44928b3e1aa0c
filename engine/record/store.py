"""Run records in the history database: writing one after its run, reading it back, and the
size policy that keeps them in bounds.

Tables (engine/history/schema.py, schema version 3): `blobs` holds bytes by sha256, once however
many records share them; `records` one row per recorded run (state complete | over_limit |
pruned, and why); `record_items` the facts: per node execution a "node" item (status, key,
its outputs' blob) and an "inputs" item, per effect an "http" (response bytes' blob), "clock",
"random" or "approval" item, per sub-workflow file the run called a "subworkflow" item (its
path, the text's blob), and the run's "workflow" and "run_inputs".

Size policy (`Policy`): a run's record may hold at most `max_run_bytes` (default 50 MB; past
that the rest is not kept and the record is `over_limit`: it cannot be replayed), and all
records together at most `max_total_bytes` of blobs (default 2 GB): after each write the oldest
records are pruned first (their items and the blobs nothing else uses deleted) until the total
fits. The person sets both with FLOWLOOM_RECORD_MAX_RUN_MB / FLOWLOOM_RECORD_MAX_TOTAL_MB or
the run flags of the same name.

Plain SQL through `store.transaction()` (a HistoryStore or a LiteStore), so `flowloom run`
writes records without SQLAlchemy. Secrets are masked here, with every secret the run read.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.fileformat import dumps
from engine.history.names import (
    BLOBS_TABLE,
    RECORD_ITEMS_TABLE,
    RECORDS_TABLE,
    iteration_path,
    iteration_text,
)
from engine.record.codec import decode, digest, encode
from engine.record.keys import bodies, node_keys, static_key
from engine.record.tap import MB, HttpExchange, RunTap

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.executor import Run

log = logging.getLogger(__name__)

COMPLETE, OVER_LIMIT, PRUNED = "complete", "over_limit", "pruned"
RUN_ENV, TOTAL_ENV = "FLOWLOOM_RECORD_MAX_RUN_MB", "FLOWLOOM_RECORD_MAX_TOTAL_MB"


@dataclass(frozen=True)
class Policy:
    max_run_bytes: int = 50 * MB
    max_total_bytes: int = 2048 * MB

    @classmethod
    def from_settings(cls, run_mb: float | None = None, total_mb: float | None = None,
                      environ: dict[str, str] | None = None) -> Policy:
        """Flags win over the environment, the environment over the defaults."""
        env = os.environ if environ is None else environ

        def pick(given: float | None, name: str, default: int) -> int:
            if given is None and env.get(name):
                try:
                    given = float(env[name])
                except ValueError:
                    log.warning("record: %s=%r is not a number; using the default", name,
                                env[name])
            return default if given is None else max(0, int(given * MB))

        return cls(pick(run_mb, RUN_ENV, cls.max_run_bytes),
                   pick(total_mb, TOTAL_ENV, cls.max_total_bytes))


# --- writing ------------------------------------------------------------------------------
def _inputs_of(run: Run, tap: RunTap, node_id: str, iteration: tuple[int, ...],
               incoming: dict[str, list[Any]]) -> dict[str, Any]:
    """The values that reached a node execution along its wires (from the recorded outputs of
    its sources, in the same loop iteration or around it)."""
    found: dict[str, Any] = {}
    for edge in incoming.get(node_id, ()):
        item = _loop_item(run, tap, edge.source, edge.source_port, node_id, iteration,
                          incoming)
        if item is not _NONE:
            found.setdefault(edge.target_port, []).append(item)
            continue
        for depth in range(len(iteration), -1, -1):
            rec = tap.nodes.get((edge.source, iteration[:depth]))
            if rec is not None:
                outputs = rec["outputs"] or {}
                if edge.source_port in outputs:
                    found.setdefault(edge.target_port, []).append(outputs[edge.source_port])
                break
    return {port: values[0] if len(values) == 1 else values for port, values in found.items()}


@dataclass(frozen=True)
class Written:
    state: str  # COMPLETE or OVER_LIMIT
    note: str | None  # why it is over its limit
    size_bytes: int
    pruned: list[str]  # runs whose records the size policy pruned to make room


_NONE = object()


def _loop_item(run: Run, tap: RunTap, source: str, port: str, node_id: str,
               iteration: tuple[int, ...], incoming: dict[str, list[Any]]) -> Any:
    """The item a flow.foreach around `node_id` handed its body in this iteration (the loop
    gives it inside the body, not as an output of its own): its `items` input at that index."""
    compiled = run.compiled
    pn = compiled.nodes.get(source)
    if pn is None or pn.kind != "foreach" or port != "item":
        return _NONE
    scope = compiled.scope_of.get(node_id)
    chain = []
    while scope is not None:
        chain.append(scope)
        scope = compiled.scope_of.get(scope)
    if source not in chain:
        return _NONE
    depth = len(chain) - 1 - chain.index(source)  # the loop's own iteration path length
    if depth >= len(iteration):
        return _NONE
    items = _inputs_of(run, tap, source, iteration[:depth], incoming).get("items")
    index = iteration[depth]
    return items[index] if isinstance(items, list) and 0 <= index < len(items) else _NONE


def write_record(store: Any, run: Run, tap: RunTap, *, policy: Policy | None = None,
                 settings: dict[str, Any] | None = None, replay_of: str | None = None,
                 workflow_text: str | None = None) -> Written:
    """Keep `run`'s record (after the run, once its history row is written). `workflow_text`:
    the file the run was loaded from, when the caller has it (else the model is rendered)."""
    policy = policy or Policy()
    redact = run.redact
    compiled = run.compiled
    blobs: dict[str, bytes] = {}
    state, note = COMPLETE, tap.over_limit
    used = 0

    def put(data: bytes, what: str) -> str | None:
        nonlocal used, state, note
        key = digest(data)
        if key in blobs:
            return key
        if used + len(data) > policy.max_run_bytes:
            if note is None:
                note = (f"the record passed its limit of {policy.max_run_bytes / MB:.4g} MB "
                        f"at {what}")
            return None
        used += len(data)
        blobs[key] = data
        return key

    items: list[tuple[Any, ...]] = []

    def item(node_id: str, iteration: tuple[int, ...], kind: str, seq: int,
             meta: dict[str, Any], blob: str | None) -> None:
        items.append((run.run_id, node_id, iteration_text(iteration), kind, seq,
                      json.dumps(meta, sort_keys=True, default=repr), blob))

    text = dumps(compiled.workflow) if workflow_text is None else workflow_text
    workflow_blob = put(redact(text).encode("utf-8"), "the workflow")
    item("", (), "workflow", 0, {}, workflow_blob)
    item("", (), "run_inputs", 0, {}, put(encode(run.recorded(tap.inputs)), "the run inputs"))

    def outputs_of(node_id: str) -> Any:
        rec = tap.nodes.get((node_id, ()))
        return {} if rec is None else (rec["outputs"] or {})

    loop_bodies = bodies(compiled)
    statics = {nid: static_key(compiled, nid, loop_bodies) for nid in compiled.plan.nodes}
    keys = node_keys(compiled, outputs_of, tap.inputs, statics)
    incoming: dict[str, list[Any]] = {}
    for edge in compiled.workflow.edges:
        incoming.setdefault(edge.target, []).append(edge)
    for (node_id, iteration), rec in tap.nodes.items():
        if node_id not in compiled.workflow.nodes:
            continue
        pn = compiled.nodes.get(node_id)
        meta = {"status": rec["status"], "error": rec["error"], "cached": rec["cached"],
                "type": compiled.workflow.nodes[node_id].type,
                "pure": bool(pn is not None and pn.impl.is_pure())}
        if not iteration:
            meta["key"] = keys.get(node_id)
            meta["static"] = statics.get(node_id) or static_key(compiled, node_id, loop_bodies)
        what = f"node {node_id!r}"
        out = None if rec["outputs"] is None else put(encode(rec["outputs"]), what)
        item(node_id, iteration, "node", 0, meta, out)
        inputs = _inputs_of(run, tap, node_id, iteration, incoming)
        item(node_id, iteration, "inputs", 0, {}, put(encode(run.recorded(inputs)), what))
    for seq, exchange in enumerate(tap.http):
        body = put(tap.redact_bytes(exchange.body),
                   f"node {exchange.node_id!r}'s {exchange.method} response")
        meta = exchange.meta()
        meta["url"] = redact(meta["url"])
        meta["headers"] = [[k, redact(v)] for k, v in meta["headers"]]
        item(exchange.node_id, (), "http", seq, meta, body)
    for seq, (kind, node_id, iteration, value) in enumerate(tap.values):
        item(node_id, iteration, kind, seq, {"value": value}, None)
    for seq, (node_id, iteration, decision) in enumerate(tap.approvals):
        item(node_id, iteration, "approval", seq, decision, None)
    for seq, (path, (node_id, child)) in enumerate(sorted(tap.workflows.items())):
        blob = put(redact(child).encode("utf-8"), f"node {node_id!r}'s sub-workflow")
        item(node_id, (), "subworkflow", seq, {"path": path}, blob)
    if note is not None:
        state = OVER_LIMIT
    now = time.time()
    with store.transaction() as conn:
        if blobs:
            conn.exec_driver_sql(
                f"INSERT OR IGNORE INTO {BLOBS_TABLE} (hash, size, data) VALUES (?, ?, ?)",
                [(key, len(data), data) for key, data in blobs.items()])
        conn.exec_driver_sql(
            f"INSERT OR REPLACE INTO {RECORDS_TABLE} (run_id, workflow_blob, settings_json, "
            "size_bytes, state, note, replay_of, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run.run_id, workflow_blob, json.dumps(settings or {}, default=repr), used, state,
             note, replay_of, now))
        conn.exec_driver_sql(
            f"INSERT INTO {RECORD_ITEMS_TABLE} (run_id, node_id, iteration, kind, seq, "
            "meta_json, blob) VALUES (?, ?, ?, ?, ?, ?, ?)", items)
    return Written(state, note, used, prune(store, policy.max_total_bytes))


# --- the size policy ----------------------------------------------------------------------
def total_bytes(store: Any) -> int:
    with store.transaction() as conn:
        return int(conn.exec_driver_sql(
            f"SELECT coalesce(sum(size), 0) FROM {BLOBS_TABLE}").fetchone()[0])


def prune(store: Any, max_total_bytes: int) -> list[str]:
    """Prune the oldest records until all blobs fit in `max_total_bytes`."""
    pruned: list[str] = []
    with store.transaction() as conn:
        total = int(conn.exec_driver_sql(
            f"SELECT coalesce(sum(size), 0) FROM {BLOBS_TABLE}").fetchone()[0])
        while total > max_total_bytes:
            row = conn.exec_driver_sql(
                f"SELECT run_id FROM {RECORDS_TABLE} WHERE state != ? "
                "ORDER BY created_at, rowid LIMIT 1", (PRUNED,)).fetchone()
            if row is None:
                break
            run_id = row[0]
            # keep which nodes ran (so a replay can name the first one it lacks), drop the rest
            conn.exec_driver_sql(f"DELETE FROM {RECORD_ITEMS_TABLE} WHERE run_id = ? "
                                 "AND kind != 'node'", (run_id,))
            conn.exec_driver_sql(f"UPDATE {RECORD_ITEMS_TABLE} SET blob = NULL "
                                 "WHERE run_id = ?", (run_id,))
            conn.exec_driver_sql(
                f"UPDATE {RECORDS_TABLE} SET state = ?, workflow_blob = NULL, note = ? "
                "WHERE run_id = ?",
                (PRUNED, f"its record was pruned by the size policy (at most "
                         f"{max_total_bytes / MB:.4g} MB of records in all, oldest pruned "
                         f"first) on {time.strftime('%Y-%m-%d %H:%M:%S')}", run_id))
            conn.exec_driver_sql(
                f"DELETE FROM {BLOBS_TABLE} WHERE hash NOT IN (SELECT blob FROM "
                f"{RECORD_ITEMS_TABLE} WHERE blob IS NOT NULL)")
            pruned.append(run_id)
            total = int(conn.exec_driver_sql(
                f"SELECT coalesce(sum(size), 0) FROM {BLOBS_TABLE}").fetchone()[0])
    if pruned:
        log.info("record: pruned the records of %d run(s): %s", len(pruned), ", ".join(pruned))
    return pruned


# --- reading ------------------------------------------------------------------------------
@dataclass
class NodeFact:
    status: str
    error: str | None = None
    key: str | None = None
    static: str | None = None
    type: str = ""
    pure: bool = False
    cached: bool = False
    outputs_blob: str | None = None
    inputs_blob: str | None = None


@dataclass
class Record:
    run_id: str
    state: str
    note: str | None
    replay_of: str | None
    settings: dict[str, Any]
    created_at: float
    blobs: dict[str, bytes] = field(default_factory=dict)
    workflow_blob: str | None = None
    inputs_blob: str | None = None
    nodes: dict[tuple[str, str], NodeFact] = field(default_factory=dict)
    order: list[tuple[str, str]] = field(default_factory=list)  # node executions as they ended
    http: list[HttpExchange] = field(default_factory=list)
    values: list[tuple[str, str, tuple[int, ...], float]] = field(default_factory=list)
    approvals: list[tuple[str, tuple[int, ...], dict[str, Any]]] = field(default_factory=list)
    subworkflows: dict[str, str | None] = field(default_factory=dict)  # path -> text's blob

    def blob(self, key: str | None) -> bytes | None:
        return None if key is None else self.blobs.get(key)

    @property
    def workflow_text(self) -> str | None:
        data = self.blob(self.workflow_blob)
        return None if data is None else data.decode("utf-8")

    def subworkflow_text(self, path: str) -> str | None:
        data = self.blob(self.subworkflows.get(path))
        return None if data is None else data.decode("utf-8")

    @property
    def inputs(self) -> dict[str, Any]:
        data = self.blob(self.inputs_blob)
        return {} if data is None else decode(data)

    def outputs(self, node_id: str, iteration: str = "") -> dict[str, Any] | None:
        fact = self.nodes.get((node_id, iteration))
        data = self.blob(fact.outputs_blob) if fact is not None else None
        return None if data is None else decode(data)

    def node_inputs(self, node_id: str, iteration: str = "") -> dict[str, Any] | None:
        fact = self.nodes.get((node_id, iteration))
        data = self.blob(fact.inputs_blob) if fact is not None else None
        return None if data is None else decode(data)


def load_record(store: Any, run_id: str) -> Record | None:
    """The record of run `run_id` with every blob it refers to; None when it has none."""
    with store.transaction() as conn:
        row = conn.exec_driver_sql(
            f"SELECT state, note, replay_of, settings_json, created_at, workflow_blob "
            f"FROM {RECORDS_TABLE} WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        record = Record(run_id, row[0], row[1], row[2], json.loads(row[3] or "{}"), row[4],
                        workflow_blob=row[5])
        items = conn.exec_driver_sql(
            f"SELECT node_id, iteration, kind, seq, meta_json, blob FROM {RECORD_ITEMS_TABLE} "
            "WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        wanted = sorted({r[5] for r in items if r[5] is not None})
        for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
            chunk = wanted[start:start + 500]
            for key, data in conn.exec_driver_sql(
                    f"SELECT hash, data FROM {BLOBS_TABLE} WHERE hash IN "
                    f"({', '.join('?' * len(chunk))})", tuple(chunk)).fetchall():
                record.blobs[key] = bytes(data)
    for node_id, iteration, kind, _seq, meta_json, blob in items:
        meta = json.loads(meta_json or "{}")
        if kind == "node":
            fact = NodeFact(meta.get("status", ""), meta.get("error"), meta.get("key"),
                            meta.get("static"), meta.get("type", ""), bool(meta.get("pure")),
                            bool(meta.get("cached")), outputs_blob=blob)
            old = record.nodes.get((node_id, iteration))
            if old is not None:
                fact.inputs_blob = old.inputs_blob
            record.nodes[(node_id, iteration)] = fact
            record.order.append((node_id, iteration))
        elif kind == "inputs":
            fact = record.nodes.setdefault((node_id, iteration), NodeFact(""))
            fact.inputs_blob = blob
        elif kind == "http":
            record.http.append(HttpExchange(
                node_id, meta["method"], meta["url"], meta["body_sha"], meta["status"],
                [tuple(h) for h in meta["headers"]], record.blob(blob) or b"",
                bool(meta.get("complete")), meta.get("llm"), meta.get("error")))
        elif kind in ("clock", "random"):
            record.values.append((kind, node_id, iteration_path(iteration), meta["value"]))
        elif kind == "approval":
            record.approvals.append((node_id, iteration_path(iteration), meta))
        elif kind == "subworkflow":
            record.subworkflows[meta.get("path", "")] = blob
        elif kind == "workflow":
            record.workflow_blob = blob
        elif kind == "run_inputs":
            record.inputs_blob = blob
    return record


def record_states(store: Any, run_ids: list[str]) -> dict[str, str]:
    """run id -> its record's state, for the runs that have one."""
    if not run_ids:
        return {}
    found: dict[str, str] = {}
    with store.transaction() as conn:
        for start in range(0, len(run_ids), 500):
            chunk = run_ids[start:start + 500]
            for run_id, state in conn.exec_driver_sql(
                    f"SELECT run_id, state FROM {RECORDS_TABLE} WHERE run_id IN "
                    f"({', '.join('?' * len(chunk))})", tuple(chunk)).fetchall():
                found[run_id] = state
    return found
