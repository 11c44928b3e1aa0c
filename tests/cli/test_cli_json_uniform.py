"""The CLI JSON writer's C-encoder path for a dict of dicts (a run result's "nodes") writes
exactly `json.dumps(jsonable(value), indent=2, ensure_ascii=False)`, and hands back to the walk
whatever it cannot prove plain: brackets, commas and newlines inside strings, non-ASCII, NaN,
lists of two items, nested dicts, non-str keys, empty entries."""

from __future__ import annotations

import json
import math
import random

from builder.cli import _json_key, jsonable
from builder.cli_json import _uniform, dumps_converted

_LEAVES = [0, 1, -3, 2.5e-05, 0.0, -0.0, 1e300, True, False, None, "succeeded", "", "a{b",
           "]", "x, y", "line\nnext", 'q"uote', "é", "\ud800", math.nan, 2 ** 64]


def _entry(rng: random.Random) -> dict:
    entry = {}
    for key in rng.sample(["status", "attempts", "duration_s", "error", "k[0]", "attempt_s"],
                          rng.randint(0, 6)):
        roll = rng.random()
        if roll < 0.6:
            entry[key] = rng.choice(_LEAVES[:12]) if rng.random() < 0.9 else rng.choice(
                _LEAVES)
        elif roll < 0.9:
            entry[key] = [rng.choice(_LEAVES[:12]) for _ in range(rng.choice([0, 1, 1, 1, 2]))]
        else:
            entry[key] = {"nested": rng.choice(_LEAVES[:6])}
    return entry


def test_a_dict_of_entries_is_written_as_json_dumps_of_jsonable():
    rng = random.Random(29)
    used = 0
    for _ in range(3000):
        nodes = {f"n{i}": _entry(rng) for i in range(rng.randint(1, 5))}
        if rng.random() < 0.05:
            nodes[7] = {"status": "odd key"}
        value = {"run_id": "r", "nodes": nodes}
        expected = json.dumps(jsonable(value), indent=2, ensure_ascii=False)
        assert dumps_converted(value, jsonable, _json_key) == expected, repr(value)
        used += _uniform(nodes, "\n  ") is not None
    assert used > 100  # the C path was taken often, not only handed back


def test_a_run_result_takes_the_c_path():
    nodes = {f"n{i}": {"status": "succeeded", "attempts": 1, "duration_s": 1e-05,
                       "queued_s": 0.0, "attempt_durations_s": [1e-05], "started_s": 0.5,
                       "finished_s": 0.6} for i in range(100)}
    assert _uniform(nodes, "\n  ") == json.dumps(nodes, indent=2)[:-1].replace(
        "\n", "\n  ") + "}"
