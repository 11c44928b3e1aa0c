"""What a value crossing a node's boundary may be: plain data.

Every value a node outputs is copied into the nodes that read it, recorded in the run history
and printed by the CLI, so it must be data, not a live object: null, booleans, numbers, text,
bytes, and lists, tuples, sets and dicts of those, nested at most MAX_VALUE_DEPTH deep (so
copying and recording it cannot exhaust the stack). `not_plain` finds the first part that is not,
in one iterative pass, and says where it is and what it is.
"""

from __future__ import annotations

from typing import Any

MAX_VALUE_DEPTH = 200  # deep enough for any real document; deepcopy and json stay in stack
MAX_VALUE_ITEMS = 10_000_000  # items of a value written out (a shared part counted each time)

_SCALARS = frozenset({type(None), bool, int, float, str, bytes})
_KEYS = frozenset({type(None), bool, int, float, str})
_CONTAINERS = (list, tuple, set, frozenset)
PLAIN = "null, true/false, numbers, text, bytes, lists and dicts"


def _where(path: list[Any]) -> str:
    return "".join(f"[{step!r}]" for step in path)


def not_plain(value: Any) -> str | None:
    """None if `value` is plain data, else what is wrong and where ("a dict_keys at [0]").

    Linear in the distinct containers: a container shared many times is checked once; one that
    holds itself is refused (nothing could print or record it), and so is one whose written-out
    size (shared parts counted each time they appear) passes MAX_VALUE_ITEMS."""
    if type(value) in _SCALARS:
        return None
    # Entries: (item, path) to check, or (item, None, scalar count, container children) once
    # all of `item`'s children are checked.
    stack: list[tuple[Any, ...]] = [(value, [])]
    on_path: set[int] = set()  # containers being walked, for cycles
    done: dict[int, int] = {}  # containers found plain -> their size written out
    scalars = _SCALARS
    while stack:
        entry = stack.pop()
        item, path = entry[0], entry[1]
        if path is None:
            on_path.discard(id(item))
            done[id(item)] = size = 1 + entry[2] + sum(done[id(c)] for c in entry[3])
            if size > MAX_VALUE_ITEMS:  # printing or recording repeats every shared part
                return (f"a value of {size:,} items when written out (parts of it are shared "
                        f"many times); the limit is MAX_VALUE_ITEMS = {MAX_VALUE_ITEMS:,} in "
                        f"engine/plaindata.py").replace(",", " ")
            continue
        kind = type(item)
        if kind in scalars or id(item) in done:
            continue
        if id(item) in on_path:
            return f"a value that contains itself (at {_where(path[:3])}...)"
        if len(path) >= MAX_VALUE_DEPTH:
            return (f"a value nested more than {MAX_VALUE_DEPTH} levels deep (at "
                    f"{_where(path[:3])}...; the limit is MAX_VALUE_DEPTH in "
                    f"engine/plaindata.py)")
        if isinstance(item, dict):
            if not set(map(type, item)) <= _KEYS:
                key = next(k for k in item if type(k) not in _KEYS)
                return f"a dict key of type {type(key).__name__} at {_where(path) or 'top'}"
            if set(map(type, item.values())) <= scalars:  # the common case, at C speed
                done[id(item)] = 1 + 2 * len(item)
                continue
            pairs = list(item.items())
        elif isinstance(item, _CONTAINERS):
            if set(map(type, item)) <= scalars:
                done[id(item)] = 1 + len(item)
                continue
            pairs = list(enumerate(item))
        elif isinstance(item, tuple(scalars)):  # a subclass of a plain type (an IntEnum, ...)
            continue
        else:
            at = f" at {_where(path)}" if path else ""
            return f"a {kind.__name__}{at}"
        nested = [(k, c) for k, c in pairs if type(c) not in scalars]
        on_path.add(id(item))
        stack.append((item, None, len(pairs) * (2 if kind is dict else 1) - len(nested),
                      [c for _, c in nested]))
        stack.extend((child, path + [key]) for key, child in nested)
    return None


def output_problem(outputs: dict[str, Any]) -> str | None:
    """The sentence that fails a node whose outputs are not all plain data, else None."""
    for port, value in outputs.items():
        if type(value) in _SCALARS:
            continue
        found = not_plain(value)
        if found is not None:
            hint = " (list(...) turns it into a list)" if " dict_" in found else ""
            return (f"output {port!r} is not plain data: it holds {found}{hint}; a node's "
                    f"outputs must be {PLAIN}")
    return None


# Python refuses to turn an int of more than 4 300 digits into text (a guard against slow
# conversions); anything that prints or records a value says how big it is instead.
_TEXT_DIGITS = 4300


def int_digits(value: int) -> int:
    """The number of decimal digits of `value` (its sign not counted), without converting."""
    magnitude = abs(value)
    if magnitude < 10:
        return 1
    guess = int(magnitude.bit_length() * 0.30102999566398120)  # log10(2)
    return guess + 1 if magnitude >= 10 ** guess else guess


def int_text(value: int) -> str:
    """`str(value)`, or "<int of 30103 digits>" for an int too long to print."""
    if value.bit_length() < 14_000:  # well below 4 300 digits: print it
        return str(value)
    digits = int_digits(value)
    if digits <= _TEXT_DIGITS:
        return str(value)
    return f"<{'negative ' if value < 0 else ''}int of {digits} digits>"


def printable_int(value: int) -> int | str:
    """`value` itself if Python can print it, else its "<int of N digits>" summary."""
    if value.bit_length() < 14_000 or int_digits(value) <= _TEXT_DIGITS:
        return value
    return int_text(value)


def printable_text(value: str) -> str:
    """`value`, with any lone surrogate (which UTF-8 cannot encode) written as \\udXXX."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value
