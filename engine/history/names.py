"""The history schema's plain names, importable without SQLAlchemy: its version, the statuses
it adds to the engine's, the table names, and how a loop iteration path is written.

engine/history/schema.py (the tables themselves) re-exports every name here; the stdlib writer
of `flowloom run` (engine/history/lite.py, recorder.py) uses them without importing sqlmodel.
"""

from __future__ import annotations

SCHEMA_VERSION = 4  # 2: the alerts table; 3: run records (blobs, records, record_items);
# 4: node runs and output previews packed (node_run_packs; engine/history/packs.py)

# Statuses a run or a node run can have in the history, beyond the engine's own.
RUNNING = "running"
RETRYING = "retrying"
INTERRUPTED = "interrupted"  # the process that recorded it went away mid-run

# Table names (schema.py's __tablename__s; tests/history checks they agree).
SCHEMA_VERSION_TABLE = "schema_version"
RUNS_TABLE = "runs"
NODE_RUN_PACKS_TABLE = "node_run_packs"  # node runs and output previews, JSON per flush
LOGS_TABLE = "logs"
BLOBS_TABLE = "blobs"  # content-addressed bytes of run records (engine/record/)
RECORDS_TABLE = "records"  # one per recorded run: its workflow text, settings, size, state
RECORD_ITEMS_TABLE = "record_items"  # per node execution: inputs, outputs, effects


def iteration_text(path: tuple[int, ...]) -> str:
    """(2, 0) -> "2.0"; () -> ""."""
    return ".".join(map(str, path))


def iteration_path(text: str) -> tuple[int, ...]:
    """"2.0" -> (2, 0); "" -> ()."""
    return tuple(int(part) for part in text.split(".")) if text else ()
