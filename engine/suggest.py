"""Rank documents (the shipped templates) for a goal with BM25, using SQLite FTS5.

Qt-free and stateless: every call builds an in-memory FTS5 table (stdlib sqlite3) from the
documents it is given, asks FTS5's own `bm25()` for the ranking and closes the database, so
nothing is cached between calls. The goal's words are OR-ed (each quoted, so FTS5 query syntax
in what a person typed is taken literally); the Porter stemmer lets "approve", "approval" and
"approved" meet. Fields are weighted: title and tags count more than the description and the
node titles.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

# bm25() column weights, in the table's column order (title, tags, description, nodes).
WEIGHTS = (4.0, 3.0, 1.5, 1.0)
MAX_QUERY_WORDS = 64  # a goal longer than this is cut: bounded time whatever is pasted
STOP_WORDS = frozenset(
    "a an and the of to for in on with that this it is be by or from as at me my i we our "
    "you your want need make build workflow which what when then".split())


@dataclass(frozen=True)
class Document:
    """One thing to rank: `key` names it in the result."""

    key: str
    title: str
    description: str = ""
    tags: tuple[str, ...] = ()
    node_titles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    """A node type matching a goal's words, with its search score."""

    key: str
    score: float  # higher is better (FTS5's bm25() negated)


def goal_words(goal: str) -> list[str]:
    """The goal's search words: letters and digits, lower case, stop words left out."""
    words = [w for w in re.findall(r"[^\W_]+", goal.lower()) if w not in STOP_WORDS]
    return words[:MAX_QUERY_WORDS]


def rank(goal: str, documents: Iterable[Document]) -> list[Suggestion]:
    """The documents that share a word with `goal`, best first (ties by key)."""
    words = goal_words(goal)
    docs = list(documents)
    if not words or not docs:
        return []
    query = " OR ".join('"' + w.replace('"', '""') + '"' for w in dict.fromkeys(words))
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE VIRTUAL TABLE doc USING fts5("
                   "key UNINDEXED, title, tags, description, nodes, "
                   "tokenize = 'porter unicode61')")
        db.executemany(
            "INSERT INTO doc (key, title, tags, description, nodes) VALUES (?, ?, ?, ?, ?)",
            [(d.key, d.title, " ".join(d.tags), d.description, " \n".join(d.node_titles))
             for d in docs])
        rows = db.execute(
            "SELECT key, bm25(doc, 0.0, ?, ?, ?, ?) AS score FROM doc WHERE doc MATCH ? "
            "ORDER BY score, key", (*WEIGHTS, query)).fetchall()
    finally:
        db.close()
    return [Suggestion(key, -float(score)) for key, score in rows]
