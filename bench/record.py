"""The record's cost per node in a headless `flowloom run` (issue 17): CPU time of
`flowloom run chain.loom.json --json --history-db DB` minus the same with `--no-record`, on a
warm history database, runs alternating.

    .venv/bin/python bench/record.py [--nodes 10000] [--runs 3] [--dir DIR]
                                     [--baseline OTHER/.venv/bin/flowloom]

`--baseline`: the same figures for another checkout's flowloom (its own database), its runs
alternating with these.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from startup import _engine_bench  # noqa: E402

from engine import save  # noqa: E402


def cpu(cmd: list[str], env: dict[str, str]) -> float:
    """User + system CPU seconds of one child process."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read() if proc.stderr else b""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {err.decode()[-2000:]}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--baseline", default=None, help="another flowloom to compare with")
    args = parser.parse_args()
    work = Path(args.dir or tempfile.mkdtemp(prefix="record-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    chain = work / "chain.loom.json"
    save(_engine_bench().chain(args.nodes), chain)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(work / "pycache"))
    flowlooms = {"this": str(Path(sys.executable).with_name("flowloom"))}
    if args.baseline:
        flowlooms["baseline"] = args.baseline
    commands = {name: [exe, "run", str(chain), "--json", "--history-db",
                       str(work / f"history-{name}.db")] for name, exe in flowlooms.items()}
    for base in commands.values():  # warm: the databases, the .pyc files
        for _ in range(2):
            cpu(base, env)
            cpu(base + ["--no-record"], env)
    times: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in commands}
    for _ in range(args.runs):
        for name, base in commands.items():
            times[name][0].append(cpu(base, env))
            times[name][1].append(cpu(base + ["--no-record"], env))
    for name, (with_record, without) in times.items():
        per = sorted((a - b) / args.nodes * 1e6 for a, b in zip(with_record, without))
        print(f"{name}: run --json {', '.join(f'{t:.3f}' for t in with_record)} s CPU; "
              f"--no-record {', '.join(f'{t:.3f}' for t in without)} s CPU")
        print(f"{name}: record {per[0]:.1f}-{per[-1]:.1f} us/node "
              f"(median {per[len(per) // 2]:.1f})")
    print(f"load: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
