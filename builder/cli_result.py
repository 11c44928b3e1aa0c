"""`run --json`'s text, written from the run state in one pass (issue 17).

`dumps_result(result, before, after, convert, convert_key)` is
`dumps_converted({**before, **result.to_json(), **after}, convert, convert_key)` byte for byte
(builder/cli_json.py), without the per-node dicts `RunResult.to_json` builds and the walk over
them: a node that finished the usual way (succeeded once, one attempt, not replayed, started and
ended, every time a finite float, an ASCII id) is written by one f-string holding its keys and
layout; every other node is written from `NodeRun.to_json` by the same walk as
before. The rest of the result (outputs, error, alerts) goes through dumps_converted itself,
around a placeholder for the nodes. tests/cli/test_cli_result.py compares the two over varied
results.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from typing import Any

from builder.cli_json import _Unusual, _write_converted, dumps_converted
from engine.runstate import SUCCEEDED, RunResult

_encode_str = json.encoder.encode_basestring
_isfinite = math.isfinite
_float = float.__repr__
_copysign = math.copysign

_INDENT = "\n    "  # the entries' newline and indent
_SEPARATOR = "," + _INDENT


def dumps_result(result: RunResult, before: dict[str, Any], after: dict[str, Any],
                 convert: Callable[[Any], Any], convert_key: Callable[[Any], str]) -> str:
    """`dumps_converted({**before, **result.to_json(), **after}, convert, convert_key)`."""
    marker = f"@@flowloom-nodes-{uuid.uuid4().hex}@@"  # stands for "nodes" until it is written
    data = {**before, "status": result.status, "outputs": result.outputs, "nodes": marker}
    if result.error is not None:
        data["error"] = result.error
    data.update(after)
    if data.get("nodes") is not marker:  # `after` holds "nodes": it wins, as it did
        return dumps_converted({**before, **result.to_json(), **after}, convert, convert_key)
    text = dumps_converted(data, convert, convert_key)
    placeholder = _encode_str(marker)
    if text.count(placeholder) != 1:  # pragma: no cover - a value holding the marker
        return dumps_converted({**before, **result.to_json(), **after}, convert, convert_key)
    head, tail = text.split(placeholder)
    try:
        nodes = _nodes_text(result, convert, convert_key)
    except _Unusual:  # pragma: no cover - what dumps_converted hands to json.dumps
        return dumps_converted({**before, **result.to_json(), **after}, convert, convert_key)
    return head + nodes + tail


def _moment(seconds: float) -> str:
    """repr(round(seconds, 6)) of a finite float: for 1e-4 <= seconds < 1e6 (repr's fixed
    notation, and a float spacing far below 1e-6) the 6-place decimal without its trailing
    zeros, which is the shortest text that reads back as that rounded float."""
    fixed = f"{seconds:.6f}"
    if not 1e-4 <= seconds < 1e6:
        return _float(float(fixed))
    text = fixed.rstrip("0")
    return text + "0" if text[-1] == "." else text


def _nodes_text(result: RunResult, convert: Callable[[Any], Any],
                convert_key: Callable[[Any], str]) -> str:
    """The text of `result.to_json()["nodes"]` as `_write_converted` writes it at indent 2."""
    nodes = result.nodes
    if not nodes:
        return "{}"
    t0 = result.started_t
    parts: list[str] = []
    append = parts.append
    heads: dict[str, str] = {}
    texts: dict[str, str] = {}  # "%.6f" of a time -> repr(round(time, 6)): durations repeat
    for node_id, nr in nodes.items():
        if parts:
            append(_SEPARATOR)
        ads = nr.attempt_durations_s
        start, end = nr.started_t, nr.ended_t
        if (type(node_id) is str and nr.status == SUCCEEDED and type(nr.status) is str
                and len(ads) == 1 and not nr.cached and not nr.runs + nr.skips > 1
                and t0 is not None and start is not None and end is not None
                and type(nr.attempts) is int and node_id.isascii()):
            spent, first, queued = nr.duration_s, ads[0], nr.queued_s
            since, until = start - t0, end - t0
            if (type(spent) is float and type(first) is float and type(queued) is float
                    and type(since) is float and type(until) is float
                    and _isfinite(spent + first + queued + since + until)
                    and nr.attempts.bit_length() < 14_000):
                # each time as to_json rounds it and json writes it: repr(round(t, 6)), which
                # is repr(float("%.6f" % t)) (both the correctly rounded 6-place decimal)
                fixed = f"{spent:.6f}"
                duration = texts.get(fixed)
                if duration is None:
                    duration = texts[fixed] = _float(float(fixed))
                if first == spent:  # one attempt: its time is the node's (or ±0.0 alike)
                    attempt = duration if first or fixed == f"{first:.6f}" else None
                else:
                    attempt = None
                if attempt is None:
                    fixed = f"{first:.6f}"
                    attempt = texts.get(fixed)
                    if attempt is None:
                        attempt = texts[fixed] = _float(float(fixed))
                if queued == 0.0:  # not queued, as usual
                    waited = "0.0" if _copysign(1.0, queued) > 0.0 else "-0.0"
                else:
                    fixed = f"{queued:.6f}"
                    waited = texts.get(fixed)
                    if waited is None:
                        waited = texts[fixed] = _float(float(fixed))
                # the entry as the walk writes it (at an indent of 4, its fields at 6)
                append(f'{_encode_str(node_id)}: {{\n      "status": "succeeded",\n      '
                       f'"attempts": {nr.attempts},\n      "duration_s": {duration},\n      '
                       f'"queued_s": {waited},\n      "attempt_durations_s": [\n        '
                       f'{attempt}\n      ],\n      "started_s": {_moment(since)},\n      '
                       f'"finished_s": {_moment(until)}\n    }}')
                continue
        key = node_id if type(node_id) is str and node_id.isascii() else convert_key(node_id)
        head = heads.get(key)
        if head is None:
            head = heads[key] = _encode_str(key) + ": "
        append(head)
        _write_converted(nr.to_json(t0), _INDENT, parts, convert, convert_key, heads)
    return "{" + _INDENT + "".join(parts) + "\n  }"
