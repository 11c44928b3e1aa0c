"""The record's canonical encoding: `codec.encode` (one C encoder, a fast path for flat values)
and `codec.Canon` (each container once, containers written from their parts) give exactly the
bytes of the definition, `json.dumps(_plain(value), sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`, over random values; the keys' encoder gives json.dumps's text."""

from __future__ import annotations

import hashlib
import json
import math
import random
from typing import Any

from engine.record import codec, keys
from engine.record.codec import Canon, decode, encode


def spec(value: Any) -> bytes:
    """The definition the codec is held to (its encoding before issue 17's fourth pass)."""
    return json.dumps(codec._plain(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


class Label(str):
    pass


class Opaque:
    def __repr__(self) -> str:
        return "Opaque()"


SCALARS = [0, -1, 7, 2**70, True, False, None, 1.5, -0.0, 1e300, math.inf, -math.inf,
           math.nan, "", "a", "é\"\\\n\u2028", "$bytes", Label("sub"), b"\x00\xff",
           bytearray(b"ab"), Opaque()]
KEYS = ["a", "b", "é", "$bytes", "$repr", "$dict", "$float", "10", "2", 1, 2, 10, True, None,
        1.5, Label("k")]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.random()
    if depth > 3 or pick < 0.45:
        return rng.choice(SCALARS)
    if pick < 0.7:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 12))]
    if pick < 0.78:
        return tuple(random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4)))
    size = rng.choice([1, 1, 2, 3, 12])
    chosen = rng.sample(KEYS, size) if rng.random() < 0.5 else rng.sample(KEYS[:10], min(size, 10))
    try:
        return {k: random_value(rng, depth + 1) for k in chosen}
    except TypeError:  # pragma: no cover - every key here is hashable
        return {}


def test_encode_gives_the_bytes_of_the_definition_for_random_values():
    rng = random.Random(17)
    for _ in range(1500):
        value = random_value(rng)
        assert encode(value) == spec(value), value


def test_canon_gives_the_same_bytes_and_encodes_a_shared_value_once():
    rng = random.Random(4)
    canon = Canon()
    for _ in range(800):
        value = random_value(rng)
        assert canon.encode(value) == spec(value), value
        assert canon.digest(value) == hashlib.sha256(spec(value)).hexdigest()
    items = list(range(50))
    shared = {"items": items, "wrapped": [items, {"again": items}]}
    assert canon.encode(shared) == spec(shared)
    items.append("changed")  # remembered by identity: the record's values do not change
    assert canon.text(items) == json.dumps(list(range(50)), separators=(",", ":"))


def test_flat_values_and_their_edge_cases_match_the_definition():
    cases = [{"out": 4}, {"out": math.nan}, [1.0, math.inf], {"$bytes": 1}, {"$bytes": 1, "a": 2},
             {1: "a", 2: "b", 10: "c"}, {True: 1, None: 2}, {Label("x"): 1}, [Label("y")],
             list(range(30)), {str(i): i for i in range(30)}, (1, 2), {"t": (1, [2])}]
    canon = Canon()
    for value in cases:
        assert encode(value) == spec(value), value
        assert canon.encode(value) == spec(value), value
    assert decode(encode({"$bytes": 1})) == {"$bytes": 1}
    assert decode(encode([math.inf])) == [math.inf]


def test_the_key_encoder_writes_what_json_dumps_wrote():
    rng = random.Random(9)
    for _ in range(1500):
        value = random_value(rng)
        if isinstance(value, dict) and len({type(k) for k in value}) > 1:
            continue  # json.dumps refuses to sort mixed key types too
        try:
            want = json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
        except (TypeError, ValueError):
            continue
        assert keys._hash(value) == hashlib.sha256(want.encode("utf-8")).hexdigest(), value
    a, b = keys._hash("a"), keys._hash("b")
    assert keys.cache_key(a, b) == keys._hash([a, b])
