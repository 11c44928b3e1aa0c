"""Serving a run's effects from its record (tap.RunTap asks a `RecordSource` first).

Two modes:
* replay — every node not in `live` gets its effects from the record only: an HTTP request is
  matched by node, method, URL and body hash (repeats in the order they were recorded), a clock
  read or random draw by node, loop iteration and order, an approval by node and order. A
  request the record does not have fails the node, saying so, and is kept in `missing`.
* reuse — (`--reuse-from`) only the nodes in `serve` (their params unchanged, not resent) get
  recorded responses, and only for requests identical to recorded ones; anything else goes out
  for real. So an unchanged POST is never silently sent twice.
A node that needs a secret during a replay gets `MASKED_SECRET`, never the value.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from engine.context import ApprovalRequest, Decision
from engine.errors import NodeFailure
from engine.record.store import Record
from engine.record.tap import HttpExchange

MASKED_SECRET = "********"  # what a replayed node gets for a credential (ASCII: headers)
REPLAY, REUSE = "replay", "reuse"


class RecordSource:
    def __init__(self, record: Record, *, mode: str = REPLAY, live: set[str] | None = None,
                 serve: set[str] | None = None) -> None:
        self.record = record
        self.mode = mode
        self.live = set(live or ())
        self.serve = serve  # reuse mode: the nodes that may be served
        self.missing: list[tuple[str, str]] = []  # (node, why) for requests not in the record
        self.served: list[tuple[str, str]] = []  # (node, "GET url") served from the record
        self._lock = threading.Lock()
        self._http: dict[tuple[str, str, str, str], deque[HttpExchange]] = {}
        for exchange in record.http:
            key = (exchange.node_id, exchange.method, exchange.url, exchange.body_sha)
            self._http.setdefault(key, deque()).append(exchange)
        self._values: dict[tuple[str, str, tuple[int, ...]], deque[float]] = {}
        for kind, node_id, iteration, value in record.values:
            self._values.setdefault((kind, node_id, iteration), deque()).append(value)
        self._approvals: dict[str, deque[dict[str, Any]]] = {}
        for node_id, _iteration, decision in record.approvals:
            self._approvals.setdefault(node_id, deque()).append(decision)

    def serves(self, node_id: str) -> bool:
        if self.mode == REUSE:
            return self.serve is not None and node_id in self.serve
        return node_id not in self.live

    def http(self, node_id: str, method: str, url: str, body_sha: str) -> HttpExchange | None:
        if not self.serves(node_id):
            return None
        with self._lock:
            queue = self._http.get((node_id, method, url, body_sha))
            if queue:
                exchange = queue.popleft()
                self.served.append((node_id, f"{method} {url}"))
                return exchange
        if self.mode == REUSE:
            return None  # a request the old run did not make: it goes out
        why = (f"the record of run {self.record.run_id} has no response to its "
               f"{method} {url[:200]} (the request differs from the recorded one)")
        with self._lock:
            self.missing.append((node_id, why))
        raise NodeFailure(f"replay: {why}")

    def value(self, kind: str, node_id: str, iteration: tuple[int, ...]) -> float | None:
        if self.mode == REUSE or not self.serves(node_id):
            return None
        with self._lock:
            queue = self._values.get((kind, node_id, iteration))
            if queue:
                return queue.popleft()
        why = f"the record has no {kind} value for it (iteration {list(iteration)})"
        with self._lock:
            self.missing.append((node_id, why))
        raise NodeFailure(f"replay: {why}")

    def workflow(self, node_id: str, path: str) -> str | None:
        """The recorded text of the sub-workflow file `path` (replay only: a re-use runs the
        files as they are now). A served node whose file the record lacks fails, saying so;
        a live one (--live-from) reads the file from disk."""
        if self.mode == REUSE:
            return None
        text = self.record.subworkflow_text(path)
        if text is not None or not self.serves(node_id):
            return text
        why = (f"the record of run {self.record.run_id} does not hold the sub-workflow file "
               f"{path} it ran (it was recorded before Flowloom kept sub-workflows, or its "
               f"record is incomplete)")
        with self._lock:
            self.missing.append((node_id, why))
        raise NodeFailure(f"replay: {why}")

    async def approve(self, request: ApprovalRequest) -> Decision:
        """The approver of a replay: the recorded decisions, in order."""
        with self._lock:
            queue = self._approvals.get(request.node_id)
            decision = queue.popleft() if queue else None
        if decision is None:
            why = "the record has no approval decision for it"
            with self._lock:
                self.missing.append((request.node_id, why))
            raise NodeFailure(f"replay: {why}")
        return Decision(bool(decision.get("approved")), str(decision.get("comment") or ""),
                        str(decision.get("by") or ""))


def masked_secret(_name: str) -> str:
    return MASKED_SECRET
