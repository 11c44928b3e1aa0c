"""The child side of `code.python`: caps itself, runs the user's code, writes the result as JSON.

Run as `python -I -u _coderunner.py JOB_DIR MEMORY_MB CPU_S`. Reads JOB_DIR/job.json
({"code", "x"}), runs the code with `x` bound to the input, and writes JOB_DIR/result.json:
{"result": <the code's `result` variable>} or {"error": "...", "kind": "..."}. The user's
stdout and stderr stay the process's own, which the parent turns into node log lines.
Standard library only, and no imports of Flowloom: this file runs in a bare interpreter.
"""

import json
import linecache
import os
import sys
import traceback

FILENAME = "<code>"


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


def main() -> int:
    job_dir, memory_mb, cpu_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    _cap(memory_mb, cpu_s)
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


if __name__ == "__main__":
    sys.exit(main())
