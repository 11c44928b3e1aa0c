"""Scale-out benchmark: the same run on the local backend and on a 2-worker Dask LocalCluster.

    .venv/bin/python bench/scaleout.py            # medians of 3 (about a minute)
    .venv/bin/python bench/scaleout.py --quick    # one repeat

The step is a CPU-bound, GIL-holding plugin from a user node folder (pure-Python busy loop on
thread CPU time, `cpu_bound = True`): 40 items of 50 ms in a parallel foreach (parallel 8).
Locally it runs on the run's own process, so the items take turns on the GIL; with `--dask`
its items go to the cluster's 2 worker processes (1 thread each). Both runs are the same
workflow and must give the same results. The per-task overhead of the cluster path is the
same foreach over 40 items of 0 ms, cluster minus local, per item.

The figures are wall-clock medians on a shared 2-core machine: expect noise; the ratio is
measured within one run. The floor the issue sets is a 1.6x speed-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import distributed  # noqa: E402
import psutil  # noqa: E402  (distributed needs it)

from engine import Run, compile_workflow  # noqa: E402
from engine.dask_backend import DaskExecution, local_cluster  # noqa: E402
from engine.fileformat import loads  # noqa: E402
from engine.seam import PlacedSeam  # noqa: E402
from nodes import default_registry  # noqa: E402
from nodes.plugins import load_folder  # noqa: E402
from tests.scaleout.support import foreach_doc, write_plugin  # noqa: E402

ITEMS = 40
STEP_MS = 50.0
PARALLEL = 8
FLOOR = 1.6


def _compiled(registry, ms: float):
    doc = foreach_doc(ITEMS, step={"type": "user.churn", "params": {"ms": ms}},
                      parallel=PARALLEL)
    loaded = loads(json.dumps(doc), registry)
    assert not loaded.errors, loaded.problems
    return compile_workflow(loaded.workflow, registry)


def _timed(registry, ms: float, seam=None) -> tuple[float, list]:
    t0 = time.perf_counter()
    result = asyncio.run(Run(_compiled(registry, ms), seam=seam).execute())
    took = time.perf_counter() - t0
    if not result.ok:
        raise SystemExit(f"bench run failed: {result.error}")
    return took, result.outputs["r"]


def _cpu(processes: list[psutil.Process]) -> float:
    """User + system CPU seconds of `processes` so far."""
    return sum(sum(p.cpu_times()[:2]) for p in processes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat instead of three")
    repeats = 1 if parser.parse_args().quick else 3
    load_before = os.getloadavg()
    registry = default_registry()
    with tempfile.TemporaryDirectory() as folder:
        load_folder(registry, write_plugin(Path(folder)).parent)
        with local_cluster(2, threads=1) as cluster, \
                distributed.Client(cluster, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
            seam = PlacedSeam(DaskExecution(client.scheduler.address))
            _timed(registry, 1.0, seam)  # warm the workers (imports, the plugin's module)
            local, remote, local0, remote0, cpu0 = [], [], [], [], []
            me = psutil.Process()
            processes = [me, *me.children(recursive=True)]  # this one (scheduler), workers
            for _ in range(repeats):  # interleaved, so drift on the machine hits both alike
                t_local, r_local = _timed(registry, STEP_MS)
                t_remote, r_remote = _timed(registry, STEP_MS, seam)
                if r_local != r_remote:
                    raise SystemExit("the cluster gave other results than the local backend")
                local.append(t_local)
                remote.append(t_remote)
                local0.append(_timed(registry, 0.0)[0])
                before = _cpu(processes)
                remote0.append(_timed(registry, 0.0, seam)[0])
                cpu0.append((_cpu(processes) - before) / ITEMS * 1000)
    load_after = os.getloadavg()
    m_local, m_remote = statistics.median(local), statistics.median(remote)
    overhead_ms = (statistics.median(remote0) - statistics.median(local0)) / ITEMS * 1000
    speedup = m_local / m_remote
    print(f"{ITEMS} items x {STEP_MS:g} ms CPU (GIL-holding plugin), parallel foreach "
          f"({PARALLEL}), medians of {repeats}")
    print(f"  local backend         {m_local:6.2f} s   (runs: "
          f"{', '.join(f'{t:.2f}' for t in local)})")
    print(f"  2-worker LocalCluster {m_remote:6.2f} s   (runs: "
          f"{', '.join(f'{t:.2f}' for t in remote)})")
    ratios = sorted(t_l / t_r for t_l, t_r in zip(local, remote, strict=True))
    print(f"  speed-up              {speedup:6.2f}x  (floor {FLOOR}x; pairs "
          f"{ratios[0]:.2f}-{ratios[-1]:.2f}x)")
    costs = sorted((b - a) / ITEMS * 1000 for a, b in zip(local0, remote0, strict=True))
    print(f"  per-task overhead of the cluster path: {overhead_ms:.1f} ms (pairs "
          f"{costs[0]:.1f}-{costs[-1]:.1f} ms; 0 ms items: local "
          f"{', '.join(f'{t:.3f}' for t in local0)} s, cluster "
          f"{', '.join(f'{t:.3f}' for t in remote0)} s)")
    print(f"  CPU of all processes per cluster task (0 ms items; steadier than the wall "
          f"clock on a busy machine): {statistics.median(cpu0):.1f} ms (runs "
          f"{', '.join(f'{c:.1f}' for c in cpu0)})")
    print(f"  load average (1/5/15 min) before {'/'.join(f'{x:.2f}' for x in load_before)}, "
          f"after {'/'.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} cores: "
          f"other work shares the machine, so expect noise")
    return 0 if speedup >= FLOOR else 1


if __name__ == "__main__":
    raise SystemExit(main())
