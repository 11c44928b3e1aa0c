"""Run records in the history database: writing one after its run, reading it back, and the
size policy that keeps them in bounds.

Tables (engine/history/schema.py, schema version 3): `blobs` holds bytes by sha256, once however
many records share them; `records` one row per recorded run (state complete | over_limit |
pruned, and why); `record_items` the facts: per node execution a "node" item (status, key,
its outputs' blob) and an "inputs" item, per effect an "http" (response bytes' blob), "clock",
"random" or "approval" item, per sub-workflow file the run called a "subworkflow" item (its
path, the text's blob), and the run's "workflow" and "run_inputs". Since the record got cheap
(issue 17), node executions are written as "batch" items (write_record says how); records
written before are read as they were.

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

import gc
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
from engine.record.codec import (
    TAGS,
    Canon,
    decode,
    digest,
    dumps_plain,
    encode,
    one_text,
    one_value,
    text,
)
from engine.record.keys import bodies, recorded_keys, static_key, static_keys
from engine.record.tap import MB, HttpExchange, RunTap
from engine.record.wires import Wires

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.executor import Run

log = logging.getLogger(__name__)

COMPLETE, OVER_LIMIT, PRUNED = "complete", "over_limit", "pruned"
RUN_ENV, TOTAL_ENV = "FLOWLOOM_RECORD_MAX_RUN_MB", "FLOWLOOM_RECORD_MAX_TOTAL_MB"


@dataclass(frozen=True)
class Policy:
    """The record's size limits: per run, and for all records together."""

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
BATCH = "batch"  # record_items kind of a batch of executions (see write_record)
BATCH_ENTRIES = 5000  # at most this many executions, or BATCH_CHARS of text, in one batch
BATCH_CHARS = 4 * MB
# a value text longer than this is a blob of its own, as before batches: shared by every record
# that holds it (a large response a foreach fetches again each run is stored once)
INLINE_MAX = 512
_encode_ascii = json.encoder.encode_basestring_ascii
_c_make = json.encoder.c_make_encoder
# json.dumps(meta, sort_keys=True, default=repr)'s C encoder, built once (not once per item)
_c_meta = (_c_make(None, repr, _encode_ascii, None, ": ", ", ", True, False, True)
           if _c_make is not None else None)


def _meta_json(meta: dict[str, Any]) -> str:
    if _c_meta is None:  # pragma: no cover - a Python without the _json accelerator
        return json.dumps(meta, sort_keys=True, default=repr)
    return "".join(_c_meta(meta, 0))


@dataclass(frozen=True)
class Written:
    """How writing a run's record went: complete or over its limit, its size, what was pruned."""

    state: str  # COMPLETE or OVER_LIMIT
    note: str | None  # why it is over its limit
    size_bytes: int
    pruned: list[str]  # runs whose records the size policy pruned to make room


def write_record(store: Any, run: Run, tap: RunTap, *, policy: Policy | None = None,
                 settings: dict[str, Any] | None = None, replay_of: str | None = None,
                 workflow_text: str | None = None) -> Written:
    """Keep `run`'s record (after the run, once its history row is written). `workflow_text`:
    the file the run was loaded from, when the caller has it (else the model is rendered).

    Every node execution goes into "batch" items of up to BATCH_ENTRIES, in the order they
    ended: each blob the canonical JSON list of [node id, iteration, meta or null (a top-level
    execution), outputs text, inputs text] — one row for thousands of facts instead of a row (or
    two) and a blob each. A top-level execution's facts (status, keys: what re-use and a pruned
    record's list of nodes read) sit in its batch item's meta, which pruning keeps: {"entries",
    "nodes": [[node id, status, error, cached, type's place in "types", pure, key, static key's
    place in "statics"], ...], "types", "statics"}, read before its entries; so no top-level
    execution joins a batch after one inside a loop (a foreach runs its body once per item), and
    their order is kept. Before issue 17's fifth pass a top-level execution was a "node" item,
    loaded as before. load_record gives batches back as if each text were a blob of its own. An
    execution with a value longer than INLINE_MAX keeps a "node" item and blobs of its own, as
    every execution did before batches. Each value is encoded once (codec.Canon); a text kept in
    a batch counts against the run's size limit each time it is kept, a blob once per record, as
    it is stored."""
    # it allocates a few objects per execution and frees none until it returns: the cyclic
    # collector's passes over them (a fifth of its time on a 10 000-node chain) wait
    paused = gc.isenabled()
    gc.disable()
    try:
        return _write_record(store, run, tap, policy, settings, replay_of, workflow_text)
    finally:
        if paused:
            gc.enable()


