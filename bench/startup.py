"""Whole-process benchmark: `flowloom` as a person starts it, against baselines in the same run.

    .venv/bin/python bench/startup.py                  # headless + editor parts, medians of 3
    .venv/bin/python bench/startup.py --part headless  # only the headless figures
    .venv/bin/python bench/startup.py --quick          # smoke run: small sizes, one repeat
    .venv/bin/python bench/startup.py --cpu            # processes timed by their CPU time

Every figure launches real processes (the `flowloom` entry point next to this Python, else
`python -m builder`), with the run history recorded into a database in a temporary folder that
already holds earlier runs (one untimed warm-up run per file first), and bytecode caching on
for every process (a private PYTHONPYCACHEPREFIX there, as in bench/startup_editor.py).
Headless rows:

* hello      `flowloom run hello.loom.json` vs a Python that only imports what a run needs
             (asyncio, networkx, httpx, simpleeval, jinja2) — floor <= 1.3x
* chain      `flowloom run` of an N-node `data.expression` chain with --json: its time beyond the
             hello run, per node, vs the in-process engine per node (Run.execute) — floor <= 3x
* validate   `flowloom validate` of the chain beyond `validate hello`, per node — <= 30 us/node
* compile    compile_workflow of the dense layered DAG (10 000 nodes, 475 200 edges) — < 2 s
* foreach    `flowloom run --json` of a foreach over N items beyond hello, per item, vs the
             same workflow run in process, per item — floor <= 3x
* async      the engine's per-node cost on a 10 000-node chain of `util.delay` 0 s nodes (each
             runs as a task) vs the minimal asyncio scheduler of bench/engine.py, in process,
             events on (wall clock on both sides, also with --cpu) — floor <= 2x

The editor rows come from bench/startup_editor.py's `measure(quick) -> list[dict]` (imported
only for --part editor/all, skipped with a note when the file is absent). Each row is a dict
with "measure", "figure", "baseline", "result", "floor" (strings) and "met" (bool).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from engine import Edge, Node, Run, Workflow, compile_workflow, save  # noqa: E402

HELLO = ROOT / "resources" / "examples" / "hello.loom.json"
FLOOR_IMPORTS = "import asyncio, networkx, httpx, simpleeval, jinja2"

MAX_HELLO_RATIO = 1.3
MAX_CHAIN_RATIO = 3.0
MAX_VALIDATE_US = 30.0
MAX_COMPILE_S = 2.0
MAX_FOREACH_RATIO = 3.0
MAX_ASYNC_RATIO = 2.0

DENSE_WIDTH = 100  # layers of 100 nodes, each reading 48 nodes of the layer before
DENSE_READS = 48


def _engine_bench() -> Any:
    """bench/engine.py as a module (its workloads and minimal scheduler)."""
    spec = importlib.util.spec_from_file_location("bench_engine", HERE / "engine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- workloads ----------------------------------------------------------------------------
def foreach_workflow(items: int) -> Workflow:
    nodes = [Node("items", "data.value", params={"value": list(range(items))}),
             Node("each", "flow.foreach", params={"parallel": 1}),
             Node("square", "data.expression", params={"expr": "x * x"}),
             Node("total", "data.expression", params={"expr": "sum(x)"}),
             Node("out", "flow.output", params={"name": "total"})]
    edges = [Edge("items", "out", "each", "items"), Edge("each", "item", "square", "x"),
             Edge("square", "out", "each", "result"), Edge("each", "results", "total", "x"),
             Edge("total", "out", "out", "in")]
    return Workflow("foreach", nodes=nodes, edges=edges)


def async_chain(n: int) -> Workflow:
    """A value, then n-1 `util.delay` nodes of 0 s in a chain: every node runs as a task."""
    nodes = [Node("d0", "data.value", params={"value": 1})]
    nodes += [Node(f"d{i}", "util.delay", params={"seconds": 0}) for i in range(1, n)]
    edges = [Edge(f"d{i - 1}", "out", f"d{i}", "in") for i in range(1, n)]
    return Workflow("async chain", nodes=nodes, edges=edges)


def dense_layered(n: int, width: int = DENSE_WIDTH, reads: int = DENSE_READS) -> Workflow:
    """Layers of `width` nodes; each node reads `reads` distinct nodes of the layer before."""
    names = [f"a{k}" for k in range(reads)]
    nodes = [Node(f"l0_{j}", "data.expression", params={"expr": str(j), "inputs": []})
             for j in range(width)]
    edges = []
    for i in range(1, n // width):
        for j in range(width):
            nid = f"l{i}_{j}"
            nodes.append(Node(nid, "data.expression",
                              params={"expr": "a0 + a1", "inputs": names}))
            for k in range(reads):
                edges.append(Edge(f"l{i - 1}_{(j + k) % width}", "out", nid, f"a{k}"))
    return Workflow("dense", nodes=nodes, edges=edges)


# --- processes ----------------------------------------------------------------------------
def flowloom_command() -> list[str]:
    script = Path(sys.executable).with_name("flowloom")
    return [str(script)] if script.exists() else [sys.executable, "-m", "builder"]


class Processes:
    """Launches `flowloom` (and plain Pythons) in a scratch folder with its own history."""

    def __init__(self, folder: Path, cpu: bool = False) -> None:
        self.folder = folder
        self.cpu = cpu  # time the child's CPU (user + system) instead of the wall clock
        plugins = folder / "no-plugins"
        plugins.mkdir(exist_ok=True)
        self.env = dict(os.environ, FLOWLOOM_HISTORY_DB=str(folder / "history.db"),
                        FLOWLOOM_NODES_DIR=str(plugins),
                        # bytecode caching on for every process, as bench/startup_editor.py
                        # does: PYTHONDONTWRITEBYTECODE in this environment made each launch
                        # compile the project from source (~0.3 s against hello, not against
                        # the import floor, whose modules all come with bytecode)
                        PYTHONPYCACHEPREFIX=str(folder / "pycache"))
        self.env.pop("PYTHONPROFILEIMPORTTIME", None)
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)

    def time(self, argv: list[str]) -> float:
        """Seconds from launch to exit of one process (it must exit 0): wall clock, or with
        `cpu` its user + system CPU time (steadier when other work shares the machine)."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(argv, cwd=self.folder, env=self.env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=600)
        seconds = time.perf_counter() - t0
        if self.cpu:
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: "
                               f"{proc.stderr.decode(errors='replace')[-2000:]}")
        return seconds

    def flowloom(self, *args: str) -> float:
        return self.time([*flowloom_command(), *args])

    def python(self, code: str) -> float:
        return self.time([sys.executable, "-c", code])


