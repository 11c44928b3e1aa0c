"""A node execution's cache key: what decides its result.

    key = sha256(static part, input digest)
    static part = type, type version, params, retry / timeout / on_error / limits / pool, the
                  workflow's run settings; for a loop, the static parts of its body and the
                  edges inside it; for an agent, those of its tool nodes
    input digest = for each connected input port, each source's value on that wire (its hash),
                   or "dead" when the source gave none (a branch not taken, a skipped node);
                   for flow.start, the run's inputs

Two executions with equal keys were asked the same thing in the same way. The recorder computes
the keys of a finished run from its recorded outputs (store.py); `--reuse-from` computes those
of the next run from the outputs it will reuse (reuse.py), with the same function, so equal
keys mean equal inputs however the values were written. `digest_of` lets the recorder hand in
its `codec.Canon`, so a value is encoded once for its blob and its keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.record.codec import value_digest

_encode_ascii = json.encoder.encode_basestring_ascii
_c_make = json.encoder.c_make_encoder
# json.dumps(data, sort_keys=True, separators=(",", ":"), default=repr)'s own C encoder, built
# once instead of once per key (no circular check: a key's parts are the file's plain values)
_c_key = (_c_make(None, repr, _encode_ascii, None, ":", ",", True, False, True)
          if _c_make is not None else None)

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.compile import Compiled

DEAD = "dead"
UNKNOWN = object()  # outputs_of(...) for a node that has not run yet: no key can be made


def _hash(data: Any) -> str:
    if _c_key is None:  # pragma: no cover - a Python without the _json accelerator
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=repr)
    else:
        text = "".join(_c_key(data, 0))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _settings(compiled: Compiled) -> Any:
    extra = compiled.workflow.extra
    return {k: extra.get(k) for k in ("settings", "pools") if k in extra}


def _own(compiled: Compiled, node_id: str) -> list[Any]:
    node = compiled.workflow.nodes[node_id]
    pn = compiled.nodes.get(node_id)
    version = getattr(type(pn.impl), "version", 1) if pn is not None else 1
    return [node.type, version, node.params, node.retry, node.timeout_s, node.on_error,
            node.limits, node.pool]


def bodies(compiled: Compiled) -> dict[str, list[str]]:
    """Loop id -> every node inside it (nested loops' bodies included), sorted."""
    found: dict[str, list[str]] = {}
    for nid in compiled.workflow.nodes:
        scope = compiled.scope_of.get(nid)
        while scope is not None:
            found.setdefault(scope, []).append(nid)
            scope = compiled.scope_of.get(scope)
    return {loop: sorted(ids) for loop, ids in found.items()}


def static_key(compiled: Compiled, node_id: str,
               loop_bodies: dict[str, list[str]] | None = None) -> str:
    """The part of the key that the workflow alone decides."""
    parts: list[Any] = [_own(compiled, node_id), _settings(compiled)]
    body = (bodies(compiled) if loop_bodies is None else loop_bodies).get(node_id, [])
    if body:
        inner = set(body) | {node_id}
        parts.append([_own(compiled, nid) for nid in body])
        parts.append(sorted(e.key() for e in compiled.workflow.edges
                            if e.source in inner and e.target in inner))
    pn = compiled.nodes.get(node_id)
    if pn is not None and pn.tools:
        parts.append([[port, tool, _own(compiled, tool)] for port, tool in pn.tools])
    return _hash(parts)


def input_digest(compiled: Compiled, node_id: str,
                 outputs_of: Callable[[str], Any], run_inputs: dict[str, Any],
                 digest_of: Callable[[Any], str] = value_digest) -> str | None:
    """The digest of a top-level node's inputs; None when a source's outputs are UNKNOWN.
    `outputs_of(source)` gives the source's outputs (a dict; {} for a node that gave none);
    `digest_of(value)` a value's digest (codec.value_digest, or a Canon's remembered one)."""
    pn = compiled.plan.nodes[node_id]
    parts: list[Any] = []
    if pn.kind == "start":
        parts.append(["inputs", digest_of(run_inputs)])
    for port, sources, _multi, _type in pn.in_ports:
        for source, source_port in sources:
            outputs = outputs_of(source)
            if outputs is UNKNOWN:
                return None
            if isinstance(outputs, dict) and source_port in outputs:
                parts.append([port, source, source_port, digest_of(outputs[source_port])])
            else:
                parts.append([port, source, source_port, DEAD])
    return _hash(parts)


def cache_key(static: str, inputs: str) -> str:
    both = static + inputs
    if not (both.isascii() and both.isalnum()):  # pragma: no cover - digests are hex
        return _hash([static, inputs])
    # _hash([static, inputs]) written out: two hex digests need no escaping
    return hashlib.sha256(f'["{static}","{inputs}"]'.encode("ascii")).hexdigest()


def node_keys(compiled: Compiled, outputs_of: Callable[[str], Any],
              run_inputs: dict[str, Any], statics: dict[str, str] | None = None,
              digest_of: Callable[[Any], str] = value_digest) -> dict[str, str]:
    """The cache key of every top-level node whose sources' outputs are all known
    (`statics`: their static keys, when the caller has them already)."""
    keys = {}
    loop_bodies = bodies(compiled) if statics is None else {}
    for node_id in compiled.plan.nodes:
        digest = input_digest(compiled, node_id, outputs_of, run_inputs, digest_of)
        if digest is not None:
            static = (statics[node_id] if statics is not None
                      else static_key(compiled, node_id, loop_bodies))
            keys[node_id] = cache_key(static, digest)
    return keys
