"""Recording a run into the history database without slowing the run down.

`HistoryRecorder.attach(run)` subscribes to the run's event batches. On the loop thread it only
folds events into memory (node-run records keyed by node id and iteration, pending log lines and
outputs) under a lock; a writer thread owned by the recorder wakes every `flush_interval_s`, or
sooner when `flush_events` events are waiting or the run starts or ends, and writes everything
pending in ONE transaction: the run row (inserted as `running` on the first write), one pack of
the node runs changed since the last write and the new output previews (engine/history/packs.py:
one row, not one per node), new logs, and a heartbeat. Serialising outputs into capped
previews happens on the writer thread too. So the event loop never waits on the disk, and a run
costs a handful of commits, not one per event.

Times: events carry monotonic `t`; wall time = RunStarted.wall_time - RunStarted.t + t.
Secrets: logs and errors arrive already redacted by the engine; output previews are passed
through `run.redact` as well before they are stored.

Call `close()` (or `await aclose()`) after the run to wait for the final write.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine import events as ev
from engine.fileformat import dumps
from engine.history.names import (
    INTERRUPTED,
    LOGS_TABLE,
    RETRYING,
    RUNNING,
    RUNS_TABLE,
    iteration_text,
)
from engine.history.packs import INSERT_PACK, pack
from engine.history.preview import PREVIEW_CHARS, REDACT_MARGIN, preview

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.executor import Run
    from engine.history.lite import LiteStore
    from engine.history.store import HistoryStore
    from engine.model import Workflow

log = logging.getLogger(__name__)

LOG_CHARS = 4096
INPUTS_CHARS = 65536
HEARTBEAT_S = 30.0  # how often an idle run (a long wait) still touches its row
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TERMINAL = ("succeeded", "failed", "skipped", "cancelled")


# Plain SQL over the driver (no SQLAlchemy constructs): the same statements run through a
# HistoryStore's SQLAlchemy connection and a LiteStore's sqlite3 one, and SQLAlchemy's
# per-row parameter handling cost more than SQLite itself here.
def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return (f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' * len(columns))})")


_INSERT_LOG = _insert_sql(LOGS_TABLE, ("run_id", "node_id", "iteration", "level", "message",
                                       "at"))


def content_hash(text: str) -> str:
    """sha256 (hex) of a workflow's canonical text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def workflow_hash(workflow: Workflow) -> str:
    """The content hash of a workflow model (of its canonical file text)."""
    return content_hash(dumps(workflow))


# json.dumps(value, ensure_ascii=False, default=repr) as preview() calls it, for the flat
# values _output_preview writes (no container inside, so no cycle to check for): json's C
# encoder built once; JSONEncoder.encode builds one per call, which cost more than encoding
_c_make = json.encoder.c_make_encoder
_c_preview = (_c_make(None, repr, json.encoder.encode_basestring, None, ": ", ", ", False,
                      False, True) if _c_make is not None else None)


_encode_str = json.encoder.encode_basestring  # json.dumps's, with ensure_ascii=False


def _encode_preview(value: dict[str, Any]) -> str:
    if _c_preview is None:  # pragma: no cover - a Python without the _json accelerator
        return json.dumps(value, ensure_ascii=False, default=repr)
    return "".join(_c_preview(value, 0))

_FLAT_SCALARS = (float, bool, type(None))


