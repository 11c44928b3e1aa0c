"""Hostile-input benchmark: how many mutated workflow files give a traceback or hang.

    .venv/bin/python bench/fuzz.py               # 2 400 mutations + the named cases, ~5 min
    .venv/bin/python bench/fuzz.py --count 300   # a quick look
    .venv/bin/python bench/fuzz.py --big         # also 10-50 MB strings and 50 000 nodes

Mutations of the shipped examples and templates (tests/engine/fuzzing.py: truncation, wrong
types, huge numbers, NaN, deep nesting, unicode, duplicate keys, long strings, many nodes and
edges, huge expressions) go through `check_file`: load; save and load again; compile; run the
ones whose nodes touch neither network, disk nor a model, recorded in a real history database.
Every case runs in a worker process with a 4 GB address-space limit; a case that spends more
than --hang-s seconds of CPU (or six times that in wall time) is a hang: the worker is killed
and a new one carries on.

Then the named cases the adversarial report listed run through the real `flowloom` command in
child processes (wall time and peak memory of each), and two editor pastes run off screen.

A traceback is any exception that is not the engine's own error type (WorkflowFileError,
CompileError, problems), or a CLI that prints "Traceback" or exits 1 without a sentence.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import resource
import select
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEMORY_LIMIT = 4 << 30


# --- the worker process -------------------------------------------------------------------
def case_text(seed: int, index: int, big: bool) -> tuple[str, str, bytes]:
    from tests.engine.fuzzing import KINDS, SHIPPED, mutate

    rng = random.Random(seed * 1_000_003 + index)
    path = rng.choice(SHIPPED)
    kind = KINDS[index % len(KINDS)]
    return path.name, kind, mutate(path.read_text(encoding="utf-8"), kind, rng, big)


def worker(seed: int, big: bool) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    import logging

    logging.disable(logging.CRITICAL)  # a worker reports through its result lines only
    from engine.history import HistoryStore
    from nodes import default_registry
    from tests.engine.fuzzing import check_file

    registry = default_registry()
    folder = Path(tempfile.mkdtemp(prefix="flowloom-fuzz-"))
    store = HistoryStore.open(folder / "history.db")
    for line in sys.stdin:
        index = int(line)
        t0 = time.perf_counter()
        report: dict[str, Any] = {"index": index}
        try:
            name, kind, data = case_text(seed, index, big)
            report.update(file=name, kind=kind, size=len(data))
            path = folder / f"case{index}.loom.json"
            path.write_bytes(data)
            outcome = check_file(path, registry, store)
            report.update(stage=outcome.stage, detail=outcome.detail[:200])
        except BaseException as exc:  # noqa: B036 - counting every escape is the point
            if isinstance(exc, KeyboardInterrupt):
                raise
            frames = traceback.extract_tb(exc.__traceback__)
            where = next((f"{Path(f.filename).name}:{f.lineno} {f.name}"
                          for f in reversed(frames) if str(ROOT) in f.filename
                          and "fuzzing.py" not in f.filename), "?")
            from engine.errors import WorkflowFileError

            # a file that loads but whose save is refused is its own failure, not a crash
            stage = "unsaveable" if isinstance(exc, WorkflowFileError) else "traceback"
            report.update(stage=stage, error=type(exc).__name__,
                          detail=f"{str(exc)[:160]}", where=where,
                          step=next((f.name for f in reversed(frames)
                                     if "fuzzing.py" in f.filename), "?"))
        report["seconds"] = round(time.perf_counter() - t0, 3)
        for leftover in folder.glob(f"*case{index}.loom.json"):
            leftover.unlink()
        sys.stdout.write(json.dumps(report) + "\n")
        sys.stdout.flush()


# --- the parent ---------------------------------------------------------------------------
def fuzz(count: int, seed: int, big: bool, hang_s: float) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    todo = collections.deque(range(count))
    while todo:
        child = subprocess.Popen([sys.executable, __file__, "--worker", "--seed", str(seed)]
                                 + (["--big"] if big else []), stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert child.stdin is not None and child.stdout is not None
        while todo:
            index = todo.popleft()
            child.stdin.write(f"{index}\n")
            child.stdin.flush()
            line, hung = _answer(child, hang_s)
            if line:
                results.append(json.loads(line))
                continue
            child.kill()
            child.wait()
            results.append({"index": index, "stage": "hang" if hung else "died",
                            "detail": f"no answer in {hang_s:g} s" if hung else
                            f"the worker died (exit {child.returncode})",
                            "seconds": hang_s if hung else None})
            break
        else:
            child.stdin.close()
            child.wait()
    for r in results:  # label hangs and deaths with the case they were on
        if r["stage"] in ("hang", "died"):
            name, kind, data = case_text(seed, r["index"], big)
            r.update(file=name, kind=kind, size=len(data))
    return results


def _memory_cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _answer(child: subprocess.Popen[str], hang_s: float) -> tuple[str, bool]:
    """The worker's result line, or ("", hung). A case hangs when it spends more than `hang_s`
    of CPU time (the machine is shared, so wall time alone would blame the neighbours), or
    six times that in wall time."""
    assert child.stdout is not None
    process = psutil.Process(child.pid)
    cpu0 = sum(process.cpu_times()[:2])
    started = time.monotonic()
    while True:
        ready, _, _ = select.select([child.stdout], [], [], 0.25)
        if ready:
            line = child.stdout.readline()
            return line, False
        try:
            cpu = sum(process.cpu_times()[:2]) - cpu0
        except psutil.NoSuchProcess:
            return "", False
        if cpu > hang_s or time.monotonic() - started > 6 * hang_s:
            return "", True


def _cli(args: list[str], timeout: float) -> dict[str, Any]:
    """Run `flowloom ARGS` in a child: exit code, seconds, peak MB, stdout/stderr heads."""
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "builder", *args], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
                             preexec_fn=_memory_cap)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        return {"exit": None, "seconds": round(time.perf_counter() - t0, 1), "hang": True,
                "stdout": out[:300].decode("utf-8", "replace"),
                "stderr": err[-300:].decode("utf-8", "replace")}
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"exit": child.returncode, "seconds": round(time.perf_counter() - t0, 2),
            "hang": False, "peak_mb_children": usage.ru_maxrss // 1024,
            "printed_traceback": b"Traceback" in err,
            "stdout": out[:300].decode("utf-8", "replace"),
            "stderr": err[-300:].decode("utf-8", "replace")}


def _with_expression(expr: str, output: bool = False) -> dict[str, Any]:
    nodes = [{"id": "start", "type": "flow.start", "params": {"inputs": {"x": {"a": 1}}}},
             {"id": "e", "type": "data.expression", "params": {"expr": expr}},
             {"id": "out", "type": "flow.output", "params": {"name": "result"}}]
    edges = [{"source": "start", "source_port": "out", "target": "e", "target_port": "x"},
             {"source": "e", "source_port": "out", "target": "out", "target_port": "in"}]
    return {"format": "flowloom.workflow", "version": 1, "name": "hostile", "nodes": nodes,
            "edges": edges}


def named_cases(folder: Path, hang_s: float) -> list[dict[str, Any]]:
    """The adversarial report's cases, through the real command line."""
    hello = (ROOT / "resources/examples/hello.loom.json").read_text()
    cases: list[tuple[str, list[str], bytes | str]] = [
        ("validate: '-'*100000+'1' written out", ["validate", "{f}", "--json"],
         json.dumps(_with_expression("-" * 100_000 + "1"))),
        ("validate: a 3 000-term sum", ["validate", "{f}", "--json"],
         json.dumps(_with_expression(" + ".join(["1"] * 3000)))),
        ("validate: a 50 MB expression", ["validate", "{f}", "--json"],
         json.dumps(_with_expression("1 +" * 16_000_000 + " 1"))),
        ("validate: a 5 000-digit integer", ["validate", "{f}", "--json"],
         hello.replace('"version": 1', '"version": 1, "n": ' + "9" * 5000)),
        ("validate: NaN in params", ["validate", "{f}", "--json"],
         hello.replace('"n": 3', '"n": NaN')),
        ("validate: 100 000 deep", ["validate", "{f}", "--json"],
         hello.replace('"n": 3', '"n": ' + "[" * 100_000 + "]" * 100_000)),
        ("run: x.keys()", ["run", "{f}", "--json", "--history-db", "{db}"],
         json.dumps(_with_expression("x.keys()"))),
        ("run --json: 2**100000 reaches flow.output", ["run", "{f}", "--json", "-q",
                                                       "--no-history"],
         json.dumps(_with_expression("2**100000"))),
        ("run: 2**100000 printed plainly", ["run", "{f}", "-q", "--no-history"],
         json.dumps(_with_expression("2**100000"))),
        ("run --json: a lone surrogate output", ["run", "{f}", "--json", "-q",
                                                 "--no-history"],
         json.dumps(_with_expression("'\\ud800'"))),
    ]
    rows = []
    for index, (label, args, text) in enumerate(cases):
        path = folder / f"named{index}.loom.json"
        path.write_bytes(text.encode("utf-8", "surrogatepass") if isinstance(text, str)
                         else text)
        db = folder / f"named{index}.db"
        result = _cli([a.format(f=path, db=db) for a in args], timeout=max(hang_s, 120))
        result["label"] = label
        result["traceback"] = (result.get("printed_traceback", False) or
                               (result["exit"] == 1 and "validate" in args))
        if db.exists():
            import sqlite3

            with sqlite3.connect(db) as conn:
                result["history"] = [r[0] for r in conn.execute("select status from runs")]
        rows.append(result)
    rows.extend(_pastes(folder, hang_s))
    return rows