def _write_record(store: Any, run: Run, tap: RunTap, policy: Policy | None,
                  settings: dict[str, Any] | None, replay_of: str | None,
                  workflow_text: str | None) -> Written:
    policy = policy or Policy()
    redact = run.redact
    compiled = run.compiled
    canon = Canon()
    blobs: dict[str, bytes] = {}
    state, note = COMPLETE, tap.over_limit
    used = 0

    def full(what: str) -> None:
        nonlocal note
        if note is None:
            note = f"the record passed its limit of {policy.max_run_bytes / MB:.4g} MB at {what}"

    def put(data: bytes, what: str) -> str | None:
        nonlocal used
        key = digest(data)
        if key in blobs:
            return key
        if used + len(data) > policy.max_run_bytes:
            full(what)
            return None
        used += len(data)
        blobs[key] = data
        return key

    def take(value_text: str, node_id: str) -> str | None:
        """A value text of node `node_id` for a batch, counted against the limit as it is
        stored: inline."""
        nonlocal used
        size = len(value_text) if value_text.isascii() else len(value_text.encode("utf-8"))
        if used + size > policy.max_run_bytes:
            full(f"node {node_id!r}")
            return None
        used += size
        return value_text

    items: list[tuple[Any, ...]] = []
    run_id = run.run_id

    def item(node_id: str, iteration: str, kind: str, seq: int, meta: dict[str, Any],
             blob: str | None) -> None:
        items.append((run_id, node_id, iteration, kind, seq, _meta_json(meta), blob))

    source = dumps(compiled.workflow) if workflow_text is None else workflow_text
    workflow_blob = put(redact(source).encode("utf-8"), "the workflow")
    item("", "", "workflow", 0, {}, workflow_blob)
    item("", "", "run_inputs", 0, {}, put(encode(run.recorded(tap.inputs)), "the run inputs"))

    def outputs_of(node_id: str) -> Any:
        rec = tap.nodes.get((node_id, ()))
        return {} if rec is None else (rec["outputs"] or {})

    # top-level node -> (its one output port, that value's text), for the usual node: the
    # texts of the node's outputs, of the inputs of the node its one wire feeds, and that
    # node's value digest are written from it (codec.one_value; the same texts as Canon's)
    singles: dict[str, tuple[str, str]] = {}
    for (node_id, iteration), rec in tap.nodes.items():
        if not iteration:
            outputs = rec["outputs"]
            single = None if outputs is None else one_value(outputs)
            if single is not None:
                singles[node_id] = single
    loop_bodies = bodies(compiled)
    statics = static_keys(compiled, compiled.plan.nodes, loop_bodies)
    keys = recorded_keys(compiled, outputs_of, tap.inputs, statics, canon.digest, singles)
    wires = Wires(run.compiled, tap.nodes)
    batch: list[list[Any]] = []
    batch_chars = 0
    batch_seq = 0
    looped = False  # the batch holds executions inside loops (their order is kept)
    # the facts of the top-level executions in the batch (see write_record), each naming its
    # type and static key by their place in the batch's lists of them
    tops: list[list[Any]] = []
    types_at: dict[str, int] = {}
    statics_at: dict[str, int] = {}
    # static key -> (its type's place, its place, pure)
    places: dict[str, tuple[int, int, bool]] = {}

    def flush() -> None:
        nonlocal batch, batch_chars, batch_seq, looped, tops, types_at, statics_at, places
        if batch:
            try:  # plain by construction: ids, texts, and metas of str / bool / None
                data = dumps_plain(batch).encode("utf-8")
            except (TypeError, ValueError):  # pragma: no cover - an odd error value, say
                data = text(batch).encode("utf-8")
            key = digest(data)
            blobs[key] = data  # its texts were counted as they were taken
            meta: dict[str, Any] = {"entries": len(batch)}
            if tops:
                meta.update(nodes=tops, types=list(types_at), statics=list(statics_at))
            item("", "", BATCH, batch_seq, meta, key)
            batch, batch_chars, looped = [], 0, False
            tops, types_at, statics_at, places = [], {}, {}, {}
            batch_seq += 1

    metas: dict[tuple[Any, ...], dict[str, Any]] = {}
    nodes = compiled.workflow.nodes
    plan_nodes = compiled.nodes
    recorded = run.recorded
    inputs_of, top_inputs = wires.inputs_of, wires.top_inputs
    max_run = policy.max_run_bytes
    probe: dict[str, Any] = {}
    unmasked = recorded(probe) is probe  # the run read no secret: values are kept as they are
    one_wire = wires.one_wires().get if unmasked else {}.get
    heads: dict[str, str] = {}  # an output or input port name -> one_text's text before a value
    for (node_id, iteration), rec in tap.nodes.items():
        node = nodes.get(node_id)
        if node is None:
            continue
        outputs = rec["outputs"]
        if iteration:
            out_text = None if outputs is None else canon.text(outputs)
            inputs_text = canon.text(recorded(inputs_of(node_id, iteration)))
        else:
            single = singles.get(node_id)
            if single is not None:  # one_text(*single), its head made once a port name
                head = heads.get(single[0])
                if head is None:
                    head = heads[single[0]] = one_text(single[0], "")[:-1]
                out_text = head + single[1] + "}"
            else:
                out_text = None if outputs is None else canon.text(outputs)
            inputs_text = None
            wire = one_wire(node_id)
            if wire is not None:
                given = singles.get(wire.source)
                port = wire.target_port
                if given is not None and given[0] == wire.source_port \
                        and type(port) is str and port not in TAGS:
                    head = heads.get(port)
                    if head is None:
                        head = heads[port] = one_text(port, "")[:-1]
                    inputs_text = head + given[1] + "}"  # one_text(port, given[1])
            if inputs_text is None:
                inputs_text = canon.text(recorded(top_inputs(node_id)))
        inline = len(inputs_text) <= INLINE_MAX
        if not iteration:
            static = statics.get(node_id) or static_key(compiled, node_id, loop_bodies)
            small = out_text is not None and len(out_text) <= INLINE_MAX
            if inline and (small or out_text is None):  # the usual node: all in the batch
                if looped:
                    flush()  # the loop's executions before the loop's own facts: order kept
                # a static key is of one type, version and params, so of one purity (a type's
                # is_pure is decided by its params)
                at = places.get(static)
                if at is None:
                    pn = plan_nodes.get(node_id)
                    kind = node.type
                    at_type = types_at.get(kind)
                    if at_type is None:
                        at_type = types_at[kind] = len(types_at)
                    at = places[static] = (
                        at_type, statics_at.setdefault(static, len(statics_at)),
                        bool(pn is not None and pn.impl.is_pure()))
                at_type, at_static, pure = at
                tops.append([node_id, rec["status"], rec["error"], rec["cached"], at_type,
                             pure, keys.get(node_id), at_static])
                size = len(inputs_text) + (0 if out_text is None else len(out_text))
                if used + size <= max_run and inputs_text.isascii() and (
                        out_text is None or out_text.isascii()):
                    used += size  # both fit: take() of each, written out
                    batch.append([node_id, "", None, out_text, inputs_text])
                else:
                    batch.append([node_id, "", None,
                                  None if out_text is None else take(out_text, node_id),
                                  take(inputs_text, node_id)])
                batch_chars += size
                if len(batch) >= BATCH_ENTRIES or batch_chars >= BATCH_CHARS:
                    flush()
                continue
            # a large value: a "node" item (its outputs' blob) as before batches, after the
            # facts batched so far (their order is kept)
            what = f"node {node_id!r}"
            flush()
            pn = plan_nodes.get(node_id)
            meta = {"status": rec["status"], "error": rec["error"], "cached": rec["cached"],
                    "type": node.type, "pure": bool(pn is not None and pn.impl.is_pure()),
                    "key": keys.get(node_id), "static": static}
            out = (None if out_text is None or small
                   else put(out_text.encode("utf-8"), what))
            item(node_id, "", "node", 0, meta, out)
            if small or inline:
                batch.append([node_id, "", None, take(out_text, node_id) if small else None,
                              take(inputs_text, node_id) if inline else None])
                batch_chars += len(inputs_text) + len(out_text or "")
            if not inline:
                item(node_id, "", "inputs", 0, {}, put(inputs_text.encode("utf-8"), what))
            continue
        shape = (node_id, rec["status"], rec["error"], rec["cached"])
        meta = metas.get(shape)
        if meta is None:
            pn = plan_nodes.get(node_id)
            meta = metas[shape] = {
                "status": rec["status"], "error": rec["error"], "cached": rec["cached"],
                "type": node.type, "pure": bool(pn is not None and pn.impl.is_pure())}
        if inline and (out_text is None or len(out_text) <= INLINE_MAX):
            out = None if out_text is None else take(out_text, node_id)
            batch.append([node_id, iteration_text(iteration), meta, out,
                          take(inputs_text, node_id)])
            looped = True
            batch_chars += len(inputs_text) + len(out_text or "")
            if len(batch) >= BATCH_ENTRIES or batch_chars >= BATCH_CHARS:
                flush()
        else:  # a large value: a blob of its own, shared by every record that has it
            if looped:
                flush()
            what = f"node {node_id!r}"
            at = iteration_text(iteration)
            out = None if out_text is None else put(out_text.encode("utf-8"), what)
            item(node_id, at, "node", 0, meta, out)
            item(node_id, at, "inputs", 0, {}, put(inputs_text.encode("utf-8"), what))
    flush()
    for seq, exchange in enumerate(tap.http):
        body = put(tap.redact_bytes(exchange.body),
                   f"node {exchange.node_id!r}'s {exchange.method} response")
        meta = exchange.meta()
        meta["url"] = redact(meta["url"])
        meta["headers"] = [[k, redact(v)] for k, v in meta["headers"]]
        item(exchange.node_id, "", "http", seq, meta, body)
    for seq, (kind, node_id, iteration, value) in enumerate(tap.values):
        item(node_id, iteration_text(iteration), kind, seq, {"value": value}, None)
    for seq, (node_id, iteration, decision) in enumerate(tap.approvals):
        item(node_id, iteration_text(iteration), "approval", seq, decision, None)
    for seq, (path, (node_id, child)) in enumerate(sorted(tap.workflows.items())):
        blob = put(redact(child).encode("utf-8"), f"node {node_id!r}'s sub-workflow")
        item(node_id, "", "subworkflow", seq, {"path": path}, blob)
    if note is not None:
        state = OVER_LIMIT
    now = time.time()
    with store.transaction() as conn:
        big = len(items) + len(blobs) > 2000
        if big:  # the default 2 MB page cache thrashes on the blob and item indexes
            cache = conn.exec_driver_sql("PRAGMA cache_size").fetchone()[0]
            conn.exec_driver_sql("PRAGMA cache_size=-65536")
        if blobs:  # in hash order: the primary key's b-tree filled in order
            conn.exec_driver_sql(
                f"INSERT OR IGNORE INTO {BLOBS_TABLE} (hash, size, data) VALUES (?, ?, ?)",
                [(key, len(blobs[key]), blobs[key]) for key in sorted(blobs)])
        conn.exec_driver_sql(
            f"INSERT OR REPLACE INTO {RECORDS_TABLE} (run_id, workflow_blob, settings_json, "
            "size_bytes, state, note, replay_of, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, workflow_blob, json.dumps(settings or {}, default=repr), used, state,
             note, replay_of, now))
        conn.exec_driver_sql(
            f"INSERT INTO {RECORD_ITEMS_TABLE} (run_id, node_id, iteration, kind, seq, "
            "meta_json, blob) VALUES (?, ?, ?, ?, ?, ?, ?)", items)
        if big:
            conn.exec_driver_sql(f"PRAGMA cache_size={int(cache)}")
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
            # keep which nodes ran (so a replay can name the first one it lacks: the "node"
            # items, and the batches, whose metas hold the top-level facts), drop the rest
            conn.exec_driver_sql(f"DELETE FROM {RECORD_ITEMS_TABLE} WHERE run_id = ? "
                                 f"AND kind NOT IN ('node', '{BATCH}')", (run_id,))
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
    """What a record keeps of a top-level node execution: status, error, keys, purity."""

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
    """A run's record as read back: settings, node facts, values and effects."""

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
        elif kind == BATCH:
            if "nodes" in meta:
                _top_facts(record, meta)
            _unbatch(record, record.blob(blob))
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