def _output_preview(value: Any, redact: Any) -> tuple[str, bool]:
    """preview(value, PREVIEW_CHARS, redact), the same text, for the usual node output — a
    few plain scalars by name, which preview's shrinking would copy unchanged — without the
    walk and with one encoder (a run of 10 000 nodes previews 10 000 outputs); one int by
    name, the commonest, written out. `redact` None: the run has no secret to mask."""
    if type(value) is not dict or len(value) > 16:
        return preview(value, PREVIEW_CHARS, redact)
    text = None
    if len(value) == 1:
        for key, item in value.items():
            if type(key) is str and type(item) is int and item.bit_length() < 14_000:
                text = "{" + _encode_str(key) + ": " + int.__repr__(item) + "}"
    if text is None:
        for key, item in value.items():
            kind = type(item)
            if type(key) is not str or not (
                    kind is int and item.bit_length() < 14_000 or kind in _FLAT_SCALARS
                    or kind is str and len(item) <= PREVIEW_CHARS + REDACT_MARGIN):
                return preview(value, PREVIEW_CHARS, redact)
        text = _encode_preview(value)
    if not text.isascii():  # as preview(): a lone surrogate kept as \udXXX
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if redact is not None:
        text = redact(text)
    if len(text) > PREVIEW_CHARS:
        return text[:PREVIEW_CHARS], True
    return text, False


class _NodeRec:
    __slots__ = ("status", "attempts", "retries", "started_at", "ended_at", "duration_s",
                 "error", "reason")

    def __init__(self) -> None:
        self.status = RUNNING
        self.attempts = 0
        self.retries = 0
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.duration_s: float | None = None
        self.error: str | None = None
        self.reason: str | None = None

    def row(self) -> tuple[Any, ...]:
        return (self.status, self.attempts, self.retries, self.started_at, self.ended_at,
                self.duration_s, self.error, self.reason)


