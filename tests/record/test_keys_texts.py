"""`recorded_keys` given the texts the recorder already wrote (codec.one_value of each node's
outputs, issue 17's sixth pass) gives the keys of keys.py's definition (`node_keys` with
`value_digest`) whatever the values: ints and bools and floats, big ints, str with quotes,
escapes, lone surrogates and non-ASCII, long strings, bytes, nested and non-JSON values, a
node that gave another port or nothing."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from engine import compile_workflow
from engine.record.codec import Canon, one_value, value_digest
from engine.record.keys import node_keys, recorded_keys, static_keys
from nodes import default_registry
from tests.record.test_keys_fast import mixed_workflow, random_outputs

REGISTRY = default_registry(plugins=False)


class Opaque:
    def __repr__(self) -> str:
        return "Opaque()"


def _value(rng: random.Random) -> Any:
    if rng.random() < 0.003:  # values no record can hold (both paths refuse them alike)
        return rng.choice([10 ** 5000, "\ud800 lone"])
    return rng.choice([0, 1, -7, 2 ** 70, -(2 ** 64), True, False, None, 1.0, 1.5, -0.0,
                       math.nan, math.inf, "", "1", "text", "née ☃", "quote \" \\ \n",
                       "\x00\x1f", "y" * 600, [1, "a"], {"k": [1.0]}, {"$bytes": "x"}, (1, 2),
                       b"raw", bytearray(b"ba"), Opaque()])


def test_recorded_keys_from_the_written_texts_are_node_keys():
    fast = 0
    for seed in range(40):
        rng = random.Random(seed)
        compiled = compile_workflow(mixed_workflow(rng), REGISTRY)
        statics = static_keys(compiled, compiled.plan.nodes)
        outputs = random_outputs(rng, compiled, _value)
        texts = {nid: single for nid, out in outputs.items()
                 if (single := one_value(out)) is not None}

        def outputs_of(nid: str, outputs: dict[str, Any] = outputs) -> Any:
            return outputs.get(nid) or {}

        inputs = {"a": 1}
        try:
            expected = node_keys(compiled, outputs_of, inputs, None, value_digest)
        except (UnicodeEncodeError, ValueError) as exc:
            # a lone surrogate has no UTF-8 bytes, an int of 5 000 digits no text: both refuse
            with pytest.raises(type(exc)):
                recorded_keys(compiled, outputs_of, inputs, statics, Canon().digest, texts)
            continue
        fast += len(texts)
        assert recorded_keys(compiled, outputs_of, inputs, statics, Canon().digest,
                             texts) == expected, seed
        assert recorded_keys(compiled, outputs_of, inputs, statics, value_digest) == expected
    assert fast > 500  # the texts' path was taken, for ints and strs alike
