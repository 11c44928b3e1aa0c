"""The run history without SQLAlchemy: where the database lives, its pragmas, and `LiteStore`,
the stdlib-sqlite3 store `flowloom run` records through.

Importing sqlmodel, SQLAlchemy and pydantic costs about a second, more than a small run takes.
A headless run only appends rows, with SQL the recorder writes by hand anyway, so the CLI opens
the database with the stdlib `sqlite3` module when it already exists at this SCHEMA_VERSION.
Creating or migrating a database still goes through HistoryStore (store.py, the one schema:
schema.py): `LiteStore.open` returns None and the caller falls back to it — the first run
against a new file pays the import once. Readers (queries, analytics) always use HistoryStore.

Both stores give the recorder the same two things: `transaction()` yielding a connection with
`exec_driver_sql(sql, params)` (one tuple, or a list of tuples for executemany), and the
recording process's identity (`pid`, `pid_started_at`, `host`) for crash recovery.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

from engine.errors import FlowloomError
from engine.history import packs
from engine.history.names import (
    INTERRUPTED,
    RUNNING,
    RUNS_TABLE,
    SCHEMA_VERSION,
    SCHEMA_VERSION_TABLE,
)
from engine.private import private_sqlite

log = logging.getLogger(__name__)

ENV_VAR = "FLOWLOOM_HISTORY_DB"
BUSY_TIMEOUT_MS = 10_000
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON",
           f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
INTERRUPTED_ERROR = "the process recording this run stopped before the run finished"


class HistoryError(FlowloomError):
    """The history database cannot be opened or used (names the file and the problem)."""


def default_path() -> Path:
    """$FLOWLOOM_HISTORY_DB, else history.db in the per-user data folder."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import platformdirs  # only when no path is given: most CLI runs name one

    return Path(platformdirs.user_data_dir("flowloom")) / "history.db"


def resolve_path(path: str | os.PathLike[str] | None) -> Path:
    """An explicit path (e.g. --history-db) wins over the environment and the default."""
    return Path(path).expanduser() if path else default_path()


def process_identity(pid: int | None = None) -> tuple[int, float]:
    """(pid, process start time): together they name a process even when pids get reused."""
    import psutil  # ~15 ms; needed only once a run row is written or a dead run is checked

    pid = os.getpid() if pid is None else pid
    try:
        return pid, psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return pid, 0.0


def process_alive(pid: int, started_at: float) -> bool:
    import psutil

    if pid <= 0:
        return False
    try:
        created = psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return False
    return abs(created - started_at) < 1.0


def set_pragmas(dbapi_connection: Any, _record: Any = None) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def dead_runs(rows: Sequence[tuple[Any, ...]], host: str, now: float,
              stale_after_s: float) -> list[str]:
    """Ids of the `running` runs whose recording process is gone.

    `rows` are (id, pid, pid_started_at, host, heartbeat_at, started_at). A run recorded on
    this host is gone when its process (pid + start time) no longer exists; one from another
    host (a shared folder) when its heartbeat is older than `stale_after_s`.
    """
    dead = []
    for run_id, pid, pid_started, run_host, heartbeat, started in rows:
        if run_host == host:
            gone = not process_alive(pid, pid_started)
        else:
            gone = now - max(heartbeat or 0.0, started or 0.0) > stale_after_s
        if gone:
            dead.append(run_id)
    return dead


class _Connection:
    """The slice of SQLAlchemy's Connection the recorder uses, over a sqlite3 connection."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    def exec_driver_sql(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        if isinstance(params, list):
            return self._raw.executemany(sql, params)
        return self._raw.execute(sql, params)


class LiteStore:
    """An existing history database at the current schema version, opened with sqlite3.

    One connection, used by one thread at a time (the recorder's writer thread after open).
    """

    def __init__(self, path: Path, raw: sqlite3.Connection) -> None:
        self.path = path
        self._raw = raw

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None, *,
             stale_after_s: float = 600.0) -> LiteStore | None:
        """The store, or None when the file is absent or not at SCHEMA_VERSION (then
        HistoryStore.open creates, migrates or refuses it, with its own messages)."""
        target = resolve_path(path)
        if not target.is_file():
            return None
        try:  # the file and its -wal/-shm readable by the user only, as HistoryStore.open does
            private_sqlite(target, own_folder=not path and ENV_VAR not in os.environ)
        except OSError:
            return None  # HistoryStore.open says why
        try:
            raw = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000,
                                  check_same_thread=False)
        except sqlite3.Error:
            return None
        try:
            set_pragmas(raw)
            row = raw.execute(f"SELECT max(version) FROM {SCHEMA_VERSION_TABLE}").fetchone()
            if row is None or row[0] != SCHEMA_VERSION:
                raw.close()
                return None
            store = cls(target, raw)
            store.recover_interrupted(stale_after_s=stale_after_s)
        except sqlite3.Error as exc:
            raw.close()
            log.debug("history: %s is not usable through sqlite3 (%s)", target, exc)
            return None
        return store

    @cached_property
    def host(self) -> str:
        return socket.gethostname()

    @cached_property
    def _identity(self) -> tuple[int, float]:
        return process_identity()

    @property
    def pid(self) -> int:
        return self._identity[0]

    @property
    def pid_started_at(self) -> float:
        return self._identity[1]

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> LiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[_Connection]:
        """Committed on success, rolled back on error (sqlite3's connection context)."""
        with self._raw:
            yield _Connection(self._raw)

    def recover_interrupted(self, *, stale_after_s: float = 600.0) -> list[str]:
        """Mark `running` runs whose process is gone as interrupted (as HistoryStore does)."""
        rows = self._raw.execute(
            f"SELECT id, pid, pid_started_at, host, heartbeat_at, started_at FROM {RUNS_TABLE} "
            "WHERE status = ?", (RUNNING,)).fetchall()
        if not rows:
            return []
        now = time.time()
        dead = dead_runs(rows, self.host, now, stale_after_s)
        if dead:
            with self._raw:
                for run_id in dead:
                    self._raw.execute(
                        f"UPDATE {RUNS_TABLE} SET status = ?, error = ?, ended_at = coalesce("
                        "max(coalesce(heartbeat_at, 0.0), coalesce(started_at, 0.0)), ?) "
                        "WHERE id = ? AND status = ?",
                        (INTERRUPTED, INTERRUPTED_ERROR, now, run_id, RUNNING))
                    packs.interrupt(_Connection(self._raw), run_id)
            log.info("history: marked %d run(s) interrupted: %s", len(dead), ", ".join(dead))
        return dead
