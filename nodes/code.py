"""`code.python`: runs a person's Python code in a separate process.

The code sees its input as `x` and sets `result`; both cross the process boundary as JSON.
The child caps its own memory (RLIMIT_AS) and CPU time (RLIMIT_CPU) before running the code
(see nodes/_coderunner.py); the parent enforces `timeout_s` on the wall clock, killing the
child's whole process group. stdout lines become info log lines, stderr lines warnings. A crash,
a hang or a memory blow-up fails this node only. The child gets a small environment (PATH,
HOME, locale), not the parent's, so credentials in environment variables do not leak into it.
The subprocess is driven with blocking calls in two threads of the node's own (see `_watch`), so
it works on any event loop (qasync's has no subprocess support).
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from engine.errors import NodeFailure
from engine.nodetype import NodeType, Param, Port

RUNNER = Path(__file__).with_name("_coderunner.py")
MAX_LOG_LINES = 500
MAX_STDOUT_CHARS = 1_000_000
_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TEMP", "TMP",
             "SYSTEMROOT", "VIRTUAL_ENV")


def _child_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in _ENV_KEYS if k in os.environ}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class PythonCode(NodeType):
    type_id = "code.python"
    title = "Python code"
    category = "Code"
    description = ("Runs Python code in a separate process: input `x`, set `result`; prints go "
                   "to the node log.")
    inputs = (Port("in", required=False, help="available to the code as x (JSON data)"),)
    outputs = (Port("out", help="the code's `result` variable"),
               Port("stdout", "str", help="what the code printed"))
    parameters = (
        Param("code", "code", default="result = x", required=True,
              help="Python; the input is x, assign the output to result"),
        Param("timeout_s", "number", default=30.0, minimum=0.1,
              help="wall-clock limit; the process is killed after it"),
        Param("memory_mb", "int", default=512, minimum=64,
              help="address-space cap of the process (Linux/macOS)"),
    )
    summary_param = "code"

    @classmethod
    def summary(cls, params: dict[str, Any]) -> str:
        code = params.get("code") or ""
        first = next((line for line in code.splitlines() if line.strip()), "")
        return first[:40]

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        try:
            compile(params["code"], "<code>", "exec")
        except SyntaxError as exc:
            return [f"the code has a syntax error at line {exc.lineno}: {exc.msg}"]
        return []

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        timeout = float(self.params["timeout_s"])
        try:
            job = json.dumps({"code": self.params["code"], "x": inputs.get("in")})
        except (TypeError, ValueError) as exc:
            raise NodeFailure(f"the input is not JSON data, so it cannot reach the code: "
                              f"{exc}") from None
        with tempfile.TemporaryDirectory(prefix="flowloom-code-") as tmp:
            Path(tmp, "job.json").write_text(job, encoding="utf-8")
            cmd = [sys.executable, "-I", "-u", str(RUNNER), tmp,
                   str(int(self.params["memory_mb"])), str(int(timeout) + 2)]
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, cwd=ctx.base_dir, env=_child_env(),
                                    start_new_session=os.name == "posix")
            stdout: list[str] = []
            stderr_tail: collections.deque[str] = collections.deque(maxlen=8)
            counter = [0]
            finished = asyncio.get_running_loop().create_future()
            try:
                self._watch(ctx, proc, stdout, stderr_tail, counter, finished)
                async with asyncio.timeout(timeout):
                    await finished
            except TimeoutError:
                raise NodeFailure(f"the code ran longer than timeout_s ({timeout:g} s) and was "
                                  f"stopped") from None
            finally:
                _kill(proc)  # the watcher threads end once the pipes close
            return self._outcome(proc.returncode, Path(tmp, "result.json"), stdout,
                                 list(stderr_tail))

    def _watch(self, ctx: Any, proc: subprocess.Popen[bytes], stdout: list[str],
               stderr_tail: collections.deque[str], counter: list[int],
               finished: asyncio.Future[None]) -> None:
        """Read both pipes and wait for the process in two threads of this node's own.

        Not the loop's shared thread pool: a code node may wait minutes, and holding pool
        threads that long would stall every other thread-run node of the run.
        """
        loop = finished.get_loop()

        def done() -> None:
            if not finished.done():
                finished.set_result(None)

        def read_stdout_then_wait() -> None:
            try:
                self._pump(ctx, proc.stdout, "info", stdout, counter)
                errors.join()
                proc.wait()
            finally:
                for stream in (proc.stdout, proc.stderr):
                    if stream is not None:
                        stream.close()
                try:
                    loop.call_soon_threadsafe(done)
                except RuntimeError:  # the loop has closed: nobody is waiting any more
                    pass

        errors = threading.Thread(target=self._pump, daemon=True, name="flowloom-code-stderr",
                                  args=(ctx, proc.stderr, "warning", stderr_tail, counter))
        errors.start()
        threading.Thread(target=read_stdout_then_wait, daemon=True,
                         name="flowloom-code-stdout").start()

    @staticmethod
    def _pump(ctx: Any, stream: IO[bytes] | None, level: str, keep: Any,
              counter: list[int]) -> None:
        if stream is None:
            return
        size = 0
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            counter[0] += 1
            if counter[0] <= MAX_LOG_LINES:
                ctx.log(level, line)
            elif counter[0] == MAX_LOG_LINES + 1:
                ctx.log("warning", f"more than {MAX_LOG_LINES} lines of output; the rest is "
                                   f"not logged")
            if size < MAX_STDOUT_CHARS:
                keep.append(line)
                size += len(line) + 1

    def _outcome(self, code: int, result_file: Path, stdout: list[str],
                 stderr_tail: list[str]) -> dict[str, Any]:
        limit = int(self.params["memory_mb"])
        if result_file.exists():
            try:
                data = json.loads(result_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {"kind": "crash", "error": "it wrote an unreadable result"}
            if "error" in data:
                message = data["error"]
                if data.get("kind") == "memory":
                    message += f" (memory_mb is {limit})"
                raise NodeFailure(f"the code failed: {message}")
            return {"out": data.get("result"), "stdout": "\n".join(stdout)}
        tail = " | ".join(stderr_tail[-3:])
        if any("MemoryError" in line for line in stderr_tail):
            raise NodeFailure(f"the code ran out of memory (memory_mb is {limit})")
        if code < 0:
            name = _signal_name(code)
            hint = " (CPU time limit)" if name == "SIGXCPU" else ""
            raise NodeFailure(f"the code process crashed: killed by {name}{hint}"
                              + (f"; stderr: {tail}" if tail else ""))
        raise NodeFailure(f"the code process ended with exit code {code} without a result"
                          + (f"; stderr: {tail}" if tail else ""))


TYPES: tuple[type[NodeType], ...] = (PythonCode,)
