"""The CLI's indented JSON: exactly `json.dumps(value, indent=2, ensure_ascii=False)`, faster.

With an indent, the standard library encodes in pure Python (its C encoder only writes
compact JSON): 0.25 s for the `run --json` result of a 10 000-node run, a tenth of the whole
command. This writer does the same layout with one type dispatch per value and C functions for
every leaf (`encode_basestring`, `int.__repr__`, `float.__repr__`). Anything it does not know
exactly (a subclass, a non-str key, NaN or an infinity) goes to `json.dumps` instead, so the
text is always the standard library's.
"""

from __future__ import annotations

import functools
import json
import math
import operator
from collections.abc import Callable
from itertools import chain, compress, repeat
from typing import Any

_encode_str = json.encoder.encode_basestring  # what json uses for str with ensure_ascii=False
_int = int.__repr__
_float = float.__repr__
_isfinite = math.isfinite


class _Unusual(Exception):
    """A value this writer leaves to json.dumps."""


_SCALARS = frozenset((str, int, float, bool, type(None)))
_SHORT = frozenset((0, 1))


def _refuse(value: Any) -> Any:
    raise TypeError("not a scalar")


@functools.cache
def _encoder(separator: str) -> Callable[[Any, int], Any]:
    """CPython's C JSON encoder with `separator` between items (and ": " after keys)."""
    return json.encoder.c_make_encoder(None, _refuse, _encode_str, None, ": ", separator,
                                       False, False, False)


def _uniform(value: dict[Any, Any], newline: str) -> str | None:
    """The indented text of a dict of dicts (a run result's "nodes"): str keys, non-empty
    entries holding only scalars and lists of at most one scalar, nothing but ASCII (so
    nothing `jsonable` would change), no bracket inside a string. Written by the C encoder
    with the entries' separator, then each level's newline and indent put in by replacing
    brackets (every one is structure, which the counts prove). None for anything else."""
    if json.encoder.c_make_encoder is None:  # pragma: no cover - no _json accelerator
        return None
    entries = list(value.values())
    if (set(map(type, entries)) != {dict} or not all(entries)
            or set(map(type, value)) != {str}
            or set(map(type, chain.from_iterable(entries))) != {str}):
        return None
    items = list(chain.from_iterable(map(dict.values, entries)))
    kinds = set(map(type, items))
    lists: list[list[Any]] = []
    if list in kinds:
        lists = list(compress(items, map(operator.is_, map(type, items), repeat(list))))
        if not (set(map(len, lists)) <= _SHORT
                and set(map(type, chain.from_iterable(lists))) <= _SCALARS):
            return None
        kinds.discard(list)
    if not kinds <= _SCALARS:
        return None
    one, two = newline + "  ", newline + "    "  # the entries' indent, then their items'
    try:
        text = "".join(_encoder("," + two)(value, 0))
    except (TypeError, ValueError):  # NaN, infinity, an int too long to print
        return None
    if not text.isascii():  # (lone surrogates are rewritten by the walk)
        return None
    if (text.count("{") != len(entries) + 1 or text.count("}") != len(entries) + 1
            or text.count("[") != len(lists) or text.count("]") != len(lists)):
        return None  # a bracket inside a string
    # each entry's brackets get their newline and indent; between entries "}," + `two` (the
    # separator the encoder used) becomes the entries' own
    body = text[1:-1].replace("{", "{" + two).replace("}", one + "}")
    body = body.replace("}," + two, "}," + one)
    if lists:
        three = two + "  "
        body = body.replace("[", "[" + three).replace("]", two + "]")
        if 0 in set(map(len, lists)):  # an empty list stays "[]"
            body = body.replace("[" + three + two + "]", "[]")
    return "{" + one + body + newline + "}"


