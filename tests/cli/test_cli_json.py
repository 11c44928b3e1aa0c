"""The CLI's JSON writer: `dumps_converted(value, jsonable, _json_key)` must be exactly
`json.dumps(jsonable(value), indent=2, ensure_ascii=False)` — the text `run --json` and
`validate --json` printed before it — for every value, odd ones included."""

from __future__ import annotations

import collections
import json
import math
import random

from builder.cli import _json_key, jsonable
from builder.cli_json import dumps_converted, dumps_indented


class _Thing:
    def __repr__(self) -> str:
        return "<thing ☃>"


class _Int(int):
    pass


def _leaf(rng: random.Random) -> object:
    return rng.choice([
        0, -7, 2 ** 70, 2 ** 14_001, _Int(5), 1.5, -0.0, math.nan, math.inf, -math.inf,
        True, False, None, "", "plain", "née ☃", "\ud800 lone", 'quote " and \\ and \n',
        b"\x00bytes", bytearray(b"ab"), _Thing(), {1, 2}, frozenset(), (),
    ])


def _value(rng: random.Random, depth: int = 0) -> object:
    roll = rng.random()
    if depth > 4 or roll < 0.35:
        return _leaf(rng)
    items = [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if roll < 0.55:
        return items
    if roll < 0.62:
        return tuple(items)
    keys = ["k", "é", "\udc80", 3, 2.5, None, True, (1, 2), "k2", "out"]
    made = {rng.choice(keys): item for item in items}
    return collections.OrderedDict(made) if roll < 0.66 else made


def test_the_one_walk_writer_is_json_dumps_of_jsonable_for_every_value():
    rng = random.Random(17)
    for _ in range(3000):
        value = _value(rng)
        expected = json.dumps(jsonable(value), indent=2, ensure_ascii=False)
        assert dumps_converted(value, jsonable, _json_key) == expected, repr(value)


def test_the_indented_writer_is_json_dumps_for_plain_values():
    rng = random.Random(3)
    for _ in range(2000):
        value = jsonable(_value(rng))
        assert dumps_indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_a_run_result_shape_is_written_as_before():
    result = {"run_id": "r1", "status": "succeeded", "outputs": {"total": 3, "é": [1.5, None]},
              "nodes": {f"n{i}": {"status": "succeeded", "attempts": 1, "duration_s": 1e-05,
                                  "attempt_durations_s": [1e-05], "started_s": None}
                        for i in range(50)}}
    assert dumps_converted(result, jsonable, _json_key) == json.dumps(
        jsonable(result), indent=2, ensure_ascii=False)
