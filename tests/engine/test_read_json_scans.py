"""read_json's cheap scans (engine/fileformat.py): the depth proof and the bracket count agree
with a plain count of the brackets outside strings, the proof never passes a text nested past
MAX_DEPTH, and skipping the number hooks never changes what a text reads as or lets a number
the hooks refuse through."""

from __future__ import annotations

import itertools
import json
import random
import time

import pytest

from engine import fileformat, limits
from engine.errors import WorkflowFileError


def _depth_by_hand(text: str) -> int:
    outside = "".join(text.split('"')[0::2])
    steps = [1 if c in "[{" else -1 for c in outside if c in "[]{}"]
    return max(itertools.accumulate(steps), default=0)


def test_the_depth_scans_agree_with_a_count_by_hand():
    rng = random.Random(17)
    for _ in range(20_000):
        text = "".join(rng.choice('[]{}"a :') for _ in range(rng.randint(0, 60)))
        assert fileformat.json_depth(text) == _depth_by_hand(text), text
        if fileformat._within_depth(text):
            assert _depth_by_hand(text) <= limits.MAX_DEPTH, text


@pytest.mark.parametrize("depth", [limits.MAX_DEPTH - 1, limits.MAX_DEPTH,
                                   limits.MAX_DEPTH + 1, 3_000_000])
def test_the_depth_proof_never_passes_a_text_nested_too_deep(depth):
    for opener, closer in (("[", "]"), ("[{\"a\": ", "}]"), ('{"a": ', "}")):
        text = opener * depth + "1" + closer * depth
        started = time.perf_counter()
        within = fileformat._within_depth(text)
        assert time.perf_counter() - started < 2.0  # bounded, in C, even 3 000 000 deep
        if within:
            assert _depth_by_hand(text) <= limits.MAX_DEPTH


def _number(rng: random.Random) -> str:
    return rng.choice([
        str(rng.randint(-10**6, 10**6)), "7" * rng.choice([299, 300, 301, 400]),
        "-" + "9" * 301, repr(rng.random()), "1e5", "1E400", "-1e-400", "2.5e+3", "NaN",
        "Infinity", "-Infinity", "0", "-0", "0.0",
    ])


def test_the_number_hooks_are_skipped_only_when_they_change_nothing():
    rng = random.Random(5)
    for _ in range(3000):
        items = [_number(rng) for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.3:
            items.append('"a string with 1e9 and ' + "8" * rng.choice([5, 400]) + '"')
        text = '{"values": [' + ", ".join(items) + "]}"
        reader = fileformat._Reader("t")
        try:
            hooked = json.loads(text, parse_int=reader.integer, parse_float=reader.real,
                                parse_constant=reader.constant)
        except WorkflowFileError:
            hooked = None  # the hooks refuse it: read_json must refuse it too
        if fileformat._plain_numbers(text):
            assert hooked is not None and json.loads(text) == hooked, text
        if hooked is None:
            with pytest.raises(WorkflowFileError):
                fileformat.read_json(text)
        else:
            assert fileformat.read_json(text)[0] == hooked
