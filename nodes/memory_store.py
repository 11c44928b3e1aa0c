"""Long-term memory: a local SQLite store of short texts, keyed by memory key (Qt-free).

The file is `memory.db` in the run history's folder (`$FLOWLOOM_MEMORY_DB` overrides). Every
entry belongs to one memory key and no query ever crosses keys. Recall is full-text by default:
an FTS5 index ranked by BM25, so it works offline with nothing to download. The embeddings mode
stores one vector per entry (float32 bytes, tagged with the model that made it) and ranks by
cosine similarity; vectors come from an OpenAI-compatible `/v1/embeddings` endpoint
(`embed_texts`), and entries saved without a vector get one the first time they are searched.

The store is synchronous (sqlite3, one connection per call, WAL); async callers use
`asyncio.to_thread`. Several processes may share the file.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import time
from array import array
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - httpx is imported when embeddings are first asked for
    import httpx

from engine.context import REDACTED
from engine.masking import clip, replacer
from engine.private import private_sqlite

ENV_VAR = "FLOWLOOM_MEMORY_DB"
MODES = ("fts", "embeddings")
WORD_RE = re.compile(r"\w+", re.UNICODE)

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    vector BLOB,
    vector_model TEXT
);
CREATE INDEX IF NOT EXISTS entries_key ON entries(key, id);
CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts USING fts5(
    text, content='entries', content_rowid='id', tokenize='porter unicode61');
CREATE TRIGGER IF NOT EXISTS entries_ai AFTER INSERT ON entries BEGIN
    INSERT INTO entries_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS entries_ad AFTER DELETE ON entries BEGIN
    INSERT INTO entries_fts(entries_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""


class MemoryStoreError(Exception):
    """The memory store or the embeddings server failed; the message names what and where."""


def default_path() -> Path:
    """$FLOWLOOM_MEMORY_DB, else memory.db beside the run history database."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    # Imported here: the history store pulls in SQLAlchemy, which loading the node library
    # should not pay for.
    from engine.history.store import default_path as history_path

    return history_path().parent / "memory.db"


@dataclass(frozen=True)
class Memory:
    """One stored memory: its text, metadata and, from a search, its score."""

    id: int
    key: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    score: float | None = None  # higher is better (BM25 sign flipped, or cosine similarity)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "metadata": self.metadata,
                "created": self.created, "score": self.score}


def fts_query(text: str) -> str:
    """Free text as an FTS5 query: every word quoted (no operators), any of them may match."""
    words = WORD_RE.findall(text.lower())
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


def pack(vector: Sequence[float]) -> bytes:
    return array("f", vector).tobytes()


def unpack(blob: bytes) -> list[float]:
    values = array("f")
    values.frombytes(blob)
    return values.tolist()


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


class MemoryStore:
    """Entries by memory key in one SQLite file. Keys are non-empty strings."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        # A person's data: the file (and SQLite's -wal/-shm, which copy its mode) 0600.
        private_sqlite(self.path, own_folder=path is None and ENV_VAR not in os.environ)
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=10.0)
        except sqlite3.Error as exc:
            raise MemoryStoreError(f"cannot open the memory store {self.path}: {exc}") from None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            with db:
                yield db
        except sqlite3.Error as exc:
            raise MemoryStoreError(f"memory store {self.path}: {exc}") from None
        finally:
            db.close()

    # --- writing --------------------------------------------------------------------------
    def add(self, key: str, text: str, metadata: dict[str, Any] | None = None,
            vector: Sequence[float] | None = None, vector_model: str = "") -> int:
        """Store `text` under `key`; its id."""
        _check_key(key)
        with self._db() as db:
            cur = db.execute(
                "INSERT INTO entries(key, text, metadata, created, vector, vector_model) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, text, json.dumps(metadata or {}, default=str), time.time(),
                 pack(vector) if vector is not None else None,
                 vector_model if vector is not None else None))
            return int(cur.lastrowid or 0)

    def set_vector(self, key: str, entry_id: int, vector: Sequence[float], model: str) -> None:
        with self._db() as db:
            db.execute("UPDATE entries SET vector = ?, vector_model = ? WHERE key = ? AND id = ?",
                       (pack(vector), model, key, entry_id))

    def delete(self, key: str, entry_id: int) -> bool:
        """Remove one entry of `key`; False if there was none with that id under that key."""
        with self._db() as db:
            cur = db.execute("DELETE FROM entries WHERE key = ? AND id = ?", (key, entry_id))
            return cur.rowcount > 0

    def clear(self, key: str) -> int:
        """Remove every entry of `key`; how many there were."""
        _check_key(key)
        with self._db() as db:
            return db.execute("DELETE FROM entries WHERE key = ?", (key,)).rowcount

    # --- reading --------------------------------------------------------------------------
    def keys(self) -> list[str]:
        with self._db() as db:
            return [r[0] for r in db.execute("SELECT DISTINCT key FROM entries ORDER BY key")]

    def count(self, key: str) -> int:
        with self._db() as db:
            return db.execute("SELECT COUNT(*) FROM entries WHERE key = ?", (key,)).fetchone()[0]

    def entries(self, key: str, limit: int = 1000) -> list[Memory]:
        """The newest entries of `key` first."""
        with self._db() as db:
            rows = db.execute("SELECT id, key, text, metadata, created FROM entries "
                              "WHERE key = ? ORDER BY id DESC LIMIT ?", (key, limit))
            return [_memory(r) for r in rows]

    def search(self, key: str, query: str, k: int = 5) -> list[Memory]:
        """Full-text search in `key`: the best `k` by BM25 (best first)."""
        match = fts_query(query)
        if not match or k <= 0:
            return []
        with self._db() as db:
            rows = db.execute(
                "SELECT e.id, e.key, e.text, e.metadata, e.created, bm25(entries_fts) AS rank "
                "FROM entries_fts JOIN entries e ON e.id = entries_fts.rowid "
                "WHERE entries_fts MATCH ? AND e.key = ? ORDER BY rank, e.id LIMIT ?",
                (match, key, k))
            return [_memory(r[:5], -r[5]) for r in rows]

    def missing_vectors(self, key: str, model: str) -> list[tuple[int, str]]:
        """(id, text) of the entries of `key` with no vector from `model`."""
        with self._db() as db:
            rows = db.execute("SELECT id, text FROM entries WHERE key = ? AND (vector IS NULL "
                              "OR vector_model IS NOT ?)", (key, model))
            return [(r[0], r[1]) for r in rows]

    def search_vector(self, key: str, vector: Sequence[float], model: str,
                      k: int = 5) -> list[Memory]:
        """The `k` entries of `key` whose `model` vectors are closest to `vector` (cosine)."""
        if k <= 0:
            return []
        with self._db() as db:
            rows = db.execute("SELECT id, key, text, metadata, created, vector FROM entries "
                              "WHERE key = ? AND vector IS NOT NULL AND vector_model = ?",
                              (key, model)).fetchall()
        scored = [(cosine(vector, unpack(r[5])), r) for r in rows]
        scored.sort(key=lambda pair: (-pair[0], pair[1][0]))
        return [_memory(r[:5], round(s, 6)) for s, r in scored[:k]]


def _memory(row: Sequence[Any], score: float | None = None) -> Memory:
    try:
        metadata = json.loads(row[3])
    except ValueError:
        metadata = {}
    return Memory(row[0], row[1], row[2], metadata, row[4], score)


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not key.strip():
        raise MemoryStoreError("the memory key is empty")


# --- embeddings ---------------------------------------------------------------------------
def embeddings_endpoint(base_url: str) -> str:
    base = base_url.rstrip("/")
    return f"{base}/embeddings" if base.endswith("/v1") else f"{base}/v1/embeddings"


async def embed_texts(client: httpx.AsyncClient, base_url: str, model: str,
                      texts: list[str], key: str | None = None,
                      timeout_s: float = 60.0) -> list[list[float]]:
    """One vector per text from an OpenAI-compatible embeddings endpoint."""
    import httpx  # not when the node types are listed
    if not texts:
        return []
    url = embeddings_endpoint(base_url)
    where = f"embeddings server {url} (model {model!r})"
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        response = await client.post(url, json={"model": model, "input": texts},
                                     headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise MemoryStoreError(f"cannot reach the {where}: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 400:
        raise MemoryStoreError(f"the {where} answered {response.status_code}: "
                           f"{clip(response.text, 200, replacer(key, REDACTED))}")
    try:
        data = sorted(response.json()["data"], key=lambda d: d.get("index", 0))
        vectors = [[float(x) for x in d["embedding"]] for d in data]
    except (ValueError, KeyError, TypeError):
        raise MemoryStoreError(f"the {where} sent no data[].embedding: "
                           f"{clip(response.text, 120, replacer(key, REDACTED))!r}") from None
    if len(vectors) != len(texts):
        raise MemoryStoreError(f"the {where} sent {len(vectors)} vectors for {len(texts)} texts")
    return vectors