_PASTE = """
import sys, time, json
from PySide6.QtWidgets import QApplication
from PySide6.QtGui import QUndoStack
app = QApplication([])
from builder.canvas import Canvas
from builder.canvas.editing import paste_text
from builder.theme import dark_theme
from engine import fileformat
from engine.corenodes import register_core
from engine.registry import Registry
canvas = Canvas(fileformat.load("resources/examples/hello.loom.json").workflow,
                register_core(Registry()), QUndoStack(), dark_theme())
said = []
canvas.status_message.connect(said.append)
canvas.show()
text = open(sys.argv[1], encoding="utf-8").read()
t0 = time.perf_counter()
ids = paste_text(canvas, text, (40, 40))
app.processEvents()
print(json.dumps({"pasted": len(ids), "seconds": time.perf_counter() - t0,
                  "said": [s[:120] for s in said]}))
"""


def _pastes(folder: Path, hang_s: float) -> list[dict[str, Any]]:
    node = {"type": "data.expression", "params": {"expr": "x"}, "position": [0, 0]}
    many = {"nodes": [dict(node, id=f"n{i}", position=[i * 10 % 4000, i // 400 * 120])
                      for i in range(5000)]}
    title = {"nodes": [dict(node, id="n1", title="t" * 50_000_000)]}
    rows = []
    for label, doc in (("editor: paste 5 000 nodes", many),
                       ("editor: paste a 50 MB title", title)):
        path = folder / "paste.json"
        path.write_text(json.dumps(doc))
        t0 = time.perf_counter()
        child = subprocess.run([sys.executable, "-c", _PASTE, str(path)], cwd=ROOT,
                               preexec_fn=_memory_cap,
                               capture_output=True, text=True, timeout=max(hang_s, 120) * 3,
                               env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
        row = {"label": label, "exit": child.returncode,
               "seconds": round(time.perf_counter() - t0, 2),
               "stdout": child.stdout[-300:], "stderr": child.stderr[-300:],
               "traceback": "Traceback" in child.stderr}
        rows.append(row)
    return rows


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    stages = collections.Counter(r["stage"] for r in results)
    tracebacks = [r for r in results if r["stage"] in ("traceback", "died", "unsaveable")]
    kinds = collections.Counter((r["error"], r.get("step", "?"), r.get("where", "?"))
                                for r in tracebacks if "error" in r)
    slow = sorted((r for r in results if r.get("seconds")), key=lambda r: -r["seconds"])[:5]
    return {"cases": len(results), "stages": dict(stages),
            "tracebacks": sum(r["stage"] in ("traceback", "died") for r in results),
            "unsaveable": stages.get("unsaveable", 0),
            "hangs": stages.get("hang", 0),
            "traceback_kinds": [f"{n} x {e} in {s} ({w})" for (e, s, w), n in kinds.most_common()],
            "by_kind": dict(collections.Counter(r["kind"] for r in tracebacks + [
                r for r in results if r["stage"] == "hang"])),
            "slowest": [f"{r['seconds']} s {r.get('kind')} {r.get('file')} -> {r['stage']}"
                        for r in slow]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2400)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--big", action="store_true")
    parser.add_argument("--hang-s", type=float, default=10.0)
    parser.add_argument("--no-named", action="store_true", help="skip the named CLI cases")
    parser.add_argument("--json", metavar="OUT", help="also write every result to OUT")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.seed, args.big)
        return
    t0 = time.perf_counter()
    results = fuzz(args.count, args.seed, args.big, args.hang_s)
    summary = summarise(results)
    print(f"mutations: {summary['cases']} in {time.perf_counter() - t0:.0f} s "
          f"(seed {args.seed}{', big' if args.big else ''})")
    print(f"  outcomes: {summary['stages']}")
    print(f"  tracebacks: {summary['tracebacks']}   loaded but unsaveable: "
          f"{summary['unsaveable']}   hangs over {args.hang_s:g} s: {summary['hangs']}")
    for line in summary["traceback_kinds"]:
        print(f"    {line}")
    print(f"  by mutation: {summary['by_kind']}")
    print("  slowest: " + "; ".join(summary["slowest"]))
    named: list[dict[str, Any]] = []
    if not args.no_named:
        with tempfile.TemporaryDirectory(prefix="flowloom-named-") as folder:
            named = named_cases(Path(folder), args.hang_s)
        print("named cases:")
        for row in named:
            verdict = ("TRACEBACK" if row["traceback"] else "HANG" if row.get("hang")
                       else "ok")
            tail = (row["stderr"].strip().splitlines() or [""])[-1][:110]
            extra = f" history={row['history']}" if "history" in row else ""
            print(f"  {verdict:9} {row['label']}: exit {row['exit']}, {row['seconds']} s"
                  f"{extra} | {tail or row['stdout'].strip()[:110]}")
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "results": results,
                                               "named": named}, indent=1))


if __name__ == "__main__":
    main()
