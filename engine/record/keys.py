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
import marshal
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
    scope_of = compiled.scope_of  # every node of the workflow -> its loop, or None
    for nid, scope in scope_of.items():
        while scope is not None:
            found.setdefault(scope, []).append(nid)
            scope = scope_of.get(scope)
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


def static_keys(compiled: Compiled, node_ids: Any,
                loop_bodies: dict[str, list[str]] | None = None) -> dict[str, str]:
    """`static_key` of each of `node_ids`, worked out once per distinct (type, params,
    settings) among the nodes that are no loop and have no tools (a 10 000-node chain of two
    kinds of node hashes two keys); tests/record/test_keys_fast.py compares it with
    `static_key` node by node."""
    loop_bodies = bodies(compiled) if loop_bodies is None else loop_bodies
    settings = _settings(compiled)
    nodes, plan_nodes = compiled.workflow.nodes, compiled.nodes
    memo: dict[tuple[Any, ...], str] = {}
    found: dict[str, str] = {}
    for node_id in node_ids:
        pn = plan_nodes.get(node_id)
        if loop_bodies.get(node_id) or (pn is not None and pn.tools):
            found[node_id] = static_key(compiled, node_id, loop_bodies)
            continue
        node = nodes[node_id]
        # the memo's key, a hashable stand-in for `_own(compiled, node_id)`: equal only for
        # nodes whose own part encodes alike. marshal writes each value with its exact type
        # (1, True and 1.0, 0.0 and -0.0, a list and a tuple are told apart) and reads back
        # what it wrote, so equal bytes mean equal values; a dict in another order only misses
        # the memo. None when marshal refuses a value (an object of another class: its key is
        # worked out on its own)
        try:
            memo_key: tuple[Any, ...] | None = (
                node.type, type(pn.impl) if pn is not None else None,
                marshal.dumps((node.params, node.retry, node.timeout_s, node.on_error,
                               node.limits, node.pool)))
        except ValueError:
            memo_key = None
        key = None if memo_key is None else memo.get(memo_key)
        if key is None:
            key = _hash([_own(compiled, node_id), settings])
            if memo_key is not None:
                memo[memo_key] = key
        found[node_id] = key
    return found


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
    if statics is None:
        statics = static_keys(compiled, compiled.plan.nodes)
    for node_id in compiled.plan.nodes:
        digest = input_digest(compiled, node_id, outputs_of, run_inputs, digest_of)
        if digest is not None:
            keys[node_id] = cache_key(statics[node_id], digest)
    return keys


_enc = _encode_ascii
_encode_str = json.encoder.encode_basestring  # codec.text's, for a str value
_sha256 = hashlib.sha256


def recorded_keys(compiled: Compiled, outputs: Callable[[str], Any],
                  run_inputs: dict[str, Any], statics: dict[str, str],
                  digest_of: Callable[[Any], str],
                  texts: dict[str, tuple[str, str]] | None = None) -> dict[str, str]:
    """`node_keys` for a finished run, whose every source has run or not (`outputs(source)`
    gives its outputs as node_keys' `outputs_of` does, never UNKNOWN): the same keys, with the
    input digest's text written out for the usual parts (str ports and ids, hex digests)
    instead of going through the encoder, and an int or str value's digest taken here as
    `digest_of` (codec.value_digest or a Canon's) takes it. `texts`: node -> codec.one_value
    of its outputs, for the nodes the caller has it of (the usual node's value digest is
    then the hash of that text, as value_digest takes it). tests/record/test_keys_fast.py
    compares the two."""
    keys = {}
    texts = {} if texts is None else texts
    names: dict[str, str] = {}  # a port name -> its text (a few names, many wires)
    hashed: dict[str, str] = {}  # a node of `texts` -> the digest of its value's text
    for node_id, pn in compiled.plan.nodes.items():
        static = statics[node_id]
        in_ports = pn.in_ports
        if len(in_ports) == 1 and pn.kind != "start":  # the usual node: one input, one wire
            port, sources, _multi, _type = in_ports[0]
            if len(sources) == 1 and type(port) is str:
                source, source_port = sources[0]
                given = texts.get(source)
                if given is not None and given[0] == source_port and type(source) is str:
                    # one_value's key is a str; its text is codec.text of the value
                    head = names.get(port)
                    if head is None:
                        head = names[port] = _enc(port)
                    tail = names.get(source_port)
                    if tail is None:
                        tail = names[source_port] = _enc(source_port)
                    value = hashed.get(source)  # a source feeding many: hashed once
                    if value is None:
                        value = hashed[source] = _sha256(given[1].encode("utf-8")).hexdigest()
                    digest = _sha256(f'[[{head},{_enc(source)},{tail},"{value}"]]'
                                     .encode()).hexdigest()
                    keys[node_id] = _sha256(f'["{static}","{digest}"]'.encode()).hexdigest()
                    continue
                given = outputs(source)
                if type(source) is str and type(source_port) is str \
                        and type(given) is dict and source_port in given \
                        and type(given[source_port]) is int:
                    value = _sha256(int.__repr__(given[source_port]).encode()).hexdigest()
                    digest = _sha256(f'[[{_enc(port)},{_enc(source)},{_enc(source_port)},'
                                     f'"{value}"]]'.encode()).hexdigest()
                    keys[node_id] = _sha256(f'["{static}","{digest}"]'.encode()).hexdigest()
                    continue
        if pn.kind == "start":
            parts: list[str] = [f'["inputs","{digest_of(run_inputs)}"]']
        else:
            parts = []
        for port, sources, _multi, _type in in_ports:
            if type(port) is not str:
                parts = None  # type: ignore[assignment]
                break
            head = _enc(port)
            for source, source_port in sources:
                if type(source) is not str or type(source_port) is not str:
                    parts = None  # type: ignore[assignment]
                    break
                given = outputs(source)
                if isinstance(given, dict) and source_port in given:
                    value = given[source_port]
                    kind = type(value)
                    if kind is int:  # codec.text of an int or a str, hashed as digest_of does
                        end = f'"{_sha256(int.__repr__(value).encode()).hexdigest()}"'
                    elif kind is str:
                        end = f'"{_sha256(_encode_str(value).encode("utf-8")).hexdigest()}"'
                    else:
                        end = '"' + digest_of(value) + '"'
                else:
                    end = '"dead"'
                parts.append(f"[{head},{_enc(source)},{_enc(source_port)},{end}]")
            if parts is None:
                break
        if parts is None:  # an odd port or id: the encoder writes it
            digest = input_digest(compiled, node_id,
                                  outputs, run_inputs, digest_of)
            keys[node_id] = cache_key(static, digest or "")
            continue
        digest = _sha256(("[" + ",".join(parts) + "]").encode("utf-8")).hexdigest()
        # cache_key(static, digest) written out: both are hex digests
        keys[node_id] = _sha256(f'["{static}","{digest}"]'.encode("ascii")).hexdigest()
    return keys
