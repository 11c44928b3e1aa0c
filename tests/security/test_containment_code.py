"""code.python ends the whole process tree its code started: on finish, failure, timeout and
cancel, including a process that left for a session of its own; a child holding stdout open
does not turn a finished node into a timeout."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest

from engine.compile import compile_workflow
from engine.context import Services
from engine.executor import Run
from engine.model import Node
from tests.nodes.flowrun import REGISTRY, error_of, run_one, wf
from tests.security.containment_support import (
    pids_in,
    spawning_code,
    wait_all_gone,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")



def _assert_tree_ended(piddir) -> None:
    pids = pids_in(piddir)
    assert len(pids) == 3, pids
    assert wait_all_gone(pids) == [], "processes the code started outlived the node"


@pytest.mark.asyncio
async def test_a_finished_node_leaves_no_process_and_is_not_held_by_an_open_stdout(piddir):
    t0 = time.monotonic()
    result, _ = await run_one("code.python", {"code": spawning_code(piddir), "timeout_s": 60},
                              services=Services(base_dir=piddir.parent), limit_s=45)
    elapsed = time.monotonic() - t0
    assert result.ok, error_of(result)
    assert result.outputs["out"] == "done"
    assert "spawned" in result.outputs["stdout"]
    # The plain child still held stdout when the code ended; the node must not wait for it
    # (before: it waited into timeout_s and failed with "ran longer than timeout_s").
    assert elapsed < 30, elapsed
    _assert_tree_ended(piddir)


@pytest.mark.asyncio
async def test_a_failing_node_leaves_no_process(piddir):
    code = spawning_code(piddir, tail="raise ValueError('boom')")
    result, _ = await run_one("code.python", {"code": code, "timeout_s": 60},
                              services=Services(base_dir=piddir.parent), limit_s=45)
    assert not result.ok
    assert "ValueError: boom" in error_of(result)
    _assert_tree_ended(piddir)


@pytest.mark.asyncio
async def test_a_timed_out_node_leaves_no_process(piddir):
    code = spawning_code(piddir, tail="time.sleep(300)")
    result, _ = await run_one("code.python", {"code": code, "timeout_s": 3},
                              services=Services(base_dir=piddir.parent), limit_s=45)
    assert "ran longer than timeout_s (3 s) and was stopped" in error_of(result)
    _assert_tree_ended(piddir)


@pytest.mark.asyncio
async def test_a_cancelled_node_leaves_no_process(piddir):
    code = spawning_code(piddir, tail="time.sleep(300)")
    node = Node("n", "code.python", params={"code": code, "timeout_s": 120})
    run = Run(compile_workflow(wf(node), REGISTRY), services=Services(base_dir=piddir.parent))
    async with asyncio.timeout(45):
        task = asyncio.ensure_future(run.execute())
        while len(pids_in(piddir)) < 3:
            await asyncio.sleep(0.02)
        run.cancel()
        result = await task
    assert result.status == "cancelled"
    _assert_tree_ended(piddir)


@pytest.mark.asyncio
async def test_a_process_forked_in_a_loop_is_caught_too(piddir):
    # A child that keeps forking (each generation exits after starting the next) is frozen
    # before it is killed, so none slips away between looking and killing.
    code = f'''
import os, time
d = {str(piddir)!r}
if os.fork() == 0:
    os.setsid()
    while True:
        if os.fork():
            os._exit(0)
        open(os.path.join(d, str(os.getpid())), "w").close()
        time.sleep(0.005)
while len(os.listdir(d)) < 20:
    time.sleep(0.01)
result = "started"
'''
    result, _ = await run_one("code.python", {"code": code, "timeout_s": 60},
                              services=Services(base_dir=piddir.parent), limit_s=45)
    assert result.ok, error_of(result)
    pids = pids_in(piddir)
    assert len(pids) >= 20
    assert wait_all_gone(pids) == []


@pytest.mark.asyncio
async def test_code_that_kills_its_supervisor_still_ends_fast_and_leaves_no_process(piddir):
    # Hostile-ish code: start a child that holds stdout, then kill the supervising process.
    # The node must not wait for the held pipe into its timeout (the output drain is bounded)
    # and the process group is still killed.
    code = f'''
import os, signal, subprocess, sys, time
d = {str(piddir)!r}
open(os.path.join(d, str(os.getpid())), "w").close()
subprocess.Popen([sys.executable, "-c",
                  "import os, time; open(os.path.join(%r, str(os.getpid())), 'w').close();"
                  " time.sleep(300)" % d])
while len(os.listdir(d)) < 2:
    time.sleep(0.01)
os.kill(os.getppid(), signal.SIGKILL)
time.sleep(300)
'''
    t0 = time.monotonic()
    result, _ = await run_one("code.python", {"code": code, "timeout_s": 60},
                              services=Services(base_dir=piddir.parent), limit_s=45)
    assert "killed by SIGKILL" in error_of(result)
    assert time.monotonic() - t0 < 30
    pids = pids_in(piddir)
    assert len(pids) == 2
    assert wait_all_gone(pids) == []
