"""Reading JSON text within engine/limits.py, in bounded time and memory (issue #17).

`read_json(text, source)` -> (value, problems): too big, too deep, a number that is not finite
or too long, a lone surrogate or an over-long string is one WorkflowFileError sentence naming the
limit; a duplicate key keeps the last value and is a problem. The checks are cheap scans of the
text at C speed where they can be (engine/fileformat.py reads workflow files with it; its fast
path, engine/fastload.py, reuses the scans that do not need the parser's hooks).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable
from typing import Any

from engine import limits
from engine.errors import Problem, WorkflowFileError

# A JSON string, for the depth scan: its brackets are not structure.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = [0] * 256
_DEPTH_STEP[ord("[")] = _DEPTH_STEP[ord("{")] = 1
_DEPTH_STEP[ord("]")] = _DEPTH_STEP[ord("}")] = -1
_NOT_BRACKET_OR_QUOTE = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_NOT_COLON_OR_QUOTE = bytes(sorted(set(range(256)) - set(b':"')))
_QUOTED_BYTES = re.compile(rb'"[^"]*"')
_LONG_RUN = re.compile(f'"[^"]{{{limits.MAX_STRING_CHARS + 1}}}')
# digits -> "0", e and E -> "e", anything else -> " " (for _plain_numbers)
_NUMBER_MARKS = bytes(ord("0") if chr(i).isdigit() and i < 128 else
                      ord("e") if i in b"eE" else ord(" ") for i in range(256))
# Cheap signs that a text may hold a lone surrogate escape or an over-long string; only then
# is every decoded string looked at (that walk costs far more than these scans).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON `text`, without parsing it (so no parser
    recursion can be reached): strings are blanked out, then the brackets are counted."""
    brackets = _outside_brackets(text)
    if b"[" * (limits.MAX_DEPTH + 1) in brackets or b"{" * (limits.MAX_DEPTH + 1) in brackets:
        return max(len(run) for run in re.findall(rb"[\[{]+", brackets))
    return max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def _outside_brackets(text: str) -> bytes:
    """The brackets of `text` that are not inside a string, in order."""
    if "\\" in text:
        return _NOT_BRACKET.sub("", _JSON_STRING.sub("", text)).encode("ascii")
    # No escapes: a string runs from a quote to the next one. Only brackets and quotes kept
    # (C speed); then the strings without brackets, `""`, dropped (dropping a closing quote
    # and the next opening one keeps every remaining bracket on its side of the quotes), then
    # the strings left, with their brackets.
    marks = text.encode("utf-8", "surrogatepass").translate(None, _NOT_BRACKET_OR_QUOTE)
    marks = marks.replace(b'""', b"")
    if marks.count(b'"') % 2:  # an unterminated string: it runs to the end
        marks = marks[:marks.rindex(b'"')]
    return _QUOTED_BYTES.sub(b"", marks) if b'"' in marks else marks


