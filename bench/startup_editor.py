"""Editor start-up benchmark: whole processes, each against a plain-Qt process in the same run.

    .venv/bin/python bench/startup_editor.py            # medians of 3 (about a minute)
    .venv/bin/python bench/startup_editor.py --quick    # smoke run: one launch each, 500 nodes

Each figure is the time from launching a process to its first painted frame (the process prints
`first_frame_at <unix time> cpu <seconds>` when its first paint pass is over, saves that frame
to a PNG and quits; see builder/firstframe.py), as wall time from the launch and as CPU time of
the process up to that frame (on a shared machine the CPU figure is the steady one):
* cold start   `python -m builder.app hello.loom.json --first-frame OUT.png`: the editor as a
               person starts it (its own settings, recovery, the qasync loop), on the hello
               example, against bench/plain_window.py (a main window, a scene, a dock).
* open N nodes the same with a 2 000-node file (a grid of `data.expression` nodes, as in
               bench/editor.py), against bench/plain_window.py reading the same file with `json`
               and drawing a rectangle per node and a bezier path per edge.
Floor (issue 17): each editor figure within 2x its baseline. Both sides run with bytecode
caching on (a private PYTHONPYCACHEPREFIX, so PYTHONDONTWRITEBYTECODE in the environment does
not make every launch compile the project from source) and one unmeasured warm-up launch each;
launches alternate between the sides. `measure(quick)` returns the rows for bench/startup.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HELLO = ROOT / "resources" / "examples" / "hello.loom.json"
PLAIN = ROOT / "bench" / "plain_window.py"
FLOOR = 2.0
COLUMN = 20
DX, DY = 240.0, 130.0
LAUNCH_TIMEOUT_S = 120


def grid_file(n: int, path: Path) -> Path:
    """A workflow of `n` `data.expression` nodes in columns of 20, each wired to the node above
    and to its left neighbour (bench/editor.py's grid), saved to `path`."""
    from engine.fileformat import save
    from engine.model import Edge, Node, Workflow

    nodes, edges = [], []
    for i in range(n):
        col, row = divmod(i, COLUMN)
        nodes.append(Node(f"n{i}", "data.expression", title=f"Step {i}",
                          params={"expr": "x + y" if i else "1",
                                  "inputs": ["x", "y"] if i else []},
                          position=(col * DX, row * DY)))
        if row:
            edges.append(Edge(f"n{i - 1}", "out", f"n{i}", "x"))
        if col:
            edges.append(Edge(f"n{i - COLUMN}", "out", f"n{i}", "y"))
    save(Workflow(f"grid of {n}", nodes=nodes, edges=edges), path)
    return path


def _environment(scratch: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.update({
        "PYTHONPYCACHEPREFIX": str(scratch / "pycache"),
        # the editor's own settings, recovery files and history live here, not in the user's
        "XDG_CONFIG_HOME": str(scratch / "xdg-config"),
        "FLOWLOOM_DATA_DIR": str(scratch / "data"),
        "FLOWLOOM_CONFIG_DIR": str(scratch / "config"),
        "FLOWLOOM_HISTORY_DB": str(scratch / "history.db"),
    })
    return env


def first_frame_s(command: list[str], env: dict[str, str], out: Path) -> tuple[float, float]:
    """Launch `command`; (wall seconds from the launch, CPU seconds of the process) to the
    first frame it reports."""
    out.unlink(missing_ok=True)
    started = time.time()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=LAUNCH_TIMEOUT_S)
    reported = [line.split() for line in proc.stdout.splitlines()
                if line.startswith("first_frame_at ")]
    if proc.returncode != 0 or not reported or not out.exists():
        raise RuntimeError(f"{' '.join(command[1:])} exited {proc.returncode} without a "
                           f"first frame:\n{proc.stderr[-2000:]}")
    fields = reported[0]
    return float(fields[1]) - started, float(fields[3])


def _pair(name: str, editor: list[str], plain: list[str], env: dict[str, str], out: Path,
          repeats: int) -> list[dict[str, object]]:
    first_frame_s(plain, env, out)  # warm-up (bytecode, font caches), not measured
    first_frame_s(editor, env, out)
    base, value = [], []
    for _ in range(repeats):  # alternating, so a busy spell on the machine hits both sides
        base.append(first_frame_s(plain, env, out))
        value.append(first_frame_s(editor, env, out))
    rows = []
    for i, clock in enumerate(("wall", "CPU")):
        baseline_s = statistics.median(b[i] for b in base)
        value_s = statistics.median(v[i] for v in value)
        rows.append({"name": f"{name}, {clock}", "baseline_s": baseline_s, "value_s": value_s,
                     "ratio": value_s / baseline_s, "floor": FLOOR})
    return rows


def measure(quick: bool) -> list[dict[str, object]]:
    """The editor's start-up rows: name, baseline_s, value_s, ratio, floor (max ratio)."""
    repeats, nodes = (1, 500) if quick else (3, 2000)
    with tempfile.TemporaryDirectory(prefix="flowloom-bench-startup-") as tmp:
        scratch = Path(tmp)
        env = _environment(scratch)
        out = scratch / "frame.png"
        big = grid_file(nodes, scratch / f"grid{nodes}.loom.json")
        editor = [sys.executable, "-m", "builder.app"]
        plain = [sys.executable, str(PLAIN), str(out)]
        return [
            *_pair("editor cold start to first frame (hello)",
                   editor + [str(HELLO), "--first-frame", str(out)], plain, env, out, repeats),
            *_pair(f"editor opens {nodes:,} nodes to first frame",
                   editor + [str(big), "--first-frame", str(out)], plain + [str(big)], env,
                   out, repeats),
        ]


def table(rows: list[dict[str, object]]) -> str:
    lines = ["| figure | plain Qt | editor | ratio | floor |", "|---|---:|---:|---:|---:|"]
    for r in rows:
        mark = "" if r["ratio"] <= r["floor"] else " ✗"
        lines.append(f"| {r['name']} | {r['baseline_s']:.2f} s | {r['value_s']:.2f} s | "
                     f"{r['ratio']:.2f}x{mark} | ≤ {r['floor']:.0f}x |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="one launch per side, 500 nodes (a smoke run: no verdict)")
    args = parser.parse_args(argv)
    rows = measure(args.quick)
    sys.stdout.write(table(rows) + "\n")
    if args.quick:
        return 0
    over = [r for r in rows if r["ratio"] > r["floor"]]
    sys.stdout.write("\nall within the floor\n" if not over else
                     f"\nABOVE THE FLOOR: {', '.join(str(r['name']) for r in over)}\n")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
