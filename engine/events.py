"""Run events: small frozen dataclasses, named in the past tense, emitted on the loop thread.

Every node event carries the node id and `iteration`: the loop-iteration path of the run of the
node (`()` outside loops, `(2,)` in the third iteration of the loop around it, `(2, 0)` nested).
`t` is `time.monotonic()`. A run always ends with exactly one `RunFinished`.
`duration_s` of NodeFinished/NodeFailed is running time, summed over the attempts
(`attempt_durations_s`); waiting for a slot under the concurrency cap is `queued_s`, apart
(docs/semantics.md).
"""

from __future__ import annotations

import reprlib
from dataclasses import MISSING, dataclass, fields
from typing import Any

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = 6
_repr.maxdict = 6
_repr.maxlevel = 2


def summarise(value: Any) -> str:
    """A short, bounded one-line preview of a value."""
    return _repr.repr(value)


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The run began: its id, the workflow's name, how many nodes, the inputs given."""

    run_id: str
    workflow: str
    node_count: int
    inputs: dict[str, Any]
    t: float
    wall_time: float  # time.time(), for history records


@dataclass(frozen=True, slots=True)
class NodeStarted:
    """A node (in a loop: one iteration of it) began an attempt."""

    node_id: str
    iteration: tuple[int, ...]
    attempt: int  # 1, 2, ... ; 0 when the outputs are replayed from an earlier run
    t: float


@dataclass(frozen=True, slots=True)
class NodeProgressed:
    """A running node reported how far it got, or a new status message."""

    node_id: str
    iteration: tuple[int, ...]
    fraction: float | None  # 0..1, or None when only the message changed
    message: str
    t: float


@dataclass(frozen=True, slots=True)
class NodeLogged:
    """A line a node wrote to its log."""

    node_id: str
    iteration: tuple[int, ...]
    level: str  # "debug" | "info" | "warning" | "error"
    message: str
    t: float


@dataclass(frozen=True, slots=True)
class NodeRetrying:
    """An attempt failed and the node will try again after a delay."""

    node_id: str
    iteration: tuple[int, ...]
    attempt: int  # the attempt that failed
    delay_s: float
    error: str
    t: float
    duration_s: float = 0.0  # the running time of the attempt that failed


@dataclass(frozen=True, slots=True)
class NodeFinished:
    """A node succeeded, with the outputs it produced."""

    node_id: str
    iteration: tuple[int, ...]
    duration_s: float
    outputs: dict[str, Any]
    t: float
    cached: bool = False  # replayed from an earlier run's outputs ("re-run from here")
    queued_s: float = 0.0  # time spent waiting for a slot under the concurrency cap
    attempt_durations_s: tuple[float, ...] = ()  # running time of each attempt

    @property
    def summary(self) -> str:
        if len(self.outputs) == 1:
            return summarise(next(iter(self.outputs.values())))
        return summarise(self.outputs)


@dataclass(frozen=True, slots=True)
class NodeFailed:
    """A node failed for good (every attempt used), with the error sentence."""

    node_id: str
    iteration: tuple[int, ...]
    duration_s: float
    error: str
    attempts: int
    t: float
    queued_s: float = 0.0  # time spent waiting for a slot under the concurrency cap
    attempt_durations_s: tuple[float, ...] = ()  # running time of each attempt


@dataclass(frozen=True, slots=True)
class NodeSkipped:
    """A node did not run: a branch not taken, or an input that never came."""

    node_id: str
    iteration: tuple[int, ...]
    reason: str
    t: float


@dataclass(frozen=True, slots=True)
class NodeCancelled:
    """A running node was stopped (Stop pressed, a timeout, a failing sibling)."""

    node_id: str
    iteration: tuple[int, ...]
    t: float


@dataclass(frozen=True, slots=True)
class ApprovalRequested:
    """A node asked a person to decide (ctx.ask); its branch waits until ApprovalDecided."""

    node_id: str
    iteration: tuple[int, ...]
    message: str
    value: Any
    t: float


