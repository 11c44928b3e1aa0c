"""The budget worker process: runs evaluations sent by engine/budget.py within CPU and memory
limits, one at a time, until its stdin closes.

Started as `python -I -c BOOT this-file`, it loads engine/bounded.py by path and imports nothing
else of the engine (a worker is ready in ~0.1 s instead of the ~0.6 s `import engine` takes).
Frames on stdin/stdout are an 8-byte length and a pickle. A request is
`(kind, args, cpu_s, memory_mb)`; the reply is `("ok", value)`, `("error", sentence)`,
`("cpu",)` or `("memory",)`.

Limits, per evaluation (re-armed per item of a list node):
* CPU: ITIMER_PROF raises at `cpu_s` of CPU time between bytecodes; RLIMIT_CPU one second
  later (whole seconds) ends the process with SIGXCPU if a single C operation never returns.
* Memory: RLIMIT_AS at the address space in use once the request is read plus `memory_mb`,
  so allocations past it raise MemoryError (Linux enforces RLIMIT_AS; macOS does not).
The parent kills the process on Stop, timeout or any budget breach and starts another.
"""

from __future__ import annotations

import importlib.util
import math
import os
import pickle
import resource
import signal
import struct
import sys
from pathlib import Path
from typing import Any

HEADER = struct.Struct("!Q")
_MB = 1 << 20


class CpuExceeded(BaseException):
    pass


def _load_bounded() -> Any:
    path = Path(__file__).with_name("bounded.py")
    spec = importlib.util.spec_from_file_location("flowloom_bounded", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _address_space() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _on_prof(signum: int, frame: Any) -> None:
    raise CpuExceeded


class _Meter:
    """Arms the CPU limits for one evaluation."""

    def __init__(self, cpu_s: float) -> None:
        self.cpu_s = cpu_s

    def restart(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, self.cpu_s)
        soft = math.ceil(_cpu_used() + self.cpu_s) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))

    @staticmethod
    def stop() -> None:
        signal.setitimer(signal.ITIMER_PROF, 0)
        resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _limit_memory(memory_mb: float | None) -> None:
    limit = resource.RLIM_INFINITY
    if memory_mb is not None:
        try:
            limit = min(_address_space() + int(memory_mb * _MB), 1 << 62)
        except OSError:  # no /proc: the memory limit is not enforced
            return
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))


def _serve(bounded: Any, request: Any) -> tuple[Any, ...]:
    kind, args, cpu_s, memory_mb = request
    meter = _Meter(cpu_s)
    try:
        _limit_memory(memory_mb)
        meter.restart()
        value = bounded.run_job(kind, args, meter.restart)
    except CpuExceeded:
        return ("cpu",)
    except MemoryError:
        return ("memory",)
    except bounded.EvalFailed as exc:
        return ("error", str(exc))
    except RecursionError:
        return ("error", "the evaluation nests too deeply")
    except Exception as exc:  # a bug or an odd value: still one sentence for the node
        return ("error", f"the evaluation failed: {type(exc).__name__}: {exc}")
    finally:
        meter.stop()
        _limit_memory(None)
    return ("ok", value)


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the process that started it dies, even by
    SIGKILL (a worker orphaned mid-evaluation would otherwise compute on until its CPU limit —
    with --cpu-limit 600, ten minutes of a core nobody asked for)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def main() -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a worker stops
    signal.signal(signal.SIGPROF, _on_prof)
    bounded = _load_bounded()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing may write into the reply channel by accident
    while True:
        header = stdin.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        body = stdin.read(HEADER.unpack(header)[0])
        try:
            reply = _serve(bounded, pickle.loads(body))
        except CpuExceeded:  # the timer fired as the evaluation ended
            _Meter.stop()
            reply = ("cpu",)
        except Exception as exc:  # a value whose class this process cannot import
            reply = ("error", f"the inputs cannot be passed to a worker process: "
                              f"{type(exc).__name__}: {exc}")
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # e.g. dict_keys: not a value that can travel
            data = pickle.dumps(("error", f"the result cannot be passed on: "
                                          f"{type(exc).__name__}: {exc}"))
        stdout.write(HEADER.pack(len(data)) + data)
        stdout.flush()


if __name__ == "__main__":
    main()
