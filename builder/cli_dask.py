"""`flowloom run FILE --dask ADDRESS` (or FLOWLOOM_DASK) and `flowloom cluster local`.

`--dask` connects a `distributed.Client` to the scheduler at ADDRESS and gives the run a seam
that sends the nodes placed on the cluster there (engine/seam.py, engine/dask_backend.py);
everything else, and all control flow, stays in this process. `flowloom cluster local
--workers N` starts a LocalCluster on 127.0.0.1 and prints its address until Ctrl+C.
`distributed` is the optional extra `flowloom[dask]`: without it these say how to install it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from engine.errors import FlowloomError

__all__ = ["COMMANDS", "DASK_ENV", "DaskUnavailable", "add_commands", "add_run_options",
           "dask_seam", "probe", "seam_for"]

COMMANDS = ("cluster",)
DASK_ENV = "FLOWLOOM_DASK"
CONNECT_TIMEOUT_S = 10
INSTALL = "pip install 'flowloom[dask]'"


class DaskUnavailable(FlowloomError):
    """The Dask cluster cannot be used (not installed, not reachable)."""


def add_run_options(run: argparse.ArgumentParser) -> None:
    run.add_argument("--dask", default=None, metavar="ADDRESS",
                     help="run the nodes placed on the cluster (\"placement\"; by default "
                          "the CPU-bound ones, like code.python) on the Dask scheduler at "
                          f"ADDRESS, e.g. tcp://127.0.0.1:8786 (also ${DASK_ENV})")


def _distributed() -> Any:
    try:
        import distributed  # noqa: PLC0415 - the optional extra, only with --dask
    except ImportError:
        raise DaskUnavailable(f"--dask needs the dask extra: {INSTALL}") from None
    return distributed


def probe(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Connect to the scheduler at `address` once (blocking, at most `timeout` s); raises
    DaskUnavailable with one sentence if it cannot be used."""
    distributed = _distributed()
    try:
        distributed.Client(address, timeout=timeout, set_as_default=False).close()
    except (OSError, TimeoutError, ValueError) as exc:
        raise DaskUnavailable(f"cannot reach the Dask scheduler at {address}: "
                              f"{str(exc)[:200] or type(exc).__name__}") from None


def dask_seam(address: str, *, own_loop: bool = False) -> Any:
    """The seam that sends the nodes placed on the cluster to the scheduler at `address`;
    a run connects on its own loop when it starts (engine/dask_backend.py `session`;
    `own_loop` for the editor's Qt loop)."""
    _distributed()
    from engine.dask_backend import DaskExecution  # noqa: PLC0415
    from engine.seam import PlacedSeam  # noqa: PLC0415

    return PlacedSeam(DaskExecution(address, own_loop=own_loop))


def seam_for(args: argparse.Namespace) -> Any:
    """The run's seam for `--dask` / FLOWLOOM_DASK, or None (everything local)."""
    address = getattr(args, "dask", None) or os.environ.get(DASK_ENV) or None
    if address is None:
        return None
    probe(address)  # say so now, in one sentence, rather than when the run starts
    return dask_seam(address)


def add_commands(sub: Any) -> None:
    cluster = sub.add_parser("cluster", help="start a Dask cluster on this machine")
    what = cluster.add_subparsers(dest="cluster_command", metavar="WHAT", required=True)
    local = what.add_parser("local", help="start a LocalCluster on 127.0.0.1 and print its "
                                          "address (Ctrl+C stops it)")
    local.add_argument("--workers", type=int, default=2, metavar="N",
                       help="worker processes (default 2)")
    local.set_defaults(func=cmd_cluster_local)


def cmd_cluster_local(args: argparse.Namespace) -> int:
    if args.workers < 1:
        print("flowloom: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        _distributed()
    except DaskUnavailable as exc:
        print(f"flowloom: {exc}", file=sys.stderr)
        return 2
    from engine.dask_backend import local_cluster  # noqa: PLC0415

    with local_cluster(args.workers) as cluster:
        print(cluster.scheduler_address, flush=True)
        print(f"flowloom: {args.workers} workers; run with --dask "
              f"{cluster.scheduler_address} (Ctrl+C stops the cluster)", file=sys.stderr,
              flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0
