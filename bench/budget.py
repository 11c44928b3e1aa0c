"""Bounded evaluation benchmark: what the budget costs a cheap node, and what it buys the loop.

    .venv/bin/python bench/budget.py            # full run (medians of 5), a few minutes
    .venv/bin/python bench/budget.py --quick    # smoke run: small graphs, one repeat

1. Per-node cost of the cheap path: the engine running `data.expression` chains/fans/layers
   (budgeted: slice-checked, offloadable) against the same graphs made of `bench.raw_expression`,
   a cheap node evaluating the same parsed tree with a bare simpleeval evaluator inline (what
   every expression cost before the budget). Same engine, same run, events on.
2. Event-loop lateness of a 50 ms asyncio timer (p50 / p99 / max): idle; while a heavy
   expression works within the budget; and while the same kind of expression runs unbudgeted
   inline (a shorter one: it blocks the loop for its whole length).
3. What an offload costs: an expression just past the slice, its first evaluation in a run
   (starts the worker process) and later ones (a warm worker).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import simpleeval

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import (  # noqa: E402
    Edge,
    Node,
    NodeType,
    Param,
    Port,
    Run,
    Workflow,
    compile_workflow,
    core_registry,
)
from engine import events as ev  # noqa: E402
from engine.bounded import FUNCTIONS  # noqa: E402


def _engine_bench() -> Any:
    """bench/engine.py (its workloads and timing), loaded by path: its name is the package's."""
    spec = importlib.util.spec_from_file_location("engine_bench",
                                                  Path(__file__).with_name("engine.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

SHAPES = ("chain", "fan", "layered")
HEAVY = "sum([sum(range(1000000)) for i in range(150)])"
HEAVY_INLINE = "sum([sum(range(1000000)) for i in range(20)])"  # ~0.5-1 s blocking
PAST_SLICE = "sum([sum(range(i, i + 5000)) for i in range(200)])"  # ~10 ms: past the 3 ms slice
TIMER_S = 0.05


class RawExpression(NodeType):
    """Bench only: the pre-budget evaluation (a bare simpleeval evaluator, inline)."""

    type_id = "bench.raw_expression"
    outputs = (Port("out"),)
    parameters = (Param("expr", "expression", default="x"),
                  Param("inputs", "list", default=["x"]))
    cheap = True

    @classmethod
    def input_ports(cls, params: dict[str, Any]) -> tuple[Port, ...]:
        return tuple(Port(n) for n in params.get("inputs", ["x"]))

    def setup(self) -> None:
        self.source = self.params["expr"]
        self.tree = ast.parse(self.source.strip(), mode="eval").body
        self.evaluator = simpleeval.EvalWithCompoundTypes(functions=dict(FUNCTIONS))

    def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        self.evaluator.names = inputs
        return {"out": self.evaluator.eval(self.source, previously_parsed=self.tree)}


def registry() -> Any:
    reg = core_registry()
    reg.register(RawExpression)
    return reg


def raw(workflow: Workflow) -> Workflow:
    nodes = [Node(n.id, "bench.raw_expression" if n.type == "data.expression" else n.type,
                  params=dict(n.params)) for n in workflow.nodes.values()]
    return Workflow(workflow.name, nodes=nodes, edges=list(workflow.edges))


# --- 1. per-node cost ---------------------------------------------------------------------
def per_node(sizes: list[int], reps: int) -> list[dict[str, Any]]:
    bench = _engine_bench()
    reg = registry()
    rows = []
    for shape in SHAPES:
        for n in sizes:
            budgeted = compile_workflow(bench.SHAPES[shape](n), reg)
            bare = compile_workflow(raw(bench.SHAPES[shape](n)), reg)
            b_times, r_times = [], []
            for _ in range(reps):  # interleaved, so drift hits both alike
                b_times.append(bench.engine_time(budgeted, True)[0])
                r_times.append(bench.engine_time(bare, True)[0])
            rows.append({"shape": shape, "nodes": n, "budgeted_s": statistics.median(b_times),
                         "raw_s": statistics.median(r_times)})
    return rows


def per_evaluation(rounds: int = 7, number: int = 20_000) -> dict[str, tuple[float, float]]:
    """µs per evaluation (min, median over `rounds`), interleaved: a bare simpleeval evaluator
    against `Expression.evaluate` as a cheap node runs it (in the run's Slice)."""
    import timeit

    from engine.budget import CURRENT, Limits, Slice, Workers
    from engine.expressions import Expression
    cases = {"x + 1": {"x": 1}, "[v * 2 for v in x][0]": {"x": [1, 2, 3]}}
    out: dict[str, tuple[float, float]] = {}
    for source, names in cases.items():
        bare = RawExpression({"expr": source, "inputs": list(names)})
        budgeted = Expression(source)
        times: dict[str, list[float]] = {"bare": [], "budgeted": []}
        mode = Slice(Workers(), Limits())
        for _ in range(rounds):
            times["bare"].append(timeit.timeit(
                lambda b=bare, n=names: b.run(None, **n), number=number))
            token = CURRENT.set(mode)
            times["budgeted"].append(timeit.timeit(
                lambda e=budgeted, n=names: e.evaluate(n), number=number))
            CURRENT.reset(token)
        for kind, values in times.items():
            us = [v / number * 1e6 for v in values]
            out[f"`{source}` {kind}"] = (min(us), statistics.median(us))
    return out


# --- 2. loop lateness ---------------------------------------------------------------------
async def _lateness(samples: int) -> list[float]:
    late = []
    for _ in range(samples):
        t = time.perf_counter()
        await asyncio.sleep(TIMER_S)
        late.append(time.perf_counter() - t - TIMER_S)
    return late


def _one(expr: str, node_type: str = "data.expression", **settings: Any) -> Workflow:
    return Workflow("one", nodes=[Node("e", node_type, params={"expr": expr, "inputs": []},
                                       **settings)])


async def lateness(samples: int) -> dict[str, list[float]]:
    reg = registry()
    out = {"idle": await _lateness(samples)}
    run = Run(compile_workflow(_one(HEAVY, limits={"cpu_s": 600}), reg))
    task = asyncio.create_task(run.execute())
    while run.state["e"].status != "running" or run.workers.started == 0:
        await asyncio.sleep(0.005)
    out["heavy expression, budgeted"] = await _lateness(samples)
    assert run.state["e"].status == "running", "the heavy expression ended before sampling"
    run.cancel()
    await task
    unbudgeted = Run(compile_workflow(_one(HEAVY_INLINE, "bench.raw_expression"), reg))

    async def start_soon() -> Any:
        await asyncio.sleep(TIMER_S / 2)  # the timer is armed first, then the loop blocks
        return await unbudgeted.execute()

    blocked = asyncio.create_task(start_soon())
    out["heavy expression, unbudgeted (before)"] = await _lateness(max(3, samples // 8))
    await blocked
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- 3. offload cost ----------------------------------------------------------------------
async def offload_cost(count: int) -> dict[str, float]:
    reg = registry()
    first = await _node_time(Run(compile_workflow(_one(PAST_SLICE), reg)), "e")
    chain = [Node("n0", "data.expression", params={"expr": PAST_SLICE, "inputs": []})] + [
        Node(f"n{i}", "data.expression", params={"expr": f"x * 0 + {PAST_SLICE}",
                                                 "inputs": ["x"]}) for i in range(1, count)]
    warm_run = Run(compile_workflow(Workflow("o", nodes=chain, edges=[
        Edge(f"n{i - 1}", "out", f"n{i}", "x") for i in range(1, count)]), reg))
    durations: list[float] = []
    warm_run.subscribe(lambda e: durations.append(e.duration_s)
                       if isinstance(e, ev.NodeFinished) else None)
    await warm_run.execute()
    started = warm_run.workers.started
    inline_times = [await _node_time(Run(compile_workflow(
        _one(PAST_SLICE, "bench.raw_expression"), reg)), "e") for _ in range(5)]
    inline_s = statistics.median(inline_times)
    return {"first_s": first, "warm_s": statistics.median(durations[1:] or durations),
            "inline_s": inline_s, "workers": float(started)}


async def _node_time(run: Run, nid: str) -> float:
    result = await run.execute()
    assert result.status == "succeeded", result.error
    return result.nodes[nid].duration_s


# --- report -------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small graphs, one repeat")
    parser.add_argument("--reps", type=int, default=None, help="repeats of the per-node runs")
    args = parser.parse_args(argv)
    sizes, reps, samples = ([1000], 1, 20) if args.quick else ([1000, 10_000], 5, 60)
    reps = args.reps or reps
    evals = per_evaluation()
    rows = per_node(sizes, reps)
    late = asyncio.run(lateness(samples))
    cost = asyncio.run(offload_cost(8 if args.quick else 20))
    print(f"Python {sys.version.split()[0]}, {sys.platform}; medians of {reps} (interleaved); "
          f"events on.\n")
    print("| workload | nodes | budgeted µs/node | unbudgeted µs/node | ratio |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        n = r["nodes"]
        print(f"| {r['shape']} | {n:,} | {r['budgeted_s'] / n * 1e6:.1f} | "
              f"{r['raw_s'] / n * 1e6:.1f} | {r['budgeted_s'] / r['raw_s']:.2f}× |")
    print("\n| evaluation | min µs | median µs |\n|---|---:|---:|")
    for name, (low, mid) in evals.items():
        print(f"| {name} | {low:.2f} | {mid:.2f} |")
    print(f"\n| {TIMER_S * 1e3:.0f} ms timer lateness | samples | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    for phase, values in late.items():
        print(f"| {phase} | {len(values)} | {_pct(values, 0.5) * 1e3:.1f} | "
              f"{_pct(values, 0.99) * 1e3:.1f} | {max(values) * 1e3:.1f} |")
    print(f"\n| `{PAST_SLICE}` | ms |\n|---|---:|\n"
          f"| inline, unbudgeted | {cost['inline_s'] * 1e3:.1f} |\n"
          f"| offloaded, first in a run (starts a worker) | {cost['first_s'] * 1e3:.1f} |\n"
          f"| offloaded, warm worker (median) | {cost['warm_s'] * 1e3:.1f} |\n"
          f"(worker processes started for {8 if args.quick else 20} offloads in a row: "
          f"{cost['workers']:.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
