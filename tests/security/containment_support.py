"""Helpers for the containment tests: code that leaves processes behind, and waiting on pids."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil

# Code for a code.python node that starts three processes, each writing its pid into PIDDIR:
# a plain child that inherits (and so holds open) the node's stdout, a forked child that calls
# setsid() and forks a grandchild before exiting (the grandchild is orphaned, in a session of
# its own), and waits until all three have written. Then it runs TAIL.
SPAWNING_CODE = '''
import os, subprocess, sys, time
d = {piddir!r}
def mark():
    open(os.path.join(d, str(os.getpid())), "w").close()
subprocess.Popen([sys.executable, "-c",
                  "import os, time; open(os.path.join(%r, str(os.getpid())), 'w').close();"
                  " time.sleep(300)" % d])
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        mark()
        time.sleep(300)
        os._exit(0)
    mark()
    os._exit(0)
while len(os.listdir(d)) < 3:
    time.sleep(0.01)
print("spawned", flush=True)
{tail}
'''


def spawning_code(piddir: Path, tail: str = "result = 'done'") -> str:
    return SPAWNING_CODE.format(piddir=str(piddir), tail=tail)


def pids_in(piddir: Path) -> list[int]:
    return [int(name) for name in os.listdir(piddir)]


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie has ended: only its exit status is left)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_all_gone(pids: list[int], within_s: float = 10.0) -> list[int]:
    """Poll until none of `pids` runs, or the deadline; return those still running."""
    deadline = time.monotonic() + within_s
    while True:
        left = [pid for pid in pids if running(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


def wait_for(predicate, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def kill_leftovers(pids: list[int]) -> None:
    """Test cleanup, so a failing test does not leave sleepers on the shared machine."""
    for pid in pids:
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass
