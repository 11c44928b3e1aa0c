"""`flowloom run FILE --reuse-from RUN_ID`: which nodes reuse what an earlier run recorded.

Walking the top-level nodes in dependency order, a node *reuses* its recorded outputs when its
cache key (keys.py) equals the recorded one — same type, version, params, settings and input
hashes, the inputs computed from the outputs reused upstream — and it succeeded then. That holds
for pure nodes and nodes with effects alike: an unchanged POST is not sent again. A node whose
key changed, or whose upstream runs again, *runs*; when it has effects it is marked *resend*,
since they will be made again. `--resend NODE` makes NODE run again on purpose.

Nodes that run with their own params unchanged (only their inputs moved) still get any request
identical to a recorded one served from the record (serve.py, reuse mode), unless resent.
`plan.reuse` is what `Run(..., reuse=...)` takes; `plan.actions` is what the editor shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx

from engine.record.codec import reusable
from engine.record.keys import UNKNOWN, bodies, cache_key, input_digest, static_key
from engine.record.serve import REUSE, RecordSource
from engine.record.store import Record

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.compile import Compiled

REUSED, RUN, RESEND, SKIP = "reuse", "run", "resend", "skip"


@dataclass
class ReusePlan:
    """Which nodes of the next run take an earlier run's outputs, which run again, and why."""

    reuse: dict[str, dict[str, Any]] = field(default_factory=dict)
    actions: dict[str, str] = field(default_factory=dict)  # top-level node -> REUSED/RUN/...
    why: dict[str, str] = field(default_factory=dict)  # node -> why it runs
    source: RecordSource | None = None

    def nodes_with(self, action: str) -> list[str]:
        return [nid for nid, a in self.actions.items() if a == action]

    def summary(self) -> str:
        parts = [f"{len(self.nodes_with(a))} {label}" for a, label in
                 ((REUSED, "reused"), (RUN, "run"), (RESEND, "resend their effects"))]
        return ", ".join(parts)


def plan_reuse(compiled: Compiled, record: Record, run_inputs: dict[str, Any],
               resend: set[str] | frozenset[str] = frozenset()) -> ReusePlan:
    plan = ReusePlan()
    top = compiled.plan.nodes
    known: dict[str, Any] = {}
    loop_bodies = bodies(compiled)
    unchanged: set[str] = set()
    order = list(nx.topological_sort(compiled.plan.graph))
    for node_id in order:
        pn = top[node_id]
        fact = record.nodes.get((node_id, ""))
        effect = not pn.impl.is_pure()
        static = static_key(compiled, node_id, loop_bodies)
        if fact is not None and fact.static == static and node_id not in resend:
            unchanged.add(node_id)
        action, why = (RESEND if effect else RUN), ""
        if node_id in resend:
            why = "--resend"
        elif fact is None:
            why = "not in the earlier run"
        elif pn.kind == "output":
            why, action = "an output is always written again", RUN
        else:
            digest = input_digest(compiled, node_id, lambda s: known.get(s, UNKNOWN),
                                  run_inputs)
            if digest is None:
                why = "an input comes from a node that runs again"
            elif cache_key(static, digest) != fact.key:
                why = "its params, settings or inputs changed"
            elif fact.status == "skipped":
                action = SKIP
            elif fact.status != "succeeded":
                why = f"it {fact.status} in the earlier run"
            else:
                data = record.blob(fact.outputs_blob)
                if data is None or not reusable(data):
                    why = "its recorded outputs cannot be handed on again"
                else:
                    action = REUSED
        plan.actions[node_id] = action
        if action == REUSED:
            plan.reuse[node_id] = record.outputs(node_id) or {}
            known[node_id] = plan.reuse[node_id]
        elif action == SKIP:
            known[node_id] = {}
        else:
            if action == RESEND and fact is None:
                action = plan.actions[node_id] = RUN  # never sent before: nothing is resent
            plan.why[node_id] = why
    serve = {nid for nid in unchanged if plan.actions.get(nid) in (RUN, RESEND)}
    # nodes inside loops and tool nodes have no top-level action: theirs is their loop's
    for node_id, scope in compiled.scope_of.items():
        outer = scope
        while outer is not None and compiled.scope_of.get(outer) is not None:
            outer = compiled.scope_of[outer]
        if outer is not None and outer in serve:
            serve.add(node_id)
    plan.source = RecordSource(record, mode=REUSE, serve=serve)
    return plan
