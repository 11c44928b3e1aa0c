"""read_json's duplicate-key check (engine/fileformat.py): json's C-built dicts, counted, stand
in for the object_pairs_hook unless a key may repeat; the value and the problems are always
those of reading every object through the hook, which is the specification kept here."""

from __future__ import annotations

import json
import random

import pytest

from engine import fileformat
from engine.errors import Problem


def _by_the_hook(text: str) -> tuple[object, list[str]]:
    """The value and the repeated keys (each once, first repeat first), every pair seen."""
    repeated: list[str] = []

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and key not in repeated:
                repeated.append(key)
            seen.add(key)
        return dict(items)

    return json.loads(text, object_pairs_hook=pairs), repeated


_KEYS = ["a", "b", "a:b", "", ":", 'x\\"y', "{[:]}", "é:", "\\u00e9", "k"]


def _text(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 3 or roll < 0.3:
        return rng.choice(['1', '"v"', '":"', '"a: b"', '"\\\\:"', "null", "[]", "{}",
                           '"\\":\\""', "2.5", '"{:}"'])
    if roll < 0.5:
        return "[" + ", ".join(_text(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"
    keys = [rng.choice(_KEYS) for _ in range(rng.randint(0, 4))]
    return "{" + ", ".join(json.dumps(json.loads(f'"{k}"')) + rng.choice([":", " : ", ":\n"])
                           + _text(rng, depth + 1) for k in keys) + "}"


def _problems(repeated: list[str]) -> list[Problem]:
    return [Problem(f"the key {key!r} appears more than once in one object; the last value "
                    f"is used (and is the one saved)") for key in repeated]


def test_read_json_reports_exactly_the_keys_the_pairs_hook_sees_repeated():
    rng = random.Random(23)
    found_repeats = found_clean = 0
    for _ in range(4000):
        text = _text(rng)
        value, repeated = _by_the_hook(text)
        got, problems = fileformat.read_json(text)
        assert got == value, text
        assert [str(p) for p in problems] == [str(p) for p in _problems(repeated)], text
        found_repeats += bool(repeated)
        found_clean += not repeated
    assert found_repeats > 300 and found_clean > 300  # both kinds were tried


@pytest.mark.parametrize("text", [
    '{"a": 1, "a": 2}',
    '{"a": "x:y", "a": 2}',                    # a colon in a string and a repeat
    '{"u": "http://h", "v": {"b": 1, "b": 1}}',
    '{"a\\"": ":", "a\\"": "::"}',             # escapes: counted by the regex
    '[{"k": 1}, {"k": 2, "k": 3}]',
])
def test_a_repeated_key_is_reported_even_where_colons_sit_in_strings(text):
    _, repeated = _by_the_hook(text)
    assert repeated
    _, problems = fileformat.read_json(text)
    assert [str(p) for p in problems] == [str(p) for p in _problems(repeated)]


@pytest.mark.parametrize("text", [
    '{"u": "http://h:80", "t": "12:30"}', '{"a\\\\": ":", "b": "\\":"}', '{":": {":": ":"}}'])
def test_colons_inside_strings_are_not_taken_for_pairs(text):
    assert fileformat._colons_outside_strings(text) == text.count(":") - sum(
        s.count(":") for s in _strings(json.loads(text)))
    assert fileformat.read_json(text)[1] == []


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []
