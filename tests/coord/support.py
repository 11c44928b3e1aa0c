"""Helpers for the coordination tests: workflow documents of util.delay nodes."""

from __future__ import annotations

from typing import Any


def delay_doc(delays: dict[str, float], edges: list[str] = (), *,
              nodes: dict[str, dict[str, Any]] | None = None,
              **workflow: Any) -> dict[str, Any]:
    """A workflow document: one util.delay per `delays` entry (extra node keys from `nodes`),
    edges as "a -> b" (out -> in), workflow-level keys from `workflow`."""
    nodes = nodes or {}
    doc: dict[str, Any] = {
        "format": "flowloom.workflow", "version": 1, "name": "delays",
        "nodes": [{"id": nid, "type": "util.delay", "params": {"seconds": seconds},
                   **nodes.get(nid, {})} for nid, seconds in delays.items()],
        "edges": [{"source": a.strip(), "source_port": "out", "target": b.strip(),
                   "target_port": "in"} for a, b in (e.split("->") for e in edges)],
    }
    doc.update(workflow)
    return doc


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two `run --json` node records ran at the same time for a while."""
    return a["started_s"] < b["finished_s"] and b["started_s"] < a["finished_s"]


def max_overlap(records: list[dict[str, Any]]) -> int:
    """The most of `records` running at one moment, from their started_s/finished_s."""
    points = sorted([(r["started_s"], 1) for r in records]
                    + [(r["finished_s"], -1) for r in records], key=lambda p: (p[0], p[1]))
    best = level = 0
    for _, step in points:
        level += step
        best = max(best, level)
    return best
