"""code.python in a real child process: results, logs, and crash / hang / memory blow-up
failing only its own node."""

from __future__ import annotations

import asyncio
import os

import pytest

from engine.compile import compile_workflow
from engine.context import Services
from engine.executor import Run
from engine.model import Node
from tests.nodes.flowrun import REGISTRY, error_of, logs, run_flow, run_one, value, wf


async def code(source: str, x=None, **params):
    inputs = {"in": x} if x is not None else {}
    return await run_one("code.python", {"code": source, **params}, inputs, limit_s=30)


@pytest.mark.asyncio
async def test_code_gets_x_and_returns_result_as_json():
    result, _ = await code("result = {'total': sum(x['n']), 'pid': __import__('os').getpid()}",
                           {"n": [1, 2, 3]})
    assert result.ok, error_of(result)
    assert result.outputs["out"]["total"] == 6
    assert result.outputs["out"]["pid"] != os.getpid()  # really another process


@pytest.mark.asyncio
async def test_stdout_and_stderr_become_log_lines_and_stdout_is_an_output():
    source = "import sys\nprint('hello')\nprint('careful', file=sys.stderr)\nprint(x)\nresult=1"
    result, events = await code(source, "world")
    assert result.ok, error_of(result)
    lines = logs(events)
    assert ("info", "hello") in lines and ("info", "world") in lines
    assert ("warning", "careful") in lines
    assert result.outputs["stdout"] == "hello\nworld"


@pytest.mark.asyncio
async def test_exception_fails_the_node_with_the_line():
    result, _ = await code("a = 1\nb = {}\nresult = b['missing']")
    assert not result.ok
    assert "KeyError: 'missing'" in error_of(result)
    assert "line 3: result = b['missing']" in error_of(result)


@pytest.mark.asyncio
async def test_result_that_is_not_json_fails_clearly():
    result, _ = await code("result = {1, 2}")
    assert "`result` is not JSON data" in error_of(result)


@pytest.mark.asyncio
async def test_hang_is_killed_at_the_timeout():
    result, _ = await code("import time\nwhile True:\n    time.sleep(0.05)", timeout_s=0.5)
    assert not result.ok
    assert "ran longer than timeout_s (0.5 s) and was stopped" in error_of(result)


@pytest.mark.asyncio
async def test_memory_blow_up_fails_the_node_naming_the_cap():
    result, _ = await code("hog = []\nwhile True:\n    hog.append(bytearray(10_000_000))",
                           memory_mb=128, timeout_s=20)
    assert not result.ok
    assert "ran out of memory (memory_mb is 128)" in error_of(result)


@pytest.mark.asyncio
async def test_hard_crash_fails_the_node_naming_the_signal():
    result, _ = await code("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    assert not result.ok
    assert "crashed: killed by SIGSEGV" in error_of(result)


@pytest.mark.asyncio
async def test_environment_secrets_do_not_reach_the_child(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-should-not-leak")
    result, _ = await code("import os\nresult = os.environ.get('OPENAI_API_KEY')")
    assert result.ok and result.outputs["out"] is None


@pytest.mark.asyncio
async def test_a_crashing_branch_fails_alone_while_the_other_branch_finishes(tmp_path):
    crash = Node("crash", "code.python", params={"code": "import os\nos._exit(3)"},
                 on_error="continue")
    slow = Node("slow", "code.python",
                params={"code": "import time\ntime.sleep(0.3)\nresult = x * 2"})
    workflow = wf(value("v", 21), crash, slow,
                  Node("o", "flow.output", params={"name": "doubled"}),
                  Node("e", "flow.output", params={"name": "error"}),
                  edges="v.out->crash.in, v.out->slow.in, slow.out->o.in, crash.error->e.in")
    result, _ = await run_flow(workflow, services=Services(base_dir=tmp_path), limit_s=30)
    assert result.outputs["doubled"] == 42
    assert "ended with exit code 3 without a result" in result.outputs["error"]["message"]


@pytest.mark.asyncio
async def test_cancelling_the_run_kills_the_child_process(tmp_path):
    pidfile = tmp_path / "pid"
    source = f"import os, time\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\n" \
             "time.sleep(60)"
    run = Run(compile_workflow(wf(Node("n", "code.python", params={"code": source})), REGISTRY))
    async with asyncio.timeout(20):
        task = asyncio.ensure_future(run.execute())
        while not pidfile.exists() or not pidfile.read_text():
            await asyncio.sleep(0.02)
        pid = int(pidfile.read_text())
        run.cancel()
        result = await task
        assert result.status == "cancelled"
        while True:  # the process is gone (reaped) soon after
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.02)


@pytest.mark.asyncio
async def test_waiting_code_nodes_do_not_starve_other_thread_run_nodes(tmp_path):
    # Twelve code nodes wait until a file exists; only file.write (a thread-run node) creates
    # it. If waiting code nodes held threads of the shared pool, file.write would never get
    # one and the run would hit its time limit.
    marker = tmp_path / "go.txt"
    waiting = "import os, time\nwhile not os.path.exists({p!r}):\n    time.sleep(0.02)\nresult=1"
    nodes = [Node(f"c{i}", "code.python",
                  params={"code": waiting.format(p=str(marker)), "timeout_s": 60})
             for i in range(12)]
    workflow = wf(value("v", "go"), Node("w", "file.write", params={"path": str(marker)}),
                  *nodes, Node("m", "flow.merge"), Node("o", "flow.output", params={"name": "n"}),
                  edges="v.out->w.content, m.out->o.in, "
                        + ", ".join(f"c{i}.out->m.in" for i in range(12)))
    result, _ = await run_flow(workflow, services=Services(base_dir=tmp_path), limit_s=45)
    assert result.ok, result.error
    assert result.outputs["n"] == [1] * 12
