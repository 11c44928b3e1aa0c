"""The run-history tables (sqlmodel): runs, node-run packs, logs, alerts, records, schema version.

Times are wall-clock seconds since the epoch (REAL), converted from the engine's monotonic event
times by the recorder. A node run is one execution of one node in one loop iteration; its
`iteration` is the dotted iteration path ("" outside loops, "2" or "2.0" inside them). Node runs
and output previews are stored packed, as JSON text per recorder flush (NodeRunPackRow; the
format and its readers: engine/history/packs.py).
The tables live in their own SQLAlchemy registry, so nothing else sharing SQLModel's default
metadata can collide with them (or get created in the history database).

SCHEMA_VERSION is bumped with a migration in store.MIGRATIONS whenever a table changes.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from engine.history.names import (  # noqa: F401 - re-exported: the schema's plain names
    BLOBS_TABLE,
    INTERRUPTED,
    LOGS_TABLE,
    NODE_RUN_PACKS_TABLE,
    RECORD_ITEMS_TABLE,
    RECORDS_TABLE,
    RETRYING,
    RUNNING,
    RUNS_TABLE,
    SCHEMA_VERSION,
    SCHEMA_VERSION_TABLE,
    iteration_path,
    iteration_text,
)


class HistoryTable(SQLModel, registry=registry()):
    """Base of the history tables: its own metadata, apart from SQLModel's default one."""


class SchemaVersion(HistoryTable, table=True):
    __tablename__ = SCHEMA_VERSION_TABLE

    version: int = Field(primary_key=True)
    applied_at: float


class RunRow(HistoryTable, table=True):
    __tablename__ = RUNS_TABLE
    __table_args__ = (Index("ix_runs_workflow_started", "workflow_path", "started_at"),
                      Index("ix_runs_status", "status"))

    id: str = Field(primary_key=True)  # the engine's run id
    workflow_path: str = ""  # absolute path of the file; "" for an unsaved workflow
    workflow_name: str = ""
    content_hash: str = ""  # sha256 of the workflow's canonical text
    inputs_json: str = "{}"
    outputs_preview: str | None = None
    status: str = RUNNING
    started_at: float
    ended_at: float | None = None
    duration_s: float | None = None
    error: str | None = None
    node_count: int = 0
    pid: int = 0  # the recording process, to tell a crashed run from a live one
    pid_started_at: float = 0.0  # that process's start time (pids get reused)
    host: str = ""
    heartbeat_at: float = 0.0  # last write by the recorder


def _run_fk(index: bool = True) -> Column:
    return Column(String, ForeignKey(f"{RUNS_TABLE}.id", ondelete="CASCADE"), nullable=False,
                  index=index)


class NodeRunPackRow(HistoryTable, table=True):
    """A run's node runs and output previews written by one flush (JSON arrays; packs.py)."""

    __tablename__ = NODE_RUN_PACKS_TABLE

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(sa_column=_run_fk())
    nodes: str | None = None  # [[node_id, iteration, status, attempts, ...], ...]
    times: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # 3 doubles each
    outputs: str | None = None  # [[node_id, iteration, preview, truncated], ...]


class LogRow(HistoryTable, table=True):
    __tablename__ = LOGS_TABLE

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(sa_column=_run_fk())
    node_id: str
    iteration: str = ""
    level: str
    message: str
    at: float


class AlertRow(HistoryTable, table=True):
    """An alert that fired during or after a run (engine/alerts.py)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_workflow_at", "workflow_path", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(sa_column=_run_fk())
    workflow_path: str = ""
    metric: str
    node_id: str | None = None
    value: float
    over: float
    window: int | None = None
    message: str
    at: float


class BlobRow(HistoryTable, table=True):
    """Bytes a run record refers to, stored once however many runs share them (sha256)."""

    __tablename__ = BLOBS_TABLE

    hash: str = Field(primary_key=True)
    size: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class RecordRow(HistoryTable, table=True):
    """A run's record (engine/record/): what replay and re-use need beyond the run row.

    `state`: complete | over_limit (the run passed its size limit; what was recorded is kept,
    but it cannot be replayed) | pruned (the size policy deleted its items)."""

    __tablename__ = RECORDS_TABLE
    __table_args__ = (Index("ix_records_created", "created_at"),)

    run_id: str = Field(sa_column=Column(String, ForeignKey(f"{RUNS_TABLE}.id",
                                                            ondelete="CASCADE"),
                                         primary_key=True))
    workflow_blob: str | None = None
    settings_json: str = "{}"
    size_bytes: int = 0
    state: str = "complete"
    note: str | None = None
    replay_of: str | None = None
    created_at: float


class RecordItemRow(HistoryTable, table=True):
    """One fact of a record: a node execution's inputs, outputs or status, or an effect it saw
    (http, clock, random, approval), `seq` ordering the effects of one node."""

    __tablename__ = RECORD_ITEMS_TABLE
    __table_args__ = (Index("ix_record_items_run", "run_id"),
                      Index("ix_record_items_blob", "blob"))

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(sa_column=Column(String, ForeignKey(f"{RECORDS_TABLE}.run_id",
                                                            ondelete="CASCADE"),
                                         nullable=False))
    node_id: str
    iteration: str = ""
    kind: str
    seq: int = 0
    meta_json: str = "{}"
    blob: str | None = None


TABLES = (SchemaVersion.__table__, RunRow.__table__, NodeRunPackRow.__table__, LogRow.__table__,
          AlertRow.__table__, BlobRow.__table__, RecordRow.__table__,
          RecordItemRow.__table__)
metadata = HistoryTable.metadata
