"""codec.one_value / one_text, which write the usual node's outputs text and the inputs text
of the node its one wire feeds without the encoder (issue 17, fifth pass), give `text`'s bytes
for every value they take, and take no value they would write differently."""

from __future__ import annotations

import math
import random

from engine.record.codec import TAGS, one_text, one_value, text


def _item(rng: random.Random) -> object:
    return rng.choice([0, -1, 7, 2 ** 70, -(2 ** 64), 10 ** 5000, True, False, None, 1.5,
                       -0.0, math.nan, "", "plain", "née ☃", "quote \" and \\ and \n",
                       "\ud800 lone", "\x00\x1f", [1], {"a": 1}, (1,), b"raw"])


def _key(rng: random.Random) -> object:
    return rng.choice(["out", "é", "", "with \"quote\"", *TAGS, 1, None, "x" * 40])


def test_one_value_texts_are_texts():
    rng = random.Random(5)
    taken = 0
    for _ in range(4000):
        value = {_key(rng): _item(rng) for _ in range(rng.choice([0, 1, 1, 1, 2]))}
        if rng.random() < 0.05:
            value = rng.choice([[1], "out", 3, None])
        single = one_value(value)
        if single is None:
            continue
        taken += 1
        key, item_text = single
        assert one_text(key, item_text) == text(value), value
        for port in ("x", "é", "with \"quote\""):  # the same value on another port
            assert one_text(port, item_text) == text({port: value[key]}), (port, value)
    assert taken > 300


def test_one_value_leaves_alone_what_it_would_write_differently():
    for value in ({"$bytes": "x"}, {"$dict": 1}, {1: 2}, {"a": True}, {"a": 1.0}, {"a": None},
                  {"a": [1]}, {"a": 10 ** 5000}, {"a": 1, "b": 2}, {}, [1], "a"):
        assert one_value(value) is None, value
