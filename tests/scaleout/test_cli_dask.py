"""`flowloom cluster local --workers 2`, then `flowloom run FILE --dask ADDRESS` / FLOWLOOM_DASK."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import distributed

from tests.cli.conftest import ROOT, cli_env, run_cli
from tests.scaleout.support import foreach_doc, write_plugin


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _address_of(proc: subprocess.Popen[str], deadline_s: float = 60) -> str:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        if line.startswith("tcp://"):
            return line.strip()
        if proc.poll() is not None:
            break
    raise AssertionError(f"no address printed; stderr: {proc.stderr.read() if proc.stderr else ''}")


def test_the_cli_runs_cpu_bound_nodes_on_a_cluster_it_started_itself(tmp_path):
    plugins = tmp_path / "nodes"
    write_plugin(plugins)
    doc = foreach_doc(12, step={"type": "user.churn", "params": {"ms": 5}}, parallel=4)
    doc["nodes"].append({"id": "pid", "type": "flow.output", "params": {"name": "pid"}})
    doc["edges"].append({"source": "step", "source_port": "pid", "target": "each",
                         "target_port": "result"})
    doc["edges"] = [e for e in doc["edges"] if not (e["source"] == "step"
                                                    and e["source_port"] == "out")]
    doc["edges"].append({"source": "each", "source_port": "results", "target": "pid",
                         "target_port": "in"})
    path = tmp_path / "wf.loom.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    env = cli_env(FLOWLOOM_NODES_DIR=str(plugins))
    proc = subprocess.Popen([sys.executable, "-m", "builder", "cluster", "local", "--workers",
                             "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        address = _address_of(proc)
        assert address.startswith("tcp://127.0.0.1:")
        with distributed.Client(address, set_as_default=False, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            worker_pids = set(client.run(os.getpid).values())
        by_flag = run_cli("run", str(path), "--json", "--no-history", "-q", "--allow-run",
                          "--dask", address,
                          env=env, timeout=120)
        assert by_flag.returncode == 0, by_flag.stderr
        pids = json.loads(by_flag.stdout)["outputs"]["pid"]
        assert len(pids) == 12 and set(pids) <= worker_pids
        by_env = run_cli("run", str(path), "--json", "--no-history", "-q", "--allow-run",
                         env={**env, "FLOWLOOM_DASK": address}, timeout=120)
        assert by_env.returncode == 0, by_env.stderr
        assert set(json.loads(by_env.stdout)["outputs"]["pid"]) <= worker_pids
        local = run_cli("run", str(path), "--json", "--no-history", "-q", "--allow-run", env=env)
        assert set(json.loads(local.stdout)["outputs"]["pid"]) & worker_pids == set()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


def test_an_unreachable_scheduler_is_one_sentence_and_exit_2(tmp_path):
    path = tmp_path / "wf.loom.json"
    path.write_text(json.dumps({"format": "flowloom.workflow", "version": 1, "name": "x",
                                "nodes": [{"id": "v", "type": "data.value"}]}),
                    encoding="utf-8")
    address = f"tcp://127.0.0.1:{_free_port()}"
    t0 = time.monotonic()
    proc = run_cli("run", str(path), "--dask", address, "--no-history", env=cli_env())
    assert proc.returncode == 2
    assert f"cannot reach the Dask scheduler at {address}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert time.monotonic() - t0 < 40
