"""How a typed search ranks node types, menu actions or nodes: Qt-free, shared by the palette,
quick-add, the command palette and Find node.

`match(query, title, keywords)` gives a sort key (smaller is better) or None when the item does
not match. Tiers, best first:
  0 the title is the query;  1 the title starts with it;  2 every query word starts a word of
  the title;  3 every query word occurs in the title or the keywords (type id, category,
  description);  4 the query's letters occur in order in the title (fuzzy, tighter is better).
Within a tier shorter titles come first, then alphabetical order, so "output" puts Output above
Merge (whose description mentions outputs) and "del" puts Delay above Model delete.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
_WORD = re.compile(r"[a-z0-9]+")

EXACT, PREFIX, WORD_START, CONTAINS, FUZZY = range(5)


def _fuzzy_gaps(query: str, text: str) -> int | None:
    """Letters skipped between the query's letters found in order in `text`, or None."""
    at, gaps, started = 0, 0, False
    for char in query:
        found = text.find(char, at)
        if found < 0:
            return None
        if started:
            gaps += found - at
        started = True
        at = found + 1
    return gaps


def match(query: str, title: str, keywords: str = "") -> tuple[int, int, int, str] | None:
    """The sort key of `title` for `query` (see the module docstring), or None: no match."""
    q = " ".join(query.lower().split())
    t = title.lower()
    if not q:
        return (EXACT, 0, len(t), t)
    if t == q:
        return (EXACT, 0, len(t), t)
    if t.startswith(q):
        return (PREFIX, 0, len(t), t)
    words = q.split()
    title_words = _WORD.findall(t)
    if all(any(w.startswith(qw) for w in title_words) for qw in words):
        return (WORD_START, 0, len(t), t)
    haystack = f"{t} {keywords.lower()}"
    if all(qw in haystack for qw in words):
        return (CONTAINS, 0, len(t), t)
    gaps = _fuzzy_gaps(q.replace(" ", ""), t)
    if gaps is not None and gaps <= 2 * len(q) + 2:  # letters far apart are noise
        return (FUZZY, gaps, len(t), t)
    return None


def ranked(query: str, items: Iterable[T], title: Callable[[T], str],
           keywords: Callable[[T], str] = lambda _item: "") -> list[T]:
    """The items that match `query`, best first (an empty query keeps them all, in order)."""
    if not query.strip():
        return list(items)
    scored = []
    for n, item in enumerate(items):
        key = match(query, title(item), keywords(item))
        if key is not None:
            scored.append((key, n, item))
    scored.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _key, _n, item in scored]