def dumps_indented(value: Any) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False)`, byte for byte."""
    parts: list[str] = []
    try:
        _write(value, "\n", parts)
    except _Unusual:
        return json.dumps(value, indent=2, ensure_ascii=False)
    return "".join(parts)


def _scalar(value: Any) -> str | None:
    """The JSON text of a scalar, or None for a container (or something unusual: raises)."""
    kind = type(value)
    if kind is str:
        return _encode_str(value)
    if kind is int:
        return _int(value)
    if kind is float:
        if not _isfinite(value):
            raise _Unusual
        return _float(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is dict or kind is list or kind is tuple:
        return None
    raise _Unusual


def _write(value: Any, newline: str, parts: list[str]) -> None:
    """Append `value`'s text to `parts`; `newline` is "\\n" plus the current indent."""
    text = _scalar(value)
    if text is not None:
        parts.append(text)
        return
    if not value:
        parts.append("{}" if type(value) is dict else "[]")
        return
    inner = newline + "  "
    separator = "," + inner
    append = parts.append
    if type(value) is dict:
        append("{" + inner)
        first = True
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            if not first:
                append(separator)
            first = False
            kind = type(item)  # the common leaves inline: a call per value costs more
            if kind is str:
                append(_encode_str(key) + ": " + _encode_str(item))
            elif kind is float and _isfinite(item):
                append(_encode_str(key) + ": " + _float(item))
            elif kind is int:
                append(_encode_str(key) + ": " + _int(item))
            elif (text := _scalar(item)) is None:
                append(_encode_str(key) + ": ")
                _write(item, inner, parts)
            else:
                append(_encode_str(key) + ": " + text)
        append(newline + "}")
        return
    append("[" + inner)
    first = True
    for item in value:
        if not first:
            append(separator)
        first = False
        kind = type(item)
        if kind is str:
            append(_encode_str(item))
        elif kind is float and _isfinite(item):
            append(_float(item))
        elif kind is int:
            append(_int(item))
        elif (text := _scalar(item)) is None:
            _write(item, inner, parts)
        else:
            append(text)
    append(newline + "]")


def dumps_converted(value: Any, convert: Callable[[Any], Any],
                    convert_key: Callable[[Any], str]) -> str:
    """`dumps_indented(convert(value))`, byte for byte, in one walk, for a `convert` that —
    like builder.cli.jsonable — leaves ASCII strings, ints under 14 000 bits, finite floats,
    None and bools as they are and walks dicts (keys through `convert_key` unless ASCII
    strings), lists and tuples (as lists) item by item: the rest is converted where it sits.
    A 10 000-node result is written without first being copied whole."""
    parts: list[str] = []
    try:
        _write_converted(value, "\n", parts, convert, convert_key, {})
    except _Unusual:
        return dumps_indented(convert(value))
    return "".join(parts)


def _write_converted(value: Any, newline: str, parts: list[str],
                     convert: Callable[[Any], Any], convert_key: Callable[[Any], str],
                     heads: dict[str, str]) -> None:
    """`heads`: each key's text and ": " as written so far (filled as keys come)."""
    kind = type(value)
    if kind is dict:
        if not value:
            parts.append("{}")
            return
        uniform = _uniform(value, newline)
        if uniform is not None:
            parts.append(uniform)
            return
        inner = newline + "  "
        separator = "," + inner
        append = parts.append
        append("{" + inner)
        sep = ""  # then separator: written with the item's key
        for key, item in value.items():
            if not (type(key) is str and key.isascii()):
                key = convert_key(key)
            head = heads.get(key)  # `"key": `, made once per key (a result repeats them all)
            if head is None:
                head = heads[key] = _encode_str(key) + ": "
            kind = type(item)  # the common leaves inline: a call per value costs more
            if kind is str and item.isascii():
                append(sep + head + _encode_str(item))
            elif kind is float and _isfinite(item):
                append(sep + head + _float(item))
            elif kind is int and item.bit_length() < 14_000:
                append(sep + head + _int(item))
            elif (text := _plain_leaf(item)) is None:
                append(sep + head)
                _write_converted(item, inner, parts, convert, convert_key, heads)
            else:
                append(sep + head + text)
            sep = separator
        append(newline + "}")
    elif kind is list or kind is tuple:
        if not value:
            parts.append("[]")
            return
        inner = newline + "  "
        separator = "," + inner
        append = parts.append
        sep = "[" + inner  # then separator
        for item in value:
            kind = type(item)
            if kind is float and _isfinite(item):
                append(sep + _float(item))
            elif (text := _plain_leaf(item)) is None:
                append(sep)
                _write_converted(item, inner, parts, convert, convert_key, heads)
            else:
                append(sep + text)
            sep = separator
        append(newline + "]")
    else:
        text = _plain_leaf(value)
        if text is not None:
            parts.append(text)
        else:  # converted where it sits; what `convert` gives is written as it is
            _write(convert(value), newline, parts)


def _plain_leaf(value: Any) -> str | None:
    """The text of a leaf `convert` leaves alone, or None (a container, or to convert)."""
    kind = type(value)
    if kind is str:
        return _encode_str(value) if value.isascii() else None
    if kind is int:
        return _int(value) if value.bit_length() < 14_000 else None
    if kind is float:
        return _float(value) if _isfinite(value) else None
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    return None
