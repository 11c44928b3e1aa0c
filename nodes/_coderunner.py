"""The child side of `code.python`: a supervisor that runs the user's code in a worker and
ends every process the code started.

Run as `python -I -u _coderunner.py JOB_DIR MEMORY_MB CPU_S`. The worker caps itself, reads
JOB_DIR/job.json ({"code", "x"}), runs the code with `x` bound to the input, and writes
JOB_DIR/result.json: {"result": <the code's `result` variable>} or {"error": "...", "kind": "..."}.
The user's stdout and stderr stay the process's own, which the parent turns into node log lines.

Containment (POSIX): this process forks the worker and waits for it. On Linux it is a *child
subreaper* (prctl PR_SET_CHILD_SUBREAPER), so every process the code starts stays its
descendant even when its parent exits or it calls setsid(); when the worker ends, or this process
gets SIGTERM (the node timed out or was cancelled) or its parent dies (PR_SET_PDEATHSIG), it
stops every descendant (SIGSTOP, rescanning /proc until no new one appears, so none can fork
away), kills them all and reaps them, then exits as the worker did (same exit code or signal).
Elsewhere the parent kills the process group and the descendants it saw (nodes/code.py).
Standard library only, and no imports of Flowloom: this file runs in a bare interpreter.
"""

import json
import linecache
import os
import signal
import sys
import time
import traceback

FILENAME = "<code>"
PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _cap(memory_mb: int, cpu_s: int) -> None:
    try:
        import resource
    except ImportError:  # not on this platform (Windows): the parent's timeout still applies
        return
    if memory_mb > 0:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if cpu_s > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))


def _user_traceback(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == FILENAME]
    lines = [f"line {f.lineno}: {f.line.strip()}" if f.line else f"line {f.lineno}"
             for f in frames]
    head = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return head + ("".join(f"\n  at {line}" for line in lines[-5:]) if lines else "")


def _no_core_files() -> None:
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass


def run_job(job_dir: str) -> int:
    """Run the job in this process and write its result file."""
    with open(os.path.join(job_dir, "job.json"), encoding="utf-8") as f:
        job = json.load(f)
    source = job["code"]
    linecache.cache[FILENAME] = (len(source), None, source.splitlines(True), FILENAME)
    names = {"__name__": "__flowloom_code__", "x": job["x"], "result": None}
    text = None
    try:
        exec(compile(source, FILENAME, "exec"), names)
    except MemoryError:
        names.clear()
        text = json.dumps({"kind": "memory", "error": "it ran out of memory"})
    except SystemExit as exc:
        if exc.code not in (None, 0):
            text = json.dumps({"kind": "exit", "error": f"it called exit({exc.code!r})"})
    except SyntaxError as exc:
        text = json.dumps({"kind": "syntax",
                           "error": f"syntax error at line {exc.lineno}: {exc.msg}"})
    except BaseException as exc:  # the user's code raised: report it, the process ends cleanly
        text = json.dumps({"kind": "exception", "error": _user_traceback(exc)})
    if text is None:
        try:
            text = json.dumps({"result": names.get("result")}, allow_nan=False)
        except (TypeError, ValueError) as exc:
            text = json.dumps({"kind": "result", "error": f"`result` is not JSON data: {exc}"})
    sys.stdout.flush()
    with open(os.path.join(job_dir, "result.json"), "w", encoding="utf-8") as f:
        f.write(text)
    return 0


# --- supervision ---------------------------------------------------------------------------
def _become_subreaper() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            return False
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)  # Flowloom died: clean up
        return True
    except (OSError, AttributeError):
        return False


def _descendants(root: int) -> list[int]:
    """Every live process below `root`, from /proc (no psutil here: a bare interpreter)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            state, ppid = stat[stat.rindex(b")") + 2:].split()[:2]
        except (OSError, ValueError):
            continue  # it ended while we looked
        if state != b"Z":
            children.setdefault(int(ppid), []).append(int(name))
    found, todo = [], [root]
    while todo:
        for pid in children.get(todo.pop(), ()):
            found.append(pid)
            todo.append(pid)
    return found


def end_descendants() -> None:
    """Freeze, kill and reap every process below this one (bounded: a few seconds at most)."""
    deadline = time.monotonic() + 5.0
    while True:
        frozen: set[int] = set()
        for _ in range(100):  # each round freezes the processes forked since the last one
            new = [pid for pid in _descendants(os.getpid()) if pid not in frozen]
            if not new:
                break
            for pid in new:
                _signal(pid, signal.SIGSTOP)
            frozen.update(new)
        for pid in frozen:
            _signal(pid, signal.SIGKILL)
        if _reaped_all(time.monotonic() + 0.5) or time.monotonic() > deadline:
            return


def _reaped_all(until: float) -> bool:
    """Reap children (orphans were re-parented to us) until none is left, or `until`."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            if time.monotonic() > until:
                return False
            time.sleep(0.005)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:
        pass


def _exit_like(status: int) -> None:
    """End this process the way the worker ended: same exit code, or same signal."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        _no_core_files()
        try:
            signal.signal(sig, signal.SIG_DFL)
            os.kill(os.getpid(), sig)
        except (OSError, ValueError):
            pass
        os._exit(128 + sig)  # a signal that does not end a process by default
    os._exit(os.waitstatus_to_exitcode(status))


def main() -> int:
    job_dir, memory_mb, cpu_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if not hasattr(os, "fork"):  # Windows: no supervisor; the parent kills the process
        _cap(memory_mb, cpu_s)
        return run_job(job_dir)
    supervised = _become_subreaper()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            _no_core_files()
            _cap(memory_mb, cpu_s)
            code = run_job(job_dir)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def stop(signum: int, frame: object) -> None:
        _signal(pid, signal.SIGKILL)
        if supervised:
            end_descendants()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    _, status = os.waitpid(pid, 0)
    if supervised:
        end_descendants()
    _exit_like(status)
    return 0


if __name__ == "__main__":
    sys.exit(main())
