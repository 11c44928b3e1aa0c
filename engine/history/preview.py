"""Size-capped previews of values for the history (node outputs, run inputs and outputs).

A preview is JSON text (objects JSON cannot encode appear as their repr), at most a given number
of characters. Big containers are cut *before* encoding, so previewing a huge output costs about
as much as previewing a small one; the text is redacted before the final cut, so a secret that
straddles the cut is still caught.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from engine import events as ev
from engine.plaindata import int_text

PREVIEW_CHARS = 2048
REDACT_MARGIN = 4096  # keep this much past the cap until redaction has run
_SCALARS = (int, float, bool, type(None))
_MORE = "…"


def preview(value: Any, limit: int = PREVIEW_CHARS,
            redact: Callable[[str], str] | None = None) -> tuple[str, bool]:
    """A JSON text of `value` (unknown objects as their repr), at most `limit` chars; and
    whether anything was left out. Big containers are cut before encoding, so a preview of a
    million-item list costs about as much as one of a hundred items."""
    budget = [max(16, limit // 4)]  # container items to keep, over the whole value
    try:
        shrunk, cut = _shrink(value, limit + REDACT_MARGIN, budget, 0)
        text = json.dumps(shrunk, ensure_ascii=False, default=repr)
    except Exception:  # an object whose repr fails, say: fall back to a bounded repr
        text, cut = ev.summarise(value), True
    if not text.isascii():  # a lone surrogate cannot be stored as UTF-8: keep it as \udXXX
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if redact is not None:
        text = redact(text)
    if len(text) > limit:
        return text[:limit], True
    return text, cut


def _shrink(value: Any, chars: int, budget: list[int], depth: int) -> tuple[Any, bool]:
    """A copy of `value` with at most budget[0] container items in all and strings cut at
    `chars`, nested at most 8 deep (which also ends reference cycles)."""
    kind = type(value)
    if kind is int and value.bit_length() >= 14_000:  # too long for json to print
        return int_text(value), True
    if kind in _SCALARS:
        return value, False
    if kind is str:
        return (value[:chars], True) if len(value) > chars else (value, False)
    if depth >= 8:
        return ev.summarise(value), True
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        cut = False
        for key, item in value.items():
            if budget[0] <= 0:
                out[_MORE] = _MORE
                return out, True
            budget[0] -= 1
            if not isinstance(key, (str, *_SCALARS)):
                key = repr(key)
            out[key], item_cut = _shrink(item, chars, budget, depth + 1)
            cut = cut or item_cut
        return out, cut
    if isinstance(value, (list, tuple)):
        items: list[Any] = []
        cut = False
        for item in value:
            if budget[0] <= 0:
                items.append(_MORE)
                return items, True
            budget[0] -= 1
            shrunk, item_cut = _shrink(item, chars, budget, depth + 1)
            items.append(shrunk)
            cut = cut or item_cut
        return items, cut
    if isinstance(value, (bytes, bytearray)):  # an HTTP body, say: repr only what is shown
        head = repr(bytes(value[:chars]))
        return (head, True) if len(value) > chars else (head, False)
    text = repr(value)
    return (text[:chars], True) if len(text) > chars else (text, False)
