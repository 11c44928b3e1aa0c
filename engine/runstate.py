"""Per-run state, keyed by node id, kept apart from the model (which holds only what is saved)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED, CANCELLED = (
    "pending", "running", "succeeded", "failed", "skipped", "cancelled")
TERMINAL = (SUCCEEDED, FAILED, SKIPPED, CANCELLED)


@dataclass(slots=True)
class NodeRun:
    """What happened to one node in one run, summed over its loop iterations.

    Inside a loop a node runs (or is skipped) once per iteration; its overall `status` is
    `failed` if any iteration failed, else `succeeded` if any succeeded, else `skipped`
    (`running` while an iteration runs, `cancelled` if the run was cancelled under it).
    """

    node_id: str
    status: str = PENDING
    attempts: int = 0
    runs: int = 0  # completed executions (more than one inside loops)
    duration_s: float = 0.0  # running time, over every attempt and iteration
    queued_s: float = 0.0  # time spent waiting for a slot under the concurrency cap
    attempt_durations_s: tuple[float, ...] = ()  # of the last execution, one per attempt
    started_t: float | None = None
    ended_t: float | None = None
    error: str | None = None
    reason: str | None = None  # why it was skipped
    outputs: dict[str, Any] | None = None  # of the last execution
    inputs: dict[str, Any] | None = None  # of the last execution
    cached: bool = False  # its outputs were replayed from an earlier run
    successes: int = 0
    failures: int = 0
    skips: int = 0

    def settle(self) -> None:
        """Set `status` from the outcomes counted so far."""
        if self.failures:
            self.status = FAILED
        elif self.successes:
            self.status = SUCCEEDED
        elif self.skips:
            self.status = SKIPPED

    def to_json(self, run_t0: float | None = None) -> dict[str, Any]:
        """The node's `run --json` shape; with the run's start (`run_t0`, on the same
        monotonic clock) also when it first started and last finished, in seconds from the run's
        start (None for a node that never started or has not finished)."""
        data: dict[str, Any] = {"status": self.status, "attempts": self.attempts,
                                "duration_s": round(self.duration_s, 6),
                                "queued_s": round(self.queued_s, 6),
                                "attempt_durations_s": [round(d, 6)
                                                        for d in self.attempt_durations_s]}
        if run_t0 is not None:
            data["started_s"] = (None if self.started_t is None
                                 else round(self.started_t - run_t0, 6))
            data["finished_s"] = (None if self.ended_t is None or self.started_t is None
                                  else round(self.ended_t - run_t0, 6))
        if self.error is not None and self.status in (FAILED, CANCELLED):
            data["error"] = self.error
        if self.reason is not None and self.status == SKIPPED:
            data["reason"] = self.reason
        if self.cached:
            data["cached"] = True
        if self.runs + self.skips > 1:  # in a loop: how each iteration went
            data["runs"] = self.runs
            data["iterations"] = {"succeeded": self.successes, "failed": self.failures,
                                  "skipped": self.skips}
        return data


@dataclass(slots=True)
class RunResult:
    """How a run ended: status, workflow outputs, every node's run, error and warnings."""

    run_id: str
    status: str  # "succeeded" | "failed" | "cancelled"
    outputs: dict[str, Any]
    nodes: dict[str, NodeRun]
    error: str | None = None
    duration_s: float = 0.0
    warnings: list[str] = field(default_factory=list)
    started_t: float | None = None  # the run's start on the engine's monotonic clock

    @property
    def ok(self) -> bool:
        return self.status == SUCCEEDED

    def to_json(self) -> dict[str, Any]:
        data = {"status": self.status, "outputs": self.outputs,
                "nodes": {nid: nr.to_json(self.started_t) for nid, nr in self.nodes.items()}}
        if self.error is not None:
            data["error"] = self.error
        return data