class HistoryRecorder:
    """Records one run. `attach(run)` before `run.execute()`, `close()` after it."""

    def __init__(self, store: HistoryStore | LiteStore,
                 workflow_path: str | os.PathLike[str] | None,
                 workflow_text_or_hash: str = "", *, workflow_name: str = "",
                 flush_interval_s: float = 0.5, flush_events: int = 500,
                 own_store: bool = False) -> None:
        self.store = store
        self.own_store = own_store  # close() closes the store too
        self.workflow_path = str(Path(workflow_path).resolve()) if workflow_path else ""
        text = workflow_text_or_hash or ""
        self.content_hash = text if _SHA256.match(text) else (content_hash(text) if text else "")
        self.workflow_name = workflow_name
        self.flush_interval_s = flush_interval_s
        self.flush_events = flush_events
        self.run_id: str | None = None
        self.failed_writes = 0
        self._run: Run | None = None
        self._unsubscribe: Any = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._wake = False
        self._closing = False
        self._finished = False
        self._wall0 = 0.0
        # pending state, guarded by _cond
        self._nodes: dict[tuple[str, str], _NodeRec] = {}
        self._dirty: dict[tuple[str, str], None] = {}  # changed since the last write, in order
        self._logs: list[tuple[Any, ...]] = []
        self._outputs: list[tuple[str, str, Any]] = []
        self._run_row: dict[str, Any] | None = None
        self._run_end: dict[str, Any] | None = None
        self._run_outputs: Any = None
        self._waiting = 0
        self._inserted = False
        self._last_write = 0.0
        self._handlers = {
            ev.RunStarted: self._run_started, ev.NodeStarted: self._node_started,
            ev.NodeRetrying: self._node_retrying, ev.NodeFinished: self._node_finished,
            ev.NodeFailed: self._node_failed, ev.NodeSkipped: self._node_skipped,
            ev.NodeCancelled: self._node_cancelled, ev.NodeLogged: self._node_logged,
            ev.RunFinished: self._run_finished,
        }

    # --- wiring ---------------------------------------------------------------------------
    def attach(self, run: Run) -> HistoryRecorder:
        if self._run is not None:
            raise RuntimeError("a HistoryRecorder records one run; make another for the next")
        self._run = run
        self.run_id = run.run_id
        if not self.workflow_name:
            self.workflow_name = run.compiled.workflow.name
        if not self.content_hash:
            self.content_hash = workflow_hash(run.compiled.workflow)
        self._unsubscribe = run.subscribe(self._on_batch, batched=True)
        self._thread = threading.Thread(target=self._writer, name=f"history-{run.run_id}",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float | None = 30.0) -> None:
        """Write what is pending and stop the writer (waits at most `timeout` seconds).

        A run that started but never reported its end (the process is stopping, or the run
        died on an error the engine did not expect) is closed as `interrupted`, so its row
        never stays `running`."""
        with self._cond:
            if self._run_row is not None and not self._finished:
                now = time.time()
                self._run_end = {"status": INTERRUPTED, "ended_at": now,
                                 "duration_s": now - self._run_row["started_at"],
                                 "error": "the run stopped before it reported how it ended"}
                self._finished = True
            self._closing = True
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("history: the writer of run %s did not finish in %s s",
                            self.run_id, timeout)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.own_store and not (self._thread is not None and self._thread.is_alive()):
            self.store.close()

    async def aclose(self, timeout: float | None = 30.0) -> None:
        await asyncio.to_thread(self.close, timeout)

    # --- the loop thread: fold events into memory -----------------------------------------
    def _on_batch(self, batch: list[Any]) -> None:
        handlers = self._handlers
        started, finished = ev.NodeStarted, ev.NodeFinished
        with self._cond:
            nodes, dirty, outputs = self._nodes, self._dirty, self._outputs
            for event in batch:
                kind = type(event)
                # a top-level node's start and end, most of a run's events: _node_started and
                # _node_finished written out (tests/history/test_recorder_fold.py compares)
                if kind is finished and not event.iteration:
                    key = (event.node_id, "")
                    rec = nodes.get(key)
                    if rec is None:
                        rec = nodes[key] = _NodeRec()
                    dirty[key] = None
                    rec.status = "succeeded"
                    rec.ended_at = ended = self._wall0 + event.t
                    duration = event.duration_s
                    if duration is not None:
                        if rec.started_at is None:
                            rec.started_at = ended - duration
                        rec.duration_s = duration
                    elif rec.started_at is not None:
                        rec.duration_s = ended - rec.started_at
                    if rec.attempts < 1:
                        rec.attempts = 1
                    rec.error = None
                    if event.outputs:
                        outputs.append((event.node_id, "", event.outputs))
                elif kind is started and not event.iteration:
                    key = (event.node_id, "")
                    rec = nodes.get(key)
                    if rec is None:
                        rec = nodes[key] = _NodeRec()
                    dirty[key] = None
                    if rec.started_at is None:
                        rec.started_at = self._wall0 + event.t
                    rec.status = RUNNING
                    if event.attempt > rec.attempts:
                        rec.attempts = event.attempt
                else:
                    handler = handlers.get(kind)
                    if handler is not None:
                        handler(event)
            self._waiting += len(batch)
            if self._waiting >= self.flush_events or self._wake:
                self._wake = True
                self._cond.notify()

    def _rec(self, node_id: str, iteration: tuple[int, ...]) -> _NodeRec:
        key = (node_id, iteration_text(iteration) if iteration else "")
        rec = self._nodes.get(key)
        if rec is None:
            rec = self._nodes[key] = _NodeRec()
        self._dirty[key] = None
        return rec

    def _end(self, rec: _NodeRec, status: str, t: float, duration_s: float | None) -> None:
        rec.status = status
        rec.ended_at = self._wall0 + t
        if rec.started_at is None and duration_s is not None:
            rec.started_at = rec.ended_at - duration_s
        if duration_s is not None:  # running time: the cap's queue and retry waits are apart
            rec.duration_s = duration_s
        elif rec.started_at is not None:
            rec.duration_s = rec.ended_at - rec.started_at

    def _run_started(self, e: ev.RunStarted) -> None:
        self._wall0 = e.wall_time - e.t
        # pid, pid_started_at and host are added on the writer thread (psutil's look-up
        # stays off the loop)
        self._run_row = {
            "id": e.run_id, "workflow_path": self.workflow_path,
            "workflow_name": self.workflow_name or e.workflow, "content_hash": self.content_hash,
            "inputs_json": e.inputs, "status": RUNNING, "started_at": e.wall_time,
            "node_count": e.node_count, "heartbeat_at": e.wall_time,
        }
        self._wake = True

    def _node_started(self, e: ev.NodeStarted) -> None:
        rec = self._rec(e.node_id, e.iteration)
        if rec.started_at is None:
            rec.started_at = self._wall0 + e.t
        rec.status = RUNNING
        rec.attempts = max(rec.attempts, e.attempt)

    def _node_retrying(self, e: ev.NodeRetrying) -> None:
        rec = self._rec(e.node_id, e.iteration)
        rec.status = RETRYING
        rec.retries += 1
        rec.error = e.error
        self._log(e.node_id, e.iteration, "warning",
                  f"attempt {e.attempt} failed: {e.error}; retrying in {e.delay_s:.2f} s", e.t)

    def _node_finished(self, e: ev.NodeFinished) -> None:
        rec = self._rec(e.node_id, e.iteration)
        self._end(rec, "succeeded", e.t, e.duration_s)
        if rec.attempts < 1:
            rec.attempts = 1
        rec.error = None
        if e.outputs:
            self._outputs.append((e.node_id, iteration_text(e.iteration) if e.iteration
                                  else "", e.outputs))

    def _node_failed(self, e: ev.NodeFailed) -> None:
        rec = self._rec(e.node_id, e.iteration)
        self._end(rec, "failed", e.t, e.duration_s)
        rec.attempts = max(rec.attempts, e.attempts)
        rec.error = e.error

    def _node_skipped(self, e: ev.NodeSkipped) -> None:
        rec = self._rec(e.node_id, e.iteration)
        if rec.status in _TERMINAL and rec.status != "skipped":
            return  # it ran in this scope; a later skip notice does not undo that
        rec.status = "skipped"
        rec.reason = e.reason
        rec.ended_at = self._wall0 + e.t

    def _node_cancelled(self, e: ev.NodeCancelled) -> None:
        rec = self._rec(e.node_id, e.iteration)
        self._end(rec, "cancelled", e.t, None)

    def _node_logged(self, e: ev.NodeLogged) -> None:
        self._log(e.node_id, e.iteration, e.level, e.message, e.t)

    def _log(self, node_id: str, iteration: tuple[int, ...], level: str, message: str,
             t: float) -> None:
        self._logs.append((self.run_id, node_id, iteration_text(iteration), level,
                           message[:LOG_CHARS], self._wall0 + t))

    def _run_finished(self, e: ev.RunFinished) -> None:
        self._run_end = {"status": e.status, "ended_at": self._wall0 + e.t,
                         "duration_s": e.duration_s, "error": e.error}
        self._run_outputs = e.outputs
        self._finished = True
        self._wake = True

    # --- the writer thread ----------------------------------------------------------------
    def _writer(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._wake or self._closing,
                                    timeout=self.flush_interval_s)
                self._wake = False
                self._waiting = 0
                batch = self._take()
                done = self._finished or self._closing
            if batch is not None:
                self._write(batch)
            if done:
                with self._cond:
                    if self._nothing_pending():
                        return

    def _nothing_pending(self) -> bool:
        return not (self._dirty or self._logs or self._outputs or self._run_end
                    or (self._run_row and not self._inserted))

    def _take(self) -> dict[str, Any] | None:
        """Everything pending, as rows (called under the lock)."""
        if self._run_row is None:
            return None  # the run has not started: nothing to write yet
        now = time.time()
        if self._nothing_pending() and now - self._last_write < HEARTBEAT_S:
            return None
        self._last_write = now
        nodes = [(*key, *self._nodes[key].row()) for key in self._dirty]
        batch = {"insert": None if self._inserted else dict(self._run_row), "nodes": nodes,
                 "logs": self._logs, "outputs": self._outputs, "end": self._run_end,
                 "run_outputs": self._run_outputs}
        self._dirty = {}
        self._logs, self._outputs = [], []
        self._run_end = self._run_outputs = None
        self._inserted = True
        return batch

    def _write(self, batch: dict[str, Any]) -> None:
        # masked with the secrets the run has read by now, as before; when it has read none,
        # redacting would hand every preview back as it is (so does run.recorded a value)
        probe: dict[str, Any] = {}
        masks = self._run is None or self._run.recorded(probe) is not probe
        redact = self._redact
        try:
            insert_row = batch["insert"]
            if insert_row is not None:
                text, cut = preview(insert_row["inputs_json"], INPUTS_CHARS, redact)
                insert_row["inputs_json"] = text if not cut else json.dumps({"truncated": text})
                store = self.store
                insert_row.update(pid=store.pid, pid_started_at=store.pid_started_at,
                                  host=store.host)
            output_redact = redact if masks else None
            outputs = [(node_id, iteration, *_output_preview(value, output_redact))
                       for node_id, iteration, value in batch["outputs"]]
            packed = pack(self.run_id, batch["nodes"], outputs)
            values: dict[str, Any] = {"heartbeat_at": time.time()}
            if batch["end"] is not None:
                values.update(batch["end"])
                values["outputs_preview"] = preview(batch["run_outputs"], PREVIEW_CHARS,
                                                    redact)[0]
            with self.store.transaction() as conn:
                if insert_row is not None:
                    conn.exec_driver_sql(_insert_sql(RUNS_TABLE, tuple(insert_row)),
                                         tuple(insert_row.values()))
                if batch["nodes"] or outputs:
                    conn.exec_driver_sql(INSERT_PACK, packed)
                if batch["logs"]:
                    conn.exec_driver_sql(_INSERT_LOG, batch["logs"])
                conn.exec_driver_sql(
                    f"UPDATE {RUNS_TABLE} SET {', '.join(f'{c} = ?' for c in values)} "
                    "WHERE id = ?", (*values.values(), self.run_id))
        except Exception:
            self.failed_writes += 1
            log.exception("history: could not record run %s in %s", self.run_id,
                          self.store.path)
            if batch["end"] is not None and self.failed_writes > 3:
                self._write_end_only(batch)
            self._put_back(batch)

    def _write_end_only(self, batch: dict[str, Any]) -> None:
        """Giving up on a run's details: still close its row, so it never stays `running`."""
        end = {k: (v.encode("utf-8", "backslashreplace").decode("utf-8")
                   if isinstance(v, str) else v) for k, v in batch["end"].items()}
        try:
            with self.store.transaction() as conn:
                if batch["insert"] is not None:
                    row = dict(batch["insert"], inputs_json="{}")
                    conn.exec_driver_sql(_insert_sql(RUNS_TABLE, tuple(row)), tuple(row.values()))
                conn.exec_driver_sql(
                    f"UPDATE {RUNS_TABLE} SET {', '.join(f'{c} = ?' for c in end)} "
                    "WHERE id = ?", (*end.values(), self.run_id))
        except Exception:
            log.exception("history: could not close run %s", self.run_id)

    def _put_back(self, batch: dict[str, Any]) -> None:
        """Keep a failed batch for the next write (a locked database is usually temporary)."""
        if self.failed_writes > 3:
            return  # give up on this run rather than retrying forever
        with self._cond:
            if batch["insert"] is not None:
                self._inserted = False
            self._dirty.update(dict.fromkeys((row[0], row[1]) for row in batch["nodes"]))
            self._logs[:0] = batch["logs"]
            self._outputs[:0] = batch["outputs"]
            if batch["end"] is not None and self._run_end is None:
                self._run_end, self._run_outputs = batch["end"], batch["run_outputs"]

    def _redact(self, text: str) -> str:
        run = self._run
        if run is None:
            return text
        for _ in range(3):  # the run may learn a new secret while we iterate its set
            try:
                return run.redact(text)
            except RuntimeError:
                continue
        return text
