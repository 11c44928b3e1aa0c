"""Capabilities, what a workflow needs (its manifest), and what a run is allowed (its grants).

Four capabilities, after Deno's permission model:
  * `net`   — hosts, written `host` (the scheme's default port) or `host:port`;
  * `read`, `write` — absolute paths (relative ones start at the workflow's folder; `~`, `..`
    and symlinks are resolved with os.path.realpath);
  * `run`   — executing code or processes; its targets are the node types that do it.

A node type says what one of its nodes needs through `NodeType.needs(params, base_dir)`
(a list of `Need`). A type that returns None has not said; Flowloom's own types (defined in the
`engine` or `nodes` packages) that say nothing need nothing, any other type counts as needing
`run`. A need whose target is only known at run time (a templated URL, a path fed by an input
edge, a tool's arguments chosen by a model) is *dynamic*: its capability is needed, its target
is not known. `Need(INCLUDE, path)` asks for the needs of a sub-workflow file, walked here
recursively (each file once).

`Grants` is what one run may do, per capability: None (nothing), EVERYTHING, or a set of
hosts / paths / node ids. A grant of host `h` allows every port of `h`; `h:p` only port `p`.
A grant of path `P` allows `P` and everything under it. The checks run at the moment of
access (engine/context.py, the run's HTTP client), raising `Denied`.
"""

from __future__ import annotations

import contextvars
import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from engine.errors import NodeFailure, WorkflowFileError
from engine.fileformat import load
from engine.nodetype import NodeType

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.model import Workflow
    from engine.registry import Registry

NET, READ, WRITE, RUN = "net", "read", "write", "run"
CAPABILITIES = (NET, READ, WRITE, RUN)
INCLUDE = "include"  # not a capability: "add the needs of this workflow file"
EVERYTHING = "everything"
BUILTIN_PACKAGES = ("engine", "nodes")
FLAGS = {NET: "--allow-net", READ: "--allow-read", WRITE: "--allow-write", RUN: "--allow-run"}
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Which node is using the run's shared HTTP client, for the request hook's message. A context
# variable, so each node's task (and the threads it starts) sees its own.
ACTOR: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "flowloom_actor", default=None)


class Denied(NodeFailure):
    """An access outside what the run was granted; the message names the target and flag."""


@dataclass(frozen=True, slots=True)
class Need:
    """One thing a node's run needs. `target` is None when it is only known at run time."""

    capability: str
    target: str | None = None
    param: str = ""  # the parameter the target comes from
    port: str = ""  # an input port that, when wired, replaces the parameter at run time


# --- building needs (used by node types) ------------------------------------------------
def is_template(text: Any) -> bool:
    return isinstance(text, str) and ("{{" in text or "{%" in text)


def host_of(url: str) -> str | None:
    """`host` or `host:port` (port only when not the scheme's default); None if no host."""
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    if ":" in host:  # IPv6
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    return f"{host}:{port}"


def url_need(url: Any, param: str, port: str = "") -> Need:
    target = None if is_template(url) or not isinstance(url, str) else host_of(url)
    return Need(NET, target, param, port)


def resolve_path(path: str, base_dir: Path | str | None) -> str:
    """The real absolute path: `~` expanded, relative to `base_dir`, `..` and symlinks gone."""
    p = os.path.expanduser(path)
    if not os.path.isabs(p):
        p = os.path.join(str(base_dir) if base_dir else os.getcwd(), p)
    return os.path.realpath(p)


def path_need(capability: str, path: Any, base_dir: Path | str | None, param: str,
              port: str = "") -> Need:
    if not isinstance(path, str) or not path.strip() or is_template(path):
        return Need(capability, None, param, port)
    return Need(capability, resolve_path(path, base_dir), param, port)