@dataclass(frozen=True, slots=True)
class ApprovalDecided:
    """A person (or --approve-all / --reject-all) answered an approval gate."""

    node_id: str
    iteration: tuple[int, ...]
    approved: bool
    comment: str
    by: str
    t: float


@dataclass(frozen=True, slots=True)
class LoopIterated:
    """A loop node finished one turn of its body (`index`: the turn that just ended)."""

    node_id: str
    iteration: tuple[int, ...]  # the loop node's own iteration path
    index: int  # the iteration that just ended (0-based)
    total: int | None  # number of items for foreach; None for while
    t: float


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The run ended: its status, duration, error sentence and workflow outputs."""

    run_id: str
    status: str  # "succeeded" | "failed" | "cancelled"
    outputs: dict[str, Any]
    error: str | None
    duration_s: float
    t: float


@dataclass(frozen=True, slots=True)
class AlertFired:
    """A workflow alert's threshold was crossed (engine/alerts.py): `value` is over `over`.

    Live metrics (duration_s, cpu_percent, rss_mb) fire during the run; failure_rate and
    node_duration_p95 after it, against the last `window` runs in the history."""

    run_id: str
    metric: str
    node_id: str | None
    value: float
    over: float
    window: int | None
    message: str
    t: float


def _direct_init(cls: type) -> None:
    """Give frozen dataclass `cls` an `__init__` that sets each slot through its descriptor:
    the same signature, defaults and frozen instances at about half the cost — the one
    @dataclass writes calls `object.__setattr__` per field, and a run makes two events a node
    (bench/startup.py, async row)."""
    params, lines = [], []
    namespace: dict[str, Any] = {}
    for f in fields(cls):
        assert f.default_factory is MISSING, "no event field has a default factory"
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        if f.default is MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        lines.append(f"    _set_{f.name}(self, {f.name})")
    exec(f"def __init__(self, {', '.join(params)}):\n" + "\n".join(lines), namespace)  # noqa: S102 - our own field names
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[misc]


def _builder(cls: type) -> Any:
    """A function that makes a `cls` event from the arguments `cls(...)` takes, at about half
    the cost of even `_direct_init`'s `__init__` (a descriptor call a field): it fills an
    instance of a twin class with the same slots, by plain attribute stores, then makes it a
    `cls` (`__class__` assignment, which Python allows between classes of the same slots).
    What it gives is a `cls` like any other: frozen, equal to and hashing like `cls(...)`'s."""
    twin = type(f"_{cls.__name__}Draft", (), {"__slots__": cls.__slots__, "__module__": __name__})
    params, lines = [], []
    namespace: dict[str, Any] = {"_twin": twin, "_cls": cls}
    for f in fields(cls):
        if f.default is MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        lines.append(f"    event.{f.name} = {f.name}")
    source = (f"def new_{cls.__name__}({', '.join(params)}):\n    event = _twin()\n"
              + "\n".join(lines) + "\n    event.__class__ = _cls\n    return event")
    exec(source, namespace)  # noqa: S102 - our own field names
    return namespace[f"new_{cls.__name__}"]


# the events made for every node of a run
for _cls in (NodeStarted, NodeFinished, NodeFailed, NodeSkipped):
    _direct_init(_cls)
del _cls
# ... and how the ledger makes them (engine/ledger.py)
new_node_started = _builder(NodeStarted)
new_node_finished = _builder(NodeFinished)
new_node_failed = _builder(NodeFailed)
new_node_skipped = _builder(NodeSkipped)


Event = (RunStarted | NodeStarted | NodeProgressed | NodeLogged | NodeRetrying | NodeFinished
         | NodeFailed | NodeSkipped | NodeCancelled | ApprovalRequested | ApprovalDecided
         | LoopIterated | RunFinished | AlertFired)