def _within_depth(text: str) -> bool:
    """True when `text` surely nests no deeper than MAX_DEPTH (False: count, to be sure).
    Each pass drops every innermost `[]` and then `{}`: at most two levels a pass, so brackets
    gone within MAX_DEPTH / 2 passes nest no deeper (a usual file needs a handful)."""
    brackets = _outside_brackets(text)
    for _ in range(limits.MAX_DEPTH // 2):
        if not brackets:
            return True
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        # A pass that leaves more than 3/4 (a deep or an unbalanced text) hands over to the
        # count: so all passes together touch at most 4 times the brackets, in C.
        if len(shorter) * 4 > len(brackets) * 3:
            return False
        brackets = shorter
    return not brackets


def _counting(append: Callable[[int], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """An object_hook that hands each object's number of keys to `append`."""

    def hook(obj: dict[str, Any]) -> dict[str, Any]:
        append(len(obj))
        return obj

    return hook


def _colons_outside_strings(text: str) -> int:
    """How many colons of valid JSON `text` are not inside a string: its key/value pairs."""
    if "\\" in text:
        return _JSON_STRING.sub("", text).count(":")
    # As _outside_brackets: quotes and colons kept, strings without a colon dropped, then the
    # strings left (valid JSON: every string is closed)
    marks = text.encode("utf-8", "surrogatepass").translate(None, _NOT_COLON_OR_QUOTE)
    marks = marks.replace(b'""', b"")
    return (_QUOTED_BYTES.sub(b"", marks) if b'"' in marks else marks).count(b":")


def _strings_suspect(text: str) -> bool:
    if len(text) > limits.MAX_STRING_CHARS:  # a string may be over the limit: find the longest
        if "\\" not in text:  # a string is a run without quotes: is there a run that long?
            if _long_run(text):
                return True
        elif max(map(len, _JSON_STRING.findall(text)), default=0) > limits.MAX_STRING_CHARS:
            return True  # escapes make a text longer, never shorter: this is an upper bound
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True  # a raw surrogate in the text itself
    return ("\\" in text and ("\\ud" in text or "\\uD" in text)
            and _SURROGATE_ESCAPE.search(text) is not None)


def _long_run(text: str) -> bool:
    """Whether `text` may hold a run of more than MAX_STRING_CHARS characters without a quote
    (False: surely not). Each block of half that length holding a quote proves it cheaply."""
    block = limits.MAX_STRING_CHARS // 2
    if all(text.find('"', start, start + block) != -1 for start in range(0, len(text), block)):
        return False  # any run without quotes is shorter than two blocks
    return _LONG_RUN.search(text) is not None


def _plain_numbers(text: str) -> bool:
    """True when `text` cannot hold a number the default parser reads differently from
    _Reader's hooks: no run of more than MAX_INT_DIGITS digits (where an integer could be too
    long), no exponent after a digit (where a float could overflow to infinity), no NaN or
    Infinity. Strings are not told apart: digits or words in one only cost the hooks."""
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    marks = data.translate(_NUMBER_MARKS)
    return (b"0" * (limits.MAX_INT_DIGITS + 1) not in marks and b"0e" not in marks
            and (b"N" not in data or b"NaN" not in data)  # (one byte: a C memchr)
            and (b"I" not in data or b"Infinity" not in data))


class _Reader:
    """json.loads hooks that refuse what a workflow file must not hold (NaN, Infinity, integers
    too long to convert) and note duplicate keys, which json would silently drop."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.duplicates: list[str] = []

    def integer(self, digits: str) -> int:
        if len(digits.lstrip("-")) > limits.MAX_INT_DIGITS:
            raise WorkflowFileError(f"{self.source} holds a number with "
                                    f"{limits.amount(len(digits.lstrip('-')))} digits; the "
                                    f"limit is MAX_INT_DIGITS = {limits.MAX_INT_DIGITS} "
                                    f"(engine/limits.py).")
        return int(digits)

    def real(self, text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise WorkflowFileError(f"{self.source} holds the number {text[:40]}, which is too "
                                    f"large for a floating-point number.")
        return value

    def constant(self, name: str) -> Any:
        raise WorkflowFileError(f"{self.source} holds {name}, which is not a JSON number; "
                                f"write a number or null instead.")

    def pairs(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        value = dict(pairs)
        if len(value) != len(pairs):
            seen: set[str] = set()
            for key, _ in pairs:
                if key in seen and key not in self.duplicates:
                    self.duplicates.append(key)
                seen.add(key)
        return value


def _check_strings(value: Any, source: str) -> None:
    """Every string (keys too) within MAX_STRING_CHARS and valid Unicode (a lone surrogate
    such as "\\ud800" cannot be written as UTF-8, so such a file could never be saved)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            if len(item) > limits.MAX_STRING_CHARS:
                raise WorkflowFileError(f"{source} holds a string of "
                                        f"{limits.amount(len(item))} characters "
                                        f"({item[:30]!r}...); the limit is MAX_STRING_CHARS = "
                                        f"{limits.amount(limits.MAX_STRING_CHARS)} "
                                        f"(engine/limits.py).")
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise WorkflowFileError(
                        f"{source} holds the text {item[max(0, exc.start - 20):exc.end + 10]!a}"
                        f" with a lone surrogate (\\u{ord(item[exc.start]):04x}), which is not "
                        f"valid Unicode; replace that escape with the character meant."
                    ) from None


def read_json(text: str, source: str = "the workflow") -> tuple[Any, list[Problem]]:
    """JSON text -> (value, problems), within engine/limits.py in bounded time and memory.

    Too big, too deep, a number that is not finite or too long, a lone surrogate: one
    WorkflowFileError sentence naming the limit. Duplicate keys keep the last value (as JSON
    readers do) and are reported as problems, since saving writes the last one only."""
    if len(text) > limits.MAX_FILE_BYTES:
        raise WorkflowFileError(f"{source} is {limits.amount(len(text))} characters long; the "
                                f"limit is MAX_FILE_BYTES = {limits.amount(limits.MAX_FILE_BYTES)}"
                                f" (engine/limits.py).")
    # Fewer openers than the limit cannot nest past it: most files skip the scan.
    openers = text.count("[") + text.count("{")
    depth = (json_depth(text) if openers > limits.MAX_DEPTH and not _within_depth(text)
             else 0)
    if depth > limits.MAX_DEPTH:
        raise WorkflowFileError(f"{source} nests arrays and objects {limits.amount(depth)} "
                                f"levels deep; the limit is MAX_DEPTH = {limits.MAX_DEPTH} "
                                f"(engine/limits.py).")
    reader = _Reader(source)
    # The number hooks cost a Python call per number: used only when a number could need them
    numbers: dict[str, Any] = {} if _plain_numbers(text) else {
        "parse_int": reader.integer, "parse_float": reader.real,
        "parse_constant": reader.constant}
    try:
        # Read with C-built dicts, each counted: an object with a repeated key makes a dict
        # shorter than its pairs, so as many keys kept as the text has pairs (a colon outside
        # a string is one) means no key repeats. Else read again, noting each repeated key
        # (object_pairs_hook builds a list of pairs per object: ~2x json's own cost).
        sizes: list[int] = []
        value = json.loads(text, object_hook=_counting(sizes.append), **numbers)
        kept = sum(sizes)
        if kept != text.count(":") and kept != _colons_outside_strings(text):
            value = json.loads(text, object_pairs_hook=reader.pairs, **numbers)
    except json.JSONDecodeError as exc:
        raise WorkflowFileError(
            f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    except RecursionError:  # not reached within MAX_DEPTH; kept so no stack is ever blown
        raise WorkflowFileError(f"{source} is not a workflow: its JSON is nested too deeply "
                                f"to read.") from None
    if _strings_suspect(text):
        _check_strings(value, source)
    problems = [Problem(f"the key {key!r} appears more than once in one object; the last "
                        f"value is used (and is the one saved)") for key in reader.duplicates]
    return value, problems
