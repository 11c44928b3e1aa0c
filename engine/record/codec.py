"""Values <-> canonical bytes for run records, and the sha256 that addresses them.

JSON with sorted keys and no spaces, so equal values give equal bytes (and one blob). Values JSON
cannot hold are tagged: bytes as {"$bytes": base64}, tuples become lists, and anything else as
{"$repr": text} — such a value is recorded for reading but cannot be handed to a node again
(`reusable` says so). A dict that already has one of the tag keys as its only key is wrapped
in {"$dict": ...} so it comes back as it went in.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from typing import Any

_TAGS = ("$bytes", "$repr", "$dict", "$float")


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


def encode(value: Any) -> bytes:
    """The canonical bytes of `value`."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def decode(data: bytes) -> Any:
    return _back(json.loads(data.decode("utf-8")))


def reusable(data: bytes) -> bool:
    """Whether decode(data) gives the value back whole (no object recorded as its repr)."""
    return b'"$repr"' not in data


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def value_digest(value: Any) -> str:
    return digest(encode(value))