def median_of(reps: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(reps))


def interleaved(reps: int, *measures: Callable[[], float]) -> list[float]:
    """Medians of each measure, taken in turns so machine noise hits them alike."""
    samples: list[list[float]] = [[] for _ in measures]
    for _ in range(reps):
        for i, measure in enumerate(measures):
            samples[i].append(measure())
    return [statistics.median(s) for s in samples]


def _engine_run_s(workflow: Workflow, registry: Any,
                  clock: Callable[[], float] = time.perf_counter) -> float:
    """One in-process run of `workflow` (compiled beforehand), events on, loop start excluded."""
    compiled = compile_workflow(workflow, registry)

    async def main() -> float:
        run = Run(compiled)
        run.subscribe(lambda event: None)
        t0 = clock()
        result = await run.execute()
        seconds = clock() - t0
        if result.status != "succeeded":
            raise RuntimeError(f"benchmark run failed: {result.error}")
        return seconds

    gc.collect()
    return asyncio.run(main())


# --- the headless part --------------------------------------------------------------------
def _row(measure: str, figure: str, baseline: str, result: str, floor: str,
         met: bool) -> dict[str, Any]:
    return {"measure": measure, "figure": figure, "baseline": baseline, "result": result,
            "floor": floor, "met": met}


def measure_headless(quick: bool, cpu: bool = False) -> list[dict[str, Any]]:
    from nodes import default_registry

    reps = 1 if quick else 3
    chain_n, items, dense_n = (1000, 2000, 1000) if quick else (10_000, 20_000, 10_000)
    registry = default_registry(plugins=False)
    # in-process figures on the same clock as the processes (CPU time of this one, or wall)
    clock = time.process_time if cpu else time.perf_counter
    bench_engine = _engine_bench()
    rows = []
    with tempfile.TemporaryDirectory(prefix="flowloom-startup-") as tmp:
        folder = Path(tmp)
        procs = Processes(folder, cpu)
        chain_path, foreach_path = folder / "chain.loom.json", folder / "foreach.loom.json"
        chain_wf, foreach_wf = bench_engine.chain(chain_n), foreach_workflow(items)
        save(chain_wf, chain_path)
        save(foreach_wf, foreach_path)
        hello = str(HELLO)
        for path in (hello, chain_path, foreach_path):  # warm-up: disk cache, history rows
            procs.flowloom("run", str(path), "--json")

        # (a) hello vs the import floor
        run_s, floor_s = interleaved(reps, lambda: procs.flowloom("run", hello),
                                     lambda: procs.python(FLOOR_IMPORTS))
        ratio = run_s / floor_s
        rows.append(_row("`flowloom run hello.loom.json`", f"{run_s:.3f} s",
                         f"{floor_s:.3f} s (imports only)", f"{ratio:.2f}×",
                         f"≤ {MAX_HELLO_RATIO}×", ratio <= MAX_HELLO_RATIO))

        # (b) the chain through the CLI, per node beyond the hello run, vs in process
        cli_s, hello_s = interleaved(reps, lambda: procs.flowloom("run", str(chain_path),
                                                                   "--json"),
                                     lambda: procs.flowloom("run", hello, "--json"))
        engine_s = median_of(reps, lambda: _engine_run_s(chain_wf, registry, clock))
        cli_us = (cli_s - hello_s) / chain_n * 1e6
        engine_us = engine_s / chain_n * 1e6
        ratio = cli_us / engine_us
        rows.append(_row(f"{chain_n:,}-node chain, `flowloom run --json` beyond hello",
                         f"{cli_us:.1f} µs/node ({cli_s:.2f} s)",
                         f"{engine_us:.1f} µs/node in process", f"{ratio:.2f}×",
                         f"≤ {MAX_CHAIN_RATIO}×", ratio <= MAX_CHAIN_RATIO))

        # (c) validate, per node beyond validating hello
        val_s, val_hello_s = interleaved(reps, lambda: procs.flowloom("validate",
                                                                       str(chain_path)),
                                         lambda: procs.flowloom("validate", hello))
        val_us = (val_s - val_hello_s) / chain_n * 1e6
        rows.append(_row(f"`flowloom validate` of the {chain_n:,}-node chain beyond hello",
                         f"{val_us:.1f} µs/node ({val_s:.2f} s)",
                         f"{val_hello_s:.3f} s (hello)", f"{val_us:.1f} µs/node",
                         f"≤ {MAX_VALIDATE_US:.0f} µs/node", val_us <= MAX_VALIDATE_US))

        # (d) compile of the dense layered DAG
        dense = dense_layered(dense_n)

        def compile_once() -> float:
            gc.collect()
            t0 = clock()
            compiled = compile_workflow(dense, registry)
            seconds = clock() - t0  # taken before the plan is freed: freeing is not compiling
            del compiled
            return seconds

        compile_s = median_of(reps, compile_once)
        rows.append(_row(f"compile_workflow, dense layered DAG ({len(dense.nodes):,} nodes, "
                         f"{len(dense.edges):,} edges)", f"{compile_s:.2f} s", "-",
                         f"{compile_s:.2f} s", f"< {MAX_COMPILE_S:.0f} s",
                         compile_s < MAX_COMPILE_S))

        # (e) foreach through the CLI, per item beyond hello, vs in process
        fe_s, fe_hello_s = interleaved(reps, lambda: procs.flowloom("run", str(foreach_path),
                                                                     "--json"),
                                       lambda: procs.flowloom("run", hello, "--json"))
        fe_engine_s = median_of(reps, lambda: _engine_run_s(foreach_wf, registry, clock))
        fe_us = (fe_s - fe_hello_s) / items * 1e6
        fe_engine_us = fe_engine_s / items * 1e6
        ratio = fe_us / fe_engine_us
        rows.append(_row(f"foreach over {items:,} items, `flowloom run --json` beyond hello",
                         f"{fe_us:.1f} µs/item ({fe_s:.2f} s)",
                         f"{fe_engine_us:.1f} µs/item in process", f"{ratio:.2f}×",
                         f"≤ {MAX_FOREACH_RATIO}×", ratio <= MAX_FOREACH_RATIO))

    # (f) async per-node cost vs the minimal scheduler (bench/engine.py's baseline)
    compiled = compile_workflow(async_chain(chain_n), registry)
    job = bench_engine.baseline_job(compiled)
    eng_s, base_s = interleaved(reps, lambda: bench_engine.engine_time(compiled, True)[0],
                                lambda: bench_engine._timed(job))
    ratio = eng_s / base_s
    rows.append(_row(f"async nodes: {chain_n:,}-node chain of util.delay(0), in process",
                     f"{eng_s / chain_n * 1e6:.1f} µs/node",
                     f"{base_s / chain_n * 1e6:.1f} µs/node (minimal scheduler)",
                     f"{ratio:.2f}×", f"≤ {MAX_ASYNC_RATIO}×", ratio <= MAX_ASYNC_RATIO))
    return rows