# --- the manifest ------------------------------------------------------------------------
@dataclass
class Manifest:
    """What a workflow needs: capability -> target -> node ids, plus the dynamic targets."""

    needs: dict[str, dict[str, list[str]]] = field(
        default_factory=lambda: {c: {} for c in CAPABILITIES})
    dynamic: list[dict[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.dynamic and not any(self.needs.values())

    def add(self, capability: str, target: str, node_id: str) -> None:
        nodes = self.needs[capability].setdefault(target, [])
        if node_id not in nodes:
            nodes.append(node_id)

    def add_dynamic(self, node_id: str, capability: str, param: str) -> None:
        entry = {"node": node_id, "capability": capability, "param": param}
        if entry not in self.dynamic:
            self.dynamic.append(entry)

    def nodes(self) -> list[str]:
        """Every node id that needs something, in first-seen order."""
        seen: dict[str, None] = {}
        for targets in self.needs.values():
            for ids in targets.values():
                seen.update(dict.fromkeys(ids))
        seen.update(dict.fromkeys(d["node"] for d in self.dynamic))
        return list(seen)

    def to_json(self, trusted: bool) -> dict[str, Any]:
        """The public shape of `flowloom permissions --json`."""
        return {"trusted": trusted,
                "needs": {c: [{"target": t, "nodes": list(ids)}
                              for t, ids in self.needs[c].items()] for c in CAPABILITIES},
                "dynamic": [dict(d) for d in self.dynamic]}


_DECLARES_NOTHING = NodeType.needs.__func__  # type: ignore[attr-defined]


def is_builtin(node_type: type) -> bool:
    return node_type.__module__.split(".", 1)[0] in BUILTIN_PACKAGES


@functools.cache
def _needs_of_silent_type(node_type: type) -> tuple[Need, ...] | None:
    """What a node of a type that keeps NodeType.needs (which answers None whatever the
    params) needs, by the rule for types that declare nothing; None for a type that declares
    its needs itself. Once per type: node_needs runs for every node, twice in an untrusted
    run (the manifest, then check_start)."""
    if getattr(getattr(node_type, "needs", None), "__func__", None) is not _DECLARES_NOTHING:
        return None
    return () if is_builtin(node_type) else (Need(RUN, node_type.type_id or "?"),)


def node_needs(node_type: Any, params: dict[str, Any], base_dir: Path | None) -> list[Need]:
    """What one node needs, with the rule for types that declare nothing applied."""
    try:
        silent = _needs_of_silent_type(node_type)
    except TypeError:  # not hashable (not a class): asked the long way
        silent = None
    if silent is not None:  # no defaults merged only to be ignored
        return list(silent)
    if getattr(getattr(node_type, "needs", None), "__func__", None) is _DECLARES_NOTHING:
        declared = None
    else:
        try:
            declared = node_type.needs(node_type.with_defaults(params), base_dir)
        except Exception:  # a broken declaration must not hide what the node could do
            declared = None
    if declared is None:
        return [] if is_builtin(node_type) else [Need(RUN, node_type.type_id or "?")]
    return list(declared)


def _tool_nodes(workflow: Workflow, registry: Registry) -> set[str]:
    tools = set()
    tools_ports: dict[str, frozenset[str]] = {}  # target id -> its tools ports, once a node
    for edge in workflow.edges:
        names = tools_ports.get(edge.target)
        if names is None:
            target = workflow.nodes.get(edge.target)
            if target is None or target.type not in registry:
                names = frozenset()
            else:
                names = frozenset(p.name for p in
                                  registry.get(target.type).input_ports(target.params)
                                  if p.tools)
            tools_ports[edge.target] = names
        if edge.target_port in names:
            tools.add(edge.source)
    return tools


def manifest_of(workflow: Workflow, registry: Registry, base_dir: Path | str | None,
                *, source: Path | str | None = None, _seen: set[str] | None = None,
                _into: Manifest | None = None, _as: str | None = None) -> Manifest:
    """The manifest of `workflow`, whose relative paths start at `base_dir`. `source` (the
    workflow's own file, if any) is not walked again when a sub-workflow calls it back."""
    manifest = _into if _into is not None else Manifest()
    seen = _seen if _seen is not None else set()
    if source is not None:
        seen.add(str(Path(source).resolve()))
    base = Path(base_dir) if base_dir else None
    tools: set[str] | None = None  # worked out when a need names a port (most never do)
    wired_ports: dict[str, set[str]] = {}
    for node in workflow.nodes.values():
        owner = _as or node.id
        if node.type not in registry:
            manifest.add(RUN, node.type, owner)  # unknown: it could do anything
            continue
        for need in node_needs(registry.get(node.type), node.params, base):
            if need.capability == INCLUDE:
                if need.target is None:
                    manifest.add_dynamic(owner, RUN, need.param)
                elif need.target not in seen:
                    seen.add(need.target)
                    try:
                        child = load(need.target)
                    except WorkflowFileError:
                        continue  # the node fails when it runs; nothing there can run
                    manifest_of(child.workflow, registry, Path(need.target).parent,
                                _seen=seen, _into=manifest, _as=owner)
                continue
            if need.port and tools is None:
                tools = _tool_nodes(workflow, registry)
                for edge in workflow.edges:
                    wired_ports.setdefault(edge.target, set()).add(edge.target_port)
            overridden = bool(need.port) and (need.port in wired_ports.get(node.id, ())
                                              or node.id in tools)  # type: ignore[operator]
            if need.target is None and need.capability == RUN:
                manifest.add(RUN, node.type, owner)
            elif need.target is None or overridden:
                manifest.add_dynamic(owner, need.capability, need.param)
            else:
                manifest.add(need.capability, need.target, owner)
    return manifest


# --- grants ------------------------------------------------------------------------------
Grant = frozenset[str] | str | None


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class Grants:
    """What one run may do; see the module docstring."""

    net: Grant = None
    read: Grant = None
    write: Grant = None
    run: Grant = None

    @classmethod
    def everything(cls) -> Grants:
        return cls(EVERYTHING, EVERYTHING, EVERYTHING, EVERYTHING)

    @classmethod
    def covering(cls, manifest: Manifest) -> Grants:
        """Exactly what `manifest` lists; a capability with a dynamic target: everywhere."""
        dynamic = {d["capability"] for d in manifest.dynamic}
        values = {}
        for cap in CAPABILITIES:
            if cap in dynamic or (cap == RUN and manifest.needs[RUN]):
                values[cap] = EVERYTHING
            elif manifest.needs[cap]:
                values[cap] = frozenset(manifest.needs[cap])
            else:
                values[cap] = None
        return cls(**values)

    def grant(self, capability: str) -> Grant:
        return getattr(self, capability)

    def allows(self, capability: str, target: str | None) -> bool:
        """Whether `target` (None: any target, for a dynamic need) is within the grant."""
        grant = self.grant(capability)
        if grant is None:
            return False
        if grant == EVERYTHING or capability == RUN:
            return True
        if target is None:
            return True  # the capability is granted somewhere; each access is checked
        if capability == NET:
            host = target.rsplit(":", 1)[0] if not target.endswith("]") else target
            return target in grant or host in grant
        real = os.path.realpath(target)
        return any(_under(real, os.path.realpath(g)) for g in grant)

    def uncovered(self, manifest: Manifest) -> Manifest:
        """The part of `manifest` these grants do not allow (checked again at access)."""
        left = Manifest()
        for cap in CAPABILITIES:
            for target, ids in manifest.needs[cap].items():
                if not self.allows(cap, target):
                    for node_id in ids:
                        left.add(cap, target, node_id)
        for d in manifest.dynamic:
            if not self.allows(d["capability"], None):
                left.add_dynamic(d["node"], d["capability"], d["param"])
        return left

    # --- checks at the moment of access ---------------------------------------------------
    def check(self, capability: str, target: str, who: str) -> None:
        """Raise Denied (naming `who`, the target and the flag) unless `target` is allowed."""
        if not self.allows(capability, target):
            flag = FLAGS[capability] + ("" if capability == RUN else f"={target}")
            what = "running code" if capability == RUN else target
            raise Denied(f"{who}: {what} is not allowed for this run (allow it with {flag})")

    def check_url(self, url: str, who: str) -> None:
        host = host_of(url)
        if host is None:
            raise Denied(f"{who}: {url[:80]!r} names no host, so it cannot be allowed")
        self.check(NET, host, who)


def actor_name() -> str:
    actor = ACTOR.get()
    return f"{actor[0]} {actor[1]!r}" if actor else "a request"


def request_hook(grants: Grants) -> Any:
    """An httpx request event hook: every request of the run, redirects included, is checked
    before it is sent."""

    async def check(request: Any) -> None:
        grants.check_url(str(request.url), actor_name())

    return check


def flags_for(manifest: Manifest) -> list[str]:
    """The run flags that would allow everything in `manifest`."""
    dynamic = {d["capability"] for d in manifest.dynamic}
    flags = []
    for cap in (NET, READ, WRITE):
        if cap in dynamic:
            flags.append(FLAGS[cap])
        elif manifest.needs[cap]:
            flags.append(f"{FLAGS[cap]}={','.join(manifest.needs[cap])}")
    if manifest.needs[RUN] or RUN in dynamic:
        flags.append(FLAGS[RUN])
    return flags


def describe(manifest: Manifest) -> list[str]:
    """The manifest as lines for a terminal: capability, target, node ids."""
    labels = {NET: "contacts", READ: "reads", WRITE: "writes", RUN: "runs code"}
    lines = []
    for cap in CAPABILITIES:
        for target, ids in manifest.needs[cap].items():
            lines.append(f"  {labels[cap]:<10} {target}  (node {', '.join(ids)})")
    for d in manifest.dynamic:
        lines.append(f"  {labels[d['capability']]:<10} a target computed at run time from "
                     f"{d['param']!r}  (node {d['node']})")
    return lines


def parse_grant(values: Iterable[str] | None) -> Grant:
    """Flag values (each a comma-separated list, or '*' for everywhere) -> a grant."""
    if values is None:
        return None
    items: set[str] = set()
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if item in ("*", EVERYTHING):
                return EVERYTHING
            if item:
                items.add(item)
    return frozenset(items) if items else EVERYTHING
