"""Values <-> canonical bytes for run records, and the sha256 that addresses them.

JSON with sorted keys and no spaces, so equal values give equal bytes (and one blob). Values JSON
cannot hold are tagged: bytes as {"$bytes": base64}, tuples become lists, and anything else as
{"$repr": text} — such a value is recorded for reading but cannot be handed to a node again
(`reusable` says so). A dict that already has one of the tag keys as its only key is wrapped
in {"$dict": ...} so it comes back as it went in.

The bytes are `json.dumps(_plain(value), sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`, written by one C encoder built once (json.dumps builds one per call);
scalars and flat containers of scalars with str keys skip `_plain`, which would hand them back
unchanged. `Canon` encodes each distinct value of a record once (a value many nodes saw, such
as a foreach's items, is one object in every place it appears).
tests/record/test_codec.py compares `encode` with that definition over random values.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from typing import Any

_TAGS = ("$bytes", "$repr", "$dict", "$float")
TAGS = _TAGS  # a dict of one of these keys alone is wrapped ({"$dict": ...})
_SCALARS = frozenset({str, int, float, bool, type(None)})  # exact types: C encodes them as is


def _no_default(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not plain JSON")


_encode_str = json.encoder.encode_basestring  # what json.dumps uses with ensure_ascii=False
_c_make = json.encoder.c_make_encoder
# json.dumps's own C encoder with sort_keys, (",", ":") and allow_nan=False (a non-finite float
# is tagged by _plain; met on the fast path it raises and _plain takes over); no circular
# check: _plain has none either (a cycle is a RecursionError in both)
_c_canon = (_c_make(None, _no_default, _encode_str, None, ":", ",", True, False, False)
            if _c_make is not None else None)


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, dict):
        plain = {str(k): _plain(v) for k, v in value.items()}
        if len(plain) == 1 and next(iter(plain)) in _TAGS:
            return {"$dict": plain}
        return plain
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    return {"$repr": repr(value)[:10_000]}


def _back(value: Any) -> Any:
    if isinstance(value, list):
        return [_back(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            key, inner = next(iter(value.items()))
            if key == "$bytes":
                return base64.b64decode(inner)
            if key == "$float":
                return float(inner)
            if key == "$dict":
                return {k: _back(v) for k, v in inner.items()}
            if key == "$repr":
                return inner
        return {k: _back(v) for k, v in value.items()}
    return value


def _dumps(plain: Any) -> str:
    if _c_canon is None:  # pragma: no cover - a Python without the _json accelerator
        return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "".join(_c_canon(plain, 0))


_STR = frozenset({str})
_SMALL = 8  # Canon remembers containers of more items than this, or of containers


def _flat(value: Any) -> bool:
    """Whether `value` is a scalar, or a list / str-keyed dict of scalars, that `_plain` would
    hand back as it is (save a non-finite float, which the C encoder refuses)."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is dict:  # the type checks run in C (map, issuperset)
        return (_STR.issuperset(map(type, value)) and _SCALARS.issuperset(map(type, value.values()))
                and not (len(value) == 1 and next(iter(value)) in _TAGS))
    if kind is list:
        return _SCALARS.issuperset(map(type, value))
    return False


def text(value: Any) -> str:
    """The canonical text of `value` (`encode` is its UTF-8 bytes)."""
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if kind is int:
        return int.__repr__(value)
    if _flat(value):
        try:
            return _dumps(value)
        except ValueError:  # a NaN or infinity: tagged by _plain
            pass
    return _dumps(_plain(value))


def encode(value: Any) -> bytes:
    """The canonical bytes of `value`."""
    return text(value).encode("utf-8")


def decode(data: bytes) -> Any:
    return _back(json.loads(data.decode("utf-8")))


def reusable(data: bytes) -> bool:
    """Whether decode(data) gives the value back whole (no object recorded as its repr)."""
    return b'"$repr"' not in data


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def value_digest(value: Any) -> str:
    return digest(encode(value))


def dumps_plain(plain: Any) -> str:
    """The canonical text of a value made of JSON types only (str keys, finite floats, no
    tag-like dict): what `text` gives it, without looking at it first. TypeError or ValueError
    when it is not such a value."""
    return _dumps(plain)


_TAG_SET = frozenset(_TAGS)


def one_value(value: Any) -> tuple[str, str] | None:
    """For a dict of one str key (not a tag) holding an int or a str — the usual node's
    outputs: (that key, the value's text), so that text(value) is "{" + the key's text + ":" +
    the value's text + "}" and text({other: the value}) is written the same way. None for any
    other value."""
    if type(value) is not dict or len(value) != 1:
        return None
    ((key, item),) = value.items()
    kind = type(item)  # what the C encoder writes for an int or a str
    if kind is int:
        try:
            written = int.__repr__(item)
        except ValueError:  # an int too long to print: text() says how it is kept
            return None
    elif kind is str:
        written = _encode_str(item)
    else:
        return None
    if type(key) is not str or key in _TAG_SET:
        return None
    return key, written


def one_text(key: str, value_text: str) -> str:
    """text({key: value}) from `value`'s text (`key` a str that is not a tag)."""
    return "{" + _encode_str(key) + ":" + value_text + "}"


class Canon:
    """Canonical texts and digests of the values of one record, each container encoded once:
    remembered by identity (the value is kept, so its id cannot be reused meanwhile), and a
    container of containers written from its parts' texts, so a value that is part of several
    (a foreach's items: the items node's outputs, the loop's inputs) is encoded once. Scalars
    are cheap and not remembered."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[Any, str]] = {}
        self._digests: dict[int, tuple[Any, str]] = {}

    def text(self, value: Any) -> str:
        kind = type(value)
        if kind is not dict and kind is not list:
            return text(value)
        size = len(value)
        if size <= _SMALL and _c_canon is not None and (
                _SCALARS.issuperset(map(type, value)) if kind is list else
                (_STR.issuperset(map(type, value))
                 and _SCALARS.issuperset(map(type, value.values()))
                 and not (size == 1 and next(iter(value)) in _TAGS))):
            # a few scalars (`_flat`, written out: this is the per-execution path): encoding
            # again costs less than remembering
            try:
                return "".join(_c_canon(value, 0))
            except ValueError:  # a NaN or infinity: tagged by _plain
                return _dumps(_plain(value))
        known = self._texts.get(id(value))
        if known is not None:
            return known[1]
        if _flat(value):
            try:
                made = _dumps(value)
            except ValueError:
                made = _dumps(_plain(value))
        elif kind is list:
            made = "[" + ",".join([self.text(v) for v in value]) + "]"
        elif _STR.issuperset(map(type, value)) and not (
                size == 1 and next(iter(value)) in _TAGS):
            # sort_keys sorts str keys as sorted() does; the separators are "," and ":"
            made = "{" + ",".join([_encode_str(k) + ":" + self.text(value[k])
                                   for k in sorted(value)]) + "}"
        else:
            made = text(value)
        self._texts[id(value)] = (value, made)
        return made

    def encode(self, value: Any) -> bytes:
        return self.text(value).encode("utf-8")

    def digest(self, value: Any) -> str:
        kind = type(value)
        if kind is not dict and kind is not list:
            return digest(text(value).encode("utf-8"))
        known = self._digests.get(id(value))
        if known is not None:
            return known[1]
        made = digest(self.encode(value))
        self._digests[id(value)] = (value, made)
        return made