# --- the editor part ----------------------------------------------------------------------
def measure_editor(quick: bool) -> list[dict[str, Any]] | None:
    """bench/startup_editor.py's rows, or None (after a note) when that file is absent."""
    path = HERE / "startup_editor.py"
    if not path.exists():
        print("note: bench/startup_editor.py is absent; the editor part is skipped.\n")
        return None
    spec = importlib.util.spec_from_file_location("startup_editor", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.measure(quick))


# --- report -------------------------------------------------------------------------------
COLUMNS = ("measure", "figure", "baseline", "result", "floor")


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| measure | figure | baseline (same run) | result | floor | met |",
             "|---|---:|---:|---:|---:|:---:|"]
    for row in rows:
        cells = [str(row.get(key, "-")) for key in COLUMNS]
        cells.append("yes" if row.get("met") else "**no**")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat")
    parser.add_argument("--part", choices=("headless", "editor", "all"), default="all")
    parser.add_argument("--cpu", action="store_true",
                        help="time processes by their CPU time, not the wall clock (headless)")
    args = parser.parse_args(argv)
    reps = 1 if args.quick else 3
    print(f"Python {sys.version.split()[0]}, {sys.platform}, {os.cpu_count()} cores; "
          f"medians of {reps}; processes timed by {'CPU time' if args.cpu else 'wall clock'}; "
          f"the machine is shared, so figures move by 10-30 %.\n")
    rows: list[dict[str, Any]] = []
    if args.part in ("headless", "all"):
        headless = measure_headless(args.quick, args.cpu)
        print("Headless\n\n" + table(headless) + "\n")
        rows += headless
    if args.part in ("editor", "all"):
        editor = measure_editor(args.quick)
        if editor is not None:
            print("Editor\n\n" + table(editor) + "\n")
            rows += editor
    missed = [row["measure"] for row in rows if not row.get("met")]
    if missed:
        print("Floors missed:\n" + "\n".join(f"- {m}" for m in missed))
    else:
        print("Every floor met" + (" at these (quick) sizes." if args.quick else "."))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