def _top_facts(record: Record, meta: dict[str, Any]) -> None:
    """A batch item's top-level executions (its meta's "nodes": [node id, status, error,
    cached, type's place in "types", pure, key, static key's place in "statics"]) into
    `record`, as their "node" items would have given them."""
    kinds, statics = meta.get("types") or [], meta.get("statics") or []
    nodes, order = record.nodes, record.order
    for node_id, status, error, cached, at_type, pure, key, at_static in meta["nodes"]:
        at = (node_id, "")
        fact = NodeFact(status, error, key, statics[at_static], kinds[at_type], bool(pure),
                        bool(cached))
        old = nodes.get(at)
        if old is not None:
            fact.inputs_blob = old.inputs_blob
        nodes[at] = fact
        order.append(at)


def _unbatch(record: Record, data: bytes | None) -> None:
    """A batch item's executions into `record`, each value text as a blob of its own (the
    bytes an item of its own would have had)."""
    if data is None:
        return
    blobs = record.blobs

    def blob(value_text: str | None) -> str | None:
        if value_text is None:
            return None
        raw = value_text.encode("utf-8")
        key = digest(raw)
        blobs.setdefault(key, raw)
        return key

    for node_id, iteration, meta, outputs, inputs in json.loads(data.decode("utf-8")):
        key = (node_id, iteration)
        if meta is None:  # a top-level execution's values; its "node" item came first
            fact = record.nodes.setdefault(key, NodeFact(""))
            if outputs is not None:
                fact.outputs_blob = blob(outputs)
            if inputs is not None:
                fact.inputs_blob = blob(inputs)
            continue
        record.nodes[key] = NodeFact(meta.get("status", ""), meta.get("error"), None, None,
                                     meta.get("type", ""), bool(meta.get("pure")),
                                     bool(meta.get("cached")), outputs_blob=blob(outputs),
                                     inputs_blob=blob(inputs))
        record.order.append(key)


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
