"""The recorder previews the usual node output (a few plain scalars by name) without
preview()'s walk: the text and the cut flag must be exactly preview()'s, for every value."""

from __future__ import annotations

import math
import random

from engine.history.preview import PREVIEW_CHARS, preview
from engine.history.recorder import _output_preview


def _redact(text: str) -> str:
    return text.replace("hunter2", "[redacted]")


def _scalar(rng: random.Random) -> object:
    return rng.choice([
        rng.randint(-10**6, 10**6), 2 ** rng.randint(60, 14_100), rng.random() * 1e300,
        math.nan, math.inf, -0.0, True, False, None, "", "plain", "née ☃", "\ud800 lone",
        "hunter2 in here", "x" * rng.choice([10, PREVIEW_CHARS - 20, PREVIEW_CHARS + 5,
                                             PREVIEW_CHARS + 4096, PREVIEW_CHARS + 4097]),
        [1, 2], {"nested": 1}, (1,), b"bytes", object(),
    ])


def test_the_fast_preview_is_previews_text_for_every_value():
    rng = random.Random(17)
    fast_path = 0
    for _ in range(3000):
        size = rng.choice([0, 1, 1, 2, 3, 16, 17])
        value: object = {rng.choice(["out", "n", "é", "x" * 30]) + str(i): _scalar(rng)
                         for i in range(size)}
        if rng.random() < 0.05:
            value = {1: "int key"} if rng.random() < 0.5 else [1, 2, 3]
        assert _output_preview(value, _redact) == preview(value, PREVIEW_CHARS, _redact), value
        assert _output_preview(value, None) == preview(value, PREVIEW_CHARS), value
        fast_path += isinstance(value, dict) and 0 < len(value) <= 16
    assert fast_path > 1000  # most values went the fast way
