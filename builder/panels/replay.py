"""Rebuilding a recorded run's events from the history, so the canvas overlay and the run
panels can replay it exactly as they show a live run.

Qt-free. `events_from_history(detail)` turns a `RunDetail` (engine.history.get_run) into the
engine events the live run published, in time order: RunStarted, per node run NodeStarted and
its end (NodeFinished / NodeFailed / NodeSkipped / NodeCancelled), its NodeLogged lines, and
RunFinished. Times are the recorded wall-clock seconds (only differences matter to the panels).
A run recorded as `interrupted` (its process went away) replays as `cancelled`, and so do node
runs it left unfinished. Outputs come back from their previews when these were stored whole
(JSON objects); a preview that was cut replays as no outputs.
"""

from __future__ import annotations

import json
from typing import Any

from engine import events as ev

_CANCELLED = ("cancelled", "interrupted", "running", "retrying", "pending")


def _outputs(detail: Any) -> dict[tuple[str, tuple[int, ...]], dict[str, Any]]:
    found: dict[tuple[str, tuple[int, ...]], dict[str, Any]] = {}
    for out in getattr(detail, "outputs", ()):
        if out.truncated:
            continue
        try:
            value = json.loads(out.preview)
        except (TypeError, ValueError):
            continue
        if isinstance(value, dict):
            found[(out.node_id, out.iteration)] = value
    return found


def events_from_history(detail: Any) -> list[Any]:
    """The events of a recorded run (a RunDetail), in the order they happened."""
    start = detail.started_at
    end = detail.ended_at
    if end is None:
        known = [t for nr in detail.nodes for t in (nr.started_at, nr.ended_at) if t]
        end = max(known, default=start)
    outputs = _outputs(detail)
    logs: dict[tuple[str, tuple[int, ...]], list[Any]] = {}
    orphans: list[Any] = []
    for line in detail.logs:
        logs.setdefault((line.node_id, line.iteration), []).append(line)
    keys = {(nr.node_id, nr.iteration) for nr in detail.nodes}
    orphans = [line for key, lines in logs.items() if key not in keys for line in lines]
    inputs = detail.inputs if isinstance(detail.inputs, dict) else {}
    events: list[Any] = [ev.RunStarted(detail.id, detail.workflow_name or detail.workflow,
                                       detail.node_count, inputs, start, start)]
    for nr in detail.nodes:  # already in start order (never-started ones last)
        key = (nr.node_id, nr.iteration)
        ended = nr.ended_at if nr.ended_at is not None else end
        if nr.started_at is not None:
            events.append(ev.NodeStarted(nr.node_id, nr.iteration, max(nr.attempts, 1),
                                         nr.started_at))
        for line in logs.get(key, ()):
            events.append(ev.NodeLogged(nr.node_id, nr.iteration, line.level, line.message,
                                        line.at))
        duration = nr.duration_s if nr.duration_s is not None else (
            ended - nr.started_at if nr.started_at is not None else 0.0)
        if nr.status == "succeeded":
            events.append(ev.NodeFinished(nr.node_id, nr.iteration, duration,
                                          outputs.get(key, {}), ended))
        elif nr.status == "failed":
            events.append(ev.NodeFailed(nr.node_id, nr.iteration, duration, nr.error or "",
                                        max(nr.attempts, 1), ended))
        elif nr.status == "skipped":
            events.append(ev.NodeSkipped(nr.node_id, nr.iteration, nr.reason or "", ended))
        elif nr.status in _CANCELLED:
            events.append(ev.NodeCancelled(nr.node_id, nr.iteration, ended))
    for line in orphans:
        events.append(ev.NodeLogged(line.node_id, line.iteration, line.level, line.message,
                                    line.at))
    status = "cancelled" if detail.status in _CANCELLED else detail.status
    duration = detail.duration_s if detail.duration_s is not None else end - start
    events.sort(key=lambda e: e.t)  # stable: a node's start stays before its end
    events.append(ev.RunFinished(detail.id, status, {}, detail.error, duration,
                                 max(end, events[-1].t)))
    return events
