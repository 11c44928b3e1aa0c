"""Opening the run-history database: where it lives, pragmas, schema version, crash recovery.

`HistoryStore.open(path)` creates or migrates the database and then marks as `interrupted` every
run still `running` whose recording process is gone (a crash or a kill mid-run), together with
its unfinished node runs (one pack appended with them `interrupted`: engine/history/packs.py).
Every write goes through `store.transaction()`, one transaction per batch, so a reader never
sees half a batch and a crash never leaves rows that break readers.

Pragmas on every connection: WAL (readers never block the writer), synchronous=NORMAL (safe
with WAL, one fsync per checkpoint instead of per commit), foreign keys on, a busy timeout so two
processes recording at once wait for each other instead of failing.

The database and its -wal/-shm files are readable by the user only (0600; a folder created for
it 0700), set explicitly before SQLite first opens the file (engine/private.py).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, select, update
from sqlalchemy.exc import OperationalError

from engine.history import packs
from engine.history.lite import (  # noqa: F401 - re-exported: where the database lives
    BUSY_TIMEOUT_MS,
    ENV_VAR,
    INTERRUPTED_ERROR,
    HistoryError,
    dead_runs,
    default_path,
    process_alive,
    process_identity,
    resolve_path,
    set_pragmas,
)
from engine.history.schema import (
    INTERRUPTED,
    RUNNING,
    SCHEMA_VERSION,
    AlertRow,
    BlobRow,
    NodeRunPackRow,
    RecordItemRow,
    RecordRow,
    RunRow,
    SchemaVersion,
    metadata,
)
from engine.private import private_sqlite

log = logging.getLogger(__name__)

# version n -> function upgrading a version-n database to version n+1 (inside one transaction).
MIGRATIONS: dict[int, Callable[[Connection], None]] = {}


def _add_alerts_table(conn: Connection) -> None:
    """1 -> 2: the alerts table (and its index); no existing table changes."""
    AlertRow.__table__.create(conn, checkfirst=True)


def _add_record_tables(conn: Connection) -> None:
    """2 -> 3: the run-record tables (blobs, records, record_items); runs recorded before
    have no record, so they say they cannot be replayed."""
    for table in (BlobRow.__table__, RecordRow.__table__, RecordItemRow.__table__):
        table.create(conn, checkfirst=True)


def _pack_node_runs(conn: Connection) -> None:
    """3 -> 4: node runs and output previews packed (node_run_packs); the node_runs and
    outputs rows move into packs and both tables go (engine/history/packs.py)."""
    NodeRunPackRow.__table__.create(conn, checkfirst=True)
    packs.pack_rows(conn)


MIGRATIONS[1] = _add_alerts_table
MIGRATIONS[2] = _add_record_tables
MIGRATIONS[3] = _pack_node_runs


class HistoryStore:
    """One open history database. Safe to share between threads (one connection per use)."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine
        self.host = socket.gethostname()
        self.pid, self.pid_started_at = process_identity()

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *,
             stale_after_s: float = 600.0) -> HistoryStore:
        """Open (creating or migrating) the database at `path` (see resolve_path)."""
        target = resolve_path(path)
        try:  # readable by the user only: the file, its -wal/-shm, a folder made for it
            private_sqlite(target, own_folder=not path and ENV_VAR not in os.environ)
        except OSError as exc:
            raise HistoryError(f"cannot create the folder of the history database "
                               f"{target}: {exc}") from exc
        engine = create_engine(f"sqlite:///{target}",
                               connect_args={"check_same_thread": False,
                                             "timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", set_pragmas)
        store = cls(target, engine)
        try:
            try:
                store._migrate()
            except OperationalError:
                # Another process created the tables between our check and our CREATE; once
                # more sees them.
                store._migrate()
            store.recover_interrupted(stale_after_s=stale_after_s)
        except HistoryError:
            engine.dispose()
            raise
        except Exception as exc:
            engine.dispose()
            raise HistoryError(f"cannot open the history database {target}: {exc}") from exc
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    # --- schema ---------------------------------------------------------------------------
    def schema_version(self) -> int | None:
        with self.reading() as conn:
            if not self.engine.dialect.has_table(conn, SchemaVersion.__tablename__):
                return None
            return conn.execute(select(SchemaVersion.version)
                                .order_by(SchemaVersion.version.desc())).scalar()

    def _migrate(self) -> None:
        with self.transaction() as conn:
            has_version = self.engine.dialect.has_table(conn, SchemaVersion.__tablename__)
            version = (conn.execute(select(SchemaVersion.version)
                                    .order_by(SchemaVersion.version.desc())).scalar()
                       if has_version else None)
            if version is None:
                metadata.create_all(conn)
                conn.execute(SchemaVersion.__table__.insert(),
                             {"version": SCHEMA_VERSION, "applied_at": time.time()})
                return
            if version > SCHEMA_VERSION:
                raise HistoryError(
                    f"the history database {self.path} has schema version {version}, newer "
                    f"than this Flowloom understands ({SCHEMA_VERSION}); upgrade Flowloom or "
                    f"point --history-db at another file")
            while version < SCHEMA_VERSION:
                step = MIGRATIONS.get(version)
                if step is None:
                    raise HistoryError(f"the history database {self.path} has schema version "
                                       f"{version} and no migration from it exists")
                step(conn)
                version += 1
                conn.execute(SchemaVersion.__table__.insert(),
                             {"version": version, "applied_at": time.time()})

    # --- crash recovery -------------------------------------------------------------------
    def recover_interrupted(self, *, stale_after_s: float = 600.0) -> list[str]:
        """Mark `running` runs whose process is gone as interrupted; return their ids.

        A run recorded on this host is gone when its process (pid + start time) no longer
        exists. A run from another host (a shared folder) is gone when its heartbeat is older
        than `stale_after_s`.
        """
        now = time.time()
        with self.reading() as conn:
            rows = conn.execute(select(RunRow.id, RunRow.pid, RunRow.pid_started_at,
                                       RunRow.host, RunRow.heartbeat_at, RunRow.started_at)
                                .where(RunRow.status == RUNNING)).all()
        dead = dead_runs(rows, self.host, now, stale_after_s)
        if dead:
            self.mark_interrupted(dead, now)
            log.info("history: marked %d run(s) interrupted: %s", len(dead), ", ".join(dead))
        return dead

    def mark_interrupted(self, run_ids: list[str], at: float | None = None) -> None:
        at = time.time() if at is None else at
        with self.transaction() as conn:
            for run_id in run_ids:
                last = conn.execute(select(RunRow.heartbeat_at, RunRow.started_at)
                                    .where(RunRow.id == run_id)).first()
                ended = max(last[0] or 0.0, last[1] or 0.0) if last else at
                conn.execute(update(RunRow).where(RunRow.id == run_id,
                                                  RunRow.status == RUNNING)
                             .values(status=INTERRUPTED, ended_at=ended,
                                     error=INTERRUPTED_ERROR))
                packs.interrupt(conn, run_id)
