"""History benchmark: what recording a run in the SQLite history costs the run.

    .venv/bin/python bench/history.py            # medians of 3
    .venv/bin/python bench/history.py --quick    # smaller graphs, one repeat

For each workload the run executes three ways: with a subscriber that only counts events (the
floor for "events on"), and with a HistoryRecorder attached (a fresh database file each time).
Reported: wall time of `run.execute()` both ways, the recorder's time on the loop thread
(folding events into memory) per event, the time `close()` then waits for the final write, the
number of commits, the writer thread's CPU time per node run (previews, encoding and SQLite in
`_write`), and the database size per run.

Workloads: a chain of `data.expression` nodes; a flow.foreach over N items with a two-node body
(expression + zero-second util.delay), which is the event-heaviest shape; 100 parallel 50 ms
delays.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402

from engine import Edge, Node, Run, Workflow, compile_workflow, core_registry  # noqa: E402
from engine.history import HistoryRecorder, HistoryStore  # noqa: E402


def chain(n: int) -> Workflow:
    nodes = [Node("n0", "data.value", params={"value": 0})]
    nodes += [Node(f"n{i}", "data.expression", params={"expr": "x + 1"}) for i in range(1, n)]
    edges = [Edge(f"n{i - 1}", "out", f"n{i}", "x") for i in range(1, n)]
    return Workflow("chain", nodes=nodes, edges=edges)


def loop(n: int) -> Workflow:
    nodes = [Node("items", "data.value", params={"value": list(range(n))}),
             Node("each", "flow.foreach", params={"parallel": 8}),
             Node("double", "data.expression", params={"expr": "x * 2"}),
             Node("tick", "util.delay", params={"seconds": 0})]
    edges = [Edge("items", "out", "each", "items"), Edge("each", "item", "double", "x"),
             Edge("double", "out", "tick", "in"), Edge("tick", "out", "each", "result")]
    return Workflow("loop", nodes=nodes, edges=edges)


def delays(n: int) -> Workflow:
    nodes = [Node("src", "data.value", params={"value": 1}),
             Node("join", "flow.merge", params={"mode": "all"})]
    nodes += [Node(f"d{i}", "util.delay", params={"seconds": 0.05}) for i in range(n)]
    edges = [Edge("src", "out", f"d{i}", "in") for i in range(n)]
    edges += [Edge(f"d{i}", "out", "join", "in") for i in range(n)]
    return Workflow("delays", nodes=nodes, edges=edges)


class TimedRecorder(HistoryRecorder):
    """Adds up the time the recorder spends on the loop thread."""

    loop_s = 0.0
    write_cpu_s = 0.0

    def _on_batch(self, batch: list[Any]) -> None:
        t0 = time.perf_counter()
        super()._on_batch(batch)
        self.loop_s += time.perf_counter() - t0

    def _write(self, batch: dict[str, Any]) -> None:
        t0 = time.thread_time()  # the writer thread's CPU: previews, encoding, SQLite
        super()._write(batch)
        self.write_cpu_s += time.thread_time() - t0


async def _counted(compiled: Any) -> tuple[float, int]:
    count = 0

    def on_batch(batch: list[Any]) -> None:
        nonlocal count
        count += len(batch)

    run = Run(compiled)
    run.subscribe(on_batch, batched=True)
    t0 = time.perf_counter()
    await run.execute()
    return time.perf_counter() - t0, count


async def _recorded(compiled: Any, folder: Path, index: int) -> dict[str, float]:
    db = folder / f"h{index}.db"
    store = HistoryStore.open(db)
    commits = 0

    def on_commit(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(store.engine, "commit", on_commit)
    run = Run(compiled)
    recorder = TimedRecorder(store, folder / "bench.loom.json").attach(run)
    t0 = time.perf_counter()
    await run.execute()
    run_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    await recorder.aclose()
    close_s = time.perf_counter() - t1
    store.close()
    size = sum(p.stat().st_size for p in folder.glob(f"h{index}.db*"))
    return {"run_s": run_s, "loop_s": recorder.loop_s, "close_s": close_s,
            "write_us_per_node_run": recorder.write_cpu_s / len(recorder._nodes) * 1e6,
            "commits": commits, "bytes": size}


def measure(name: str, wf: Workflow, repeats: int, folder: Path) -> dict[str, Any]:
    compiled = compile_workflow(wf, core_registry())
    plain, recorded = [], []
    events = 0
    for i in range(repeats):
        t, events = asyncio.run(_counted(compiled))
        plain.append(t)
        recorded.append(asyncio.run(_recorded(compiled, folder, hash((name, i)) & 0xFFFF)))

    def med(key: str) -> float:
        return statistics.median(r[key] for r in recorded)

    return {"name": name, "nodes": len(wf.nodes), "events": events,
            "plain_s": statistics.median(plain), "recorded_s": med("run_s"),
            "loop_us_per_event": med("loop_s") / events * 1e6, "close_ms": med("close_s") * 1e3,
            "commits": med("commits"), "kb": med("bytes") / 1024,
            "write_us_per_node_run": med("write_us_per_node_run")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else 3
    scale = 1 if args.quick else 10
    workloads = [(f"chain {1000 * scale}", chain(1000 * scale)),
                 (f"foreach {200 * scale} items", loop(200 * scale)),
                 ("100 parallel 50 ms delays", delays(100))]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, wf in workloads:
            rows.append(measure(name, wf, repeats, Path(tmp)))
    print("| workload | events | run, events counted | run, recorded | recorder on loop "
          "| final write | commits | writer CPU | DB size |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['name']} | {r['events']} | {r['plain_s'] * 1e3:.0f} ms "
              f"| {r['recorded_s'] * 1e3:.0f} ms | {r['loop_us_per_event']:.2f} µs/event "
              f"| {r['close_ms']:.0f} ms | {r['commits']:.0f} "
              f"| {r['write_us_per_node_run']:.1f} µs/node run | {r['kb']:.0f} KiB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
