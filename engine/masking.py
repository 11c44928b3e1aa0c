"""Masking secrets in text, and cutting text only after it was masked.

The rule: mask first, cut second. A cut made before masking can keep the head of a secret (the
first 20 of 39 characters of a key survived a 300-character error snippet), and the masker can no
longer recognise what is left. `clip` masks a window a little larger than the cut, then cuts.

`mask` also hides a *piece* of a secret left at either edge of a text (a text that ends with the
first characters of a secret, or starts with its last ones, perhaps inside closing quotes or an
ellipsis): that is what an earlier cut by someone else (a server, a log line limit) leaves behind.
Pieces shorter than MIN_PIECE are left alone: they would match ordinary text too often.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

MIN_PIECE = 6
_EDGE_NOISE = "'\"`…. )]}>,;:\n\r\t"  # what a cut or a repr may put after a piece of a secret


def mask(text: str, secrets: Iterable[str], replacement: str) -> str:
    """`text` with every secret, and every piece of one left at an edge, replaced."""
    values = sorted((s for s in secrets if s), key=len, reverse=True)  # longest first
    for value in values:
        if value in text:
            text = text.replace(value, replacement)
    for value in values:
        text = _mask_edges(text, value, replacement)
    return text


def _mask_edges(text: str, secret: str, replacement: str) -> str:
    # The end: text[...] + secret[:k] + noise, k from the longest possible piece down.
    body = text.rstrip(_EDGE_NOISE)
    if len(body) >= MIN_PIECE and body[-MIN_PIECE:] in secret:  # a cheap test first
        for k in range(min(len(secret) - 1, len(body)), MIN_PIECE - 1, -1):
            if body.endswith(secret[:k]):
                text = body[:-k] + replacement + text[len(body):]
                break
    # The start: noise + secret[-k:] + text[...].
    body = text.lstrip(_EDGE_NOISE)
    lead = len(text) - len(body)
    if len(body) >= MIN_PIECE and body[:MIN_PIECE] in secret:
        for k in range(min(len(secret) - 1, len(body)), MIN_PIECE - 1, -1):
            if body.startswith(secret[-k:]):
                text = text[:lead] + replacement + body[k:]
                break
    return text


def clip(text: str, limit: int, redact: Callable[[str], str], *, tail: bool = False,
         margin: int = 4096) -> str:
    """At most `limit` characters of `text` (its end if `tail`), masked *before* the cut.

    Only a window of `limit + margin` characters is masked, so clipping a huge text stays cheap;
    a secret longer than `margin` that straddles the window edge is still caught as an edge
    piece by `redact` when it is a `mask`-based masker.
    """
    window = text[-(limit + margin):] if tail else text[:limit + margin]
    masked = redact(window)
    return masked[-limit:] if tail else masked[:limit]


def replacer(secret: str | None, replacement: str) -> Callable[[str], str]:
    """A masker for one known secret (for code that holds a key but no run)."""
    def redact(text: str) -> str:
        return mask(text, (secret,) if secret else (), replacement)
    return redact
