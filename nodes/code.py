"""`code.python`: runs a person's Python code in a separate process.

The code sees its input as `x` and sets `result`; both cross the process boundary as JSON.
The child caps its own memory (RLIMIT_AS) and CPU time (RLIMIT_CPU) before running the code
(see nodes/_coderunner.py); the parent enforces `timeout_s` on the wall clock. stdout lines
become info log lines, stderr lines warnings. A crash, a hang or a memory blow-up fails this
node only.

Containment: the child starts a session of its own, and every process the code starts is ended
when the node finishes, fails, times out or is cancelled (`end_tree`): the child supervises its
descendants on Linux (nodes/_coderunner.py); here the parent then freezes and kills whatever is
still in the child's process group or below it, and on other systems also what it saw below the
child while it ran. The node is over when the child exits, not when its pipes close: a
grandchild holding stdout open cannot keep a finished node waiting into its timeout.

The child gets a small environment (PATH, HOME, locale), not the parent's, so credentials in
environment variables do not leak into it. The subprocess is driven with blocking calls in
threads of the node's own (see `_watch`), so it works on any event loop (qasync's has no
subprocess support).
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
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # at run time psutil (~50 ms to import) loads where a code node runs
    import psutil

from engine.errors import NodeFailure
from engine.nodetype import NodeType, Param, Port
from engine.permissions import RUN, Need

RUNNER = Path(__file__).with_name("_coderunner.py")
MAX_LOG_LINES = 500
MAX_STDOUT_CHARS = 1_000_000
DRAIN_S = 2.0  # after the child exits, how long its output may still arrive
TERM_GRACE_S = 2.0  # how long the child may take to end its descendants when told to stop
TRACK_EVERY_S = 0.5  # without a Linux subreaper: how often the parent looks for descendants
SUPERVISED = sys.platform.startswith("linux")  # the child reaps its own tree (_coderunner.py)
_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TEMP", "TMP",
             "SYSTEMROOT", "VIRTUAL_ENV")


def _child_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in _ENV_KEYS if k in os.environ}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def _freeze_and_kill(procs: list[psutil.Process]) -> None:
    """SIGSTOP every process and its descendants until no new one appears, then SIGKILL all:
    a frozen process cannot fork a new one while we kill the rest."""
    import psutil

    frozen: dict[int, psutil.Process] = {}
    todo = list(procs)
    while todo and len(frozen) < 10_000:
        found: list[psutil.Process] = []
        for proc in todo:
            if proc.pid in frozen:
                continue
            try:
                proc.suspend()
                frozen[proc.pid] = proc
                found.extend(proc.children(recursive=True))
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        todo = [p for p in found if p.pid not in frozen]
    for proc in frozen.values():
        try:
            proc.kill()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass


def end_tree(proc: subprocess.Popen[bytes], seen: dict[int, psutil.Process]) -> None:
    """End the child and every process it started; reap the child. Bounded in time."""
    import psutil

    if os.name != "posix":
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        return
    if proc.poll() is None:
        proc.terminate()  # the supervisor ends its descendants, then itself
        try:
            proc.wait(TERM_GRACE_S)
        except subprocess.TimeoutExpired:
            pass
    left: list[psutil.Process] = [p for p in seen.values() if _same_alive(p)]
    if proc.poll() is None:
        try:
            left.append(psutil.Process(proc.pid))
        except psutil.NoSuchProcess:
            pass
    _freeze_and_kill(left)
    try:  # what is still in the child's process group (the group outlives its leader)
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _same_alive(proc: psutil.Process) -> bool:
    import psutil

    try:  # is_running() compares the start time too, so a reused pid is not killed
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


class PythonCode(NodeType):
    type_id = "code.python"
    title = "Python code"
    # CPU-heavy by nature: under "placement": "auto" it runs on the Dask cluster of a run
    # that has one (engine/seam.py)
    cpu_bound = True
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
    def needs(cls, params: dict[str, Any], base_dir: Any) -> list[Need]:
        return [Need(RUN, cls.type_id, "code")]

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
            seen: dict[int, psutil.Process] = {}
            finished = asyncio.get_running_loop().create_future()
            try:
                self._watch(ctx, proc, stdout, stderr_tail, counter, seen, finished)
                async with asyncio.timeout(timeout):
                    await finished
            except TimeoutError:
                raise NodeFailure(f"the code ran longer than timeout_s ({timeout:g} s) and was "
                                  f"stopped") from None
            finally:
                end_tree(proc, seen)  # the reader threads end once the pipes close
            return self._outcome(proc.returncode, Path(tmp, "result.json"), stdout,
                                 list(stderr_tail))

    def _watch(self, ctx: Any, proc: subprocess.Popen[bytes], stdout: list[str],
               stderr_tail: collections.deque[str], counter: list[int],
               seen: dict[int, psutil.Process], finished: asyncio.Future[None]) -> None:
        """Read both pipes and wait for the process in threads of this node's own.

        Not the loop's shared thread pool: a code node may wait minutes, and holding pool
        threads that long would stall every other thread-run node of the run. `finished` is
        set when the child has exited and its output has arrived (or DRAIN_S passed: a
        process the code left behind may hold the pipes open until end_tree kills it).
        """
        loop = finished.get_loop()
        over = threading.Event()  # once the node is over, late output is not logged

        def done() -> None:
            over.set()
            if not finished.done():
                finished.set_result(None)

        def wait_then_drain() -> None:
            try:
                self._wait(proc, seen)
                drain_until = time.monotonic() + DRAIN_S
                for reader in readers:
                    reader.join(max(0.0, drain_until - time.monotonic()))
            finally:
                try:
                    loop.call_soon_threadsafe(done)
                except RuntimeError:  # the loop has closed: nobody is waiting any more
                    pass

        def pump(stream: IO[bytes] | None, level: str, keep: Any) -> None:
            try:
                self._pump(ctx, stream, level, keep, counter, over)
            finally:
                if stream is not None:
                    stream.close()

        readers = [threading.Thread(target=pump, daemon=True, name=f"flowloom-code-{name}",
                                    args=(stream, level, keep))
                   for name, stream, level, keep in (("stdout", proc.stdout, "info", stdout),
                                                     ("stderr", proc.stderr, "warning",
                                                      stderr_tail))]
        for reader in readers:
            reader.start()
        threading.Thread(target=wait_then_drain, daemon=True, name="flowloom-code-wait").start()

    @staticmethod
    def _wait(proc: subprocess.Popen[bytes], seen: dict[int, psutil.Process]) -> None:
        """Wait for the child; without a supervising child, note its descendants meanwhile."""
        import psutil

        if SUPERVISED or os.name != "posix":
            proc.wait()
            return
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            proc.wait()
            return
        while True:
            try:
                proc.wait(TRACK_EVERY_S)
                return
            except subprocess.TimeoutExpired:
                pass
            try:
                for child in root.children(recursive=True):
                    seen.setdefault(child.pid, child)
            except psutil.Error:
                pass

    @staticmethod
    def _pump(ctx: Any, stream: IO[bytes] | None, level: str, keep: Any,
              counter: list[int], over: threading.Event) -> None:
        if stream is None:
            return
        size = 0
        for raw in iter(stream.readline, b""):
            if over.is_set():
                break
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
