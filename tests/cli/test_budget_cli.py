"""`flowloom run` with a heavy expression: Ctrl+C holds, --cpu-limit and --memory-limit apply."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.cli.conftest import ROOT, run_cli
from tests.cli.test_signals_and_tty import _LineReader
from tests.engine.test_budget import budget_workers

HEAVY = "sum([sum(range(1000000)) for i in range(150)])"
ENDLESS = "sum([sum(range(1000000)) for i in range(5000)])"  # minutes of CPU


def heavy(expr: str = HEAVY) -> dict:
    return {"format": "flowloom.workflow", "version": 1, "name": "heavy",
            "nodes": [{"id": "e", "type": "data.expression",
                       "params": {"expr": expr, "inputs": []}},
                      {"id": "o", "type": "flow.output", "params": {"name": "r"}}],
            "edges": [{"source": "e", "source_port": "out", "target": "o",
                       "target_port": "in"}]}


_budget_workers = budget_workers


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_during_a_heavy_expression_exits_130_at_once(write_workflow):
    path = write_workflow(heavy(ENDLESS))
    proc = subprocess.Popen([sys.executable, "-m", "builder", "run", path, "--json",
                             "--no-history", "--verbose", "--cpu-limit", "600"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stderr = _LineReader(proc.stderr)
        stderr.wait_for("started  e", timeout=60)
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 30
        while not _budget_workers(parent):  # the expression is working in its worker
            assert time.monotonic() < deadline, "no budget worker started"
            time.sleep(0.05)
        workers = _budget_workers(parent)
        time.sleep(0.3)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        took = time.monotonic() - t0
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    # cancelled within 0.5 s; the rest is interpreter exit on a shared machine (the expression
    # inline would hold the process for minutes)
    assert took < 5.0
    assert json.loads(out)["status"] == "cancelled"
    gone, alive = psutil.wait_procs(workers, timeout=5)
    assert not alive  # the worker was killed, not orphaned


def test_cpu_and_memory_limit_flags_set_the_runs_budget(write_workflow):
    done = run_cli("run", write_workflow(heavy()), "--no-history", "--cpu-limit", "0.4")
    assert done.returncode == 1
    assert (f"expression `{HEAVY}` used more than 0.4 s of CPU (the run's cpu limit)"
            in done.stderr)
    hog = "len([list(range(100000)) for i in range(9999)])"
    done = run_cli("run", write_workflow(heavy(hog)), "--no-history", "--memory-limit", "48",
                   "--cpu-limit", "30")
    assert done.returncode == 1
    assert (f"expression `{hog}` used more than 48 MB of memory (the run's memory limit)"
            in done.stderr)


def test_a_bad_limit_flag_is_a_usage_error(write_workflow):
    done = run_cli("run", write_workflow(heavy("1")), "--memory-limit", "4")
    assert done.returncode == 2
    assert "argument --memory-limit: must be at least 16, got 4" in done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_budget_worker_dies_with_a_flowloom_killed_by_sigkill(write_workflow):
    path = write_workflow(heavy(ENDLESS))
    proc = subprocess.Popen([sys.executable, "-m", "builder", "run", path, "--no-history",
                             "--quiet", "--cpu-limit", "600"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[psutil.Process] = []
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 60
        while not workers:  # the expression is working in its worker
            assert time.monotonic() < deadline, "no budget worker started"
            assert proc.poll() is None, "flowloom ended before its worker started"
            workers = _budget_workers(parent)
            time.sleep(0.05)
        proc.kill()  # no chance to clean up: only the kernel's parent-death signal is left
        proc.wait(timeout=10)
        gone, alive = psutil.wait_procs(workers, timeout=10)
        assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], \
            "an orphaned budget worker kept computing"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for worker in workers:
            if worker.is_running():
                worker.kill()
