"""RunBridge: engine events reach Qt as coalesced batches, in order, ending with RunFinished."""

from __future__ import annotations

import asyncio

from builder.bridge import RunBridge
from engine import events as ev
from engine.compile import compile_workflow
from engine.executor import Run
from engine.model import Edge, Node, Workflow
from nodes import default_registry


def chain(n: int) -> Workflow:
    nodes = [Node("n0", "data.value", "", {"value": 0}, (0, 0))]
    edges = []
    for i in range(1, n):
        nodes.append(Node(f"n{i}", "data.expression", "", {"expr": "x + 1"}, (i * 200, 0)))
        edges.append(Edge(f"n{i - 1}", "out", f"n{i}", "x"))
    return Workflow(name="Chain", nodes=nodes, edges=edges)


def test_bridge_emits_every_event_once_in_order_in_fewer_batches(qtbot, qloop):
    compiled = compile_workflow(chain(300), default_registry())
    run = Run(compiled)
    direct: list = []
    run.subscribe(direct.append)
    bridge = RunBridge()
    batches: list[list] = []
    started: list = []
    finished: list = []
    bridge.events.connect(batches.append)
    bridge.run_started.connect(started.append)
    bridge.run_finished.connect(finished.append)
    bridge.attach(run)
    result = qloop.run_until_complete(asyncio.wait_for(run.execute(), 20))
    bridge.finish(result)
    received = [e for batch in batches for e in batch]
    assert received == direct
    assert isinstance(received[-1], ev.RunFinished)
    assert started == [compiled] and finished == [result]
    assert bridge.batches == len(batches) >= 1
    assert all(isinstance(b, list) and b for b in batches)


def test_bridge_holds_events_until_its_timer_fires(qtbot, qloop):
    bridge = RunBridge(interval_ms=50)
    batches: list[list] = []
    bridge.events.connect(batches.append)
    first = ev.NodeLogged("a", (), "info", "one", 0.0)
    second = ev.NodeLogged("a", (), "info", "two", 0.0)
    bridge._on_batch([first])
    bridge._on_batch([second])
    assert batches == []  # buffered, not emitted per engine batch
    qtbot.waitUntil(lambda: len(batches) == 1, timeout=2000)
    assert batches == [[first, second]]


def test_bridge_flushes_at_once_when_the_run_finishes(qtbot):
    bridge = RunBridge(interval_ms=10_000)
    batches: list[list] = []
    bridge.events.connect(batches.append)
    log = ev.NodeLogged("a", (), "info", "x", 0.0)
    done = ev.RunFinished("r", "succeeded", {}, None, 0.1, 0.0)
    bridge._on_batch([log])
    bridge._on_batch([done])
    assert batches == [[log, done]]
