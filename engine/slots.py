"""Priority-ordered slots: the run-wide concurrency cap, named pools, per-host LLM limits.

`Slots(size)` lets at most `size` holders in at once. Unlike `asyncio.Semaphore` (first come,
first served), a freed slot goes to the waiter with the highest priority; waiters of equal
priority are served in the order they came. A waiter that is cancelled leaves the queue (or,
if a slot was handed to it in the same instant, passes that slot on), so no slot is lost.

`Pools` is the table of named pools one run — and every sub-workflow it calls — shares.
`HostSlots` is an app-wide table of `Slots` keyed by LLM server host, made from a host -> limit
map, that a host program (the editor) hands to every run so two runs at once share one limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from engine.errors import Problem
from engine.loops import LOOP_KINDS

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.model import Workflow
    from engine.nodetype import NodeType

POOLS_KEY = "pools"  # Services.extra: the Pools a sub-workflow shares with its caller
HOST_SLOTS_KEY = "host_slots"  # Services.extra: the app-wide HostSlots

SUBWORKFLOW = "flow.subworkflow"  # nodes/flowctl.py; named here so the engine need not import it


def pool_sizes(workflow: Workflow) -> dict[str, int]:
    """The workflow-level "pools" (name -> size) as written, the bad entries left out."""
    raw = workflow.extra.get("pools")
    if not isinstance(raw, dict):
        return {}
    return {name: size for name, size in raw.items()
            if isinstance(name, str) and _good_size(size)}


def _good_size(size: Any) -> bool:
    return isinstance(size, int) and not isinstance(size, bool) and size >= 1


def pool_problems(workflow: Workflow, types: Mapping[str, type[NodeType]]) -> list[Problem]:
    """One sentence per bad "pools" entry, unknown node "pool" or bad "priority"."""
    problems = []
    raw = workflow.extra.get("pools")
    if raw is not None and not isinstance(raw, dict):
        problems.append(Problem('"pools" must be an object of pool name -> size, like '
                                '{"llm": 2}'))
        raw = {}
    for name, size in (raw or {}).items():
        if not name.strip():
            problems.append(Problem('"pools" has an empty pool name'))
        elif not _good_size(size):
            problems.append(Problem(f'pool {name!r} must have a whole number size of at least '
                                    f'1, got {size!r}'))
    known = pool_sizes(workflow)
    for node in workflow.nodes.values():
        pool = node.pool
        if pool is not None:
            if not isinstance(pool, str) or pool not in known:
                names = ", ".join(sorted(known)) or "none are declared"
                problems.append(Problem(f'"pool" {pool!r} is not one of the workflow\'s pools '
                                        f'({names})', node_id=node.id))
            elif node.id in types and (types[node.id].kind in LOOP_KINDS
                                       or node.type == SUBWORKFLOW):
                problems.append(Problem('a loop or sub-workflow node cannot take a pool (the '
                                        'nodes inside it would wait for it); set "pool" on '
                                        'those nodes', node_id=node.id))
        p = node.priority
        if isinstance(p, bool) or not isinstance(p, int):
            problems.append(Problem(f'"priority" must be a whole number (higher runs first), '
                                    f'got {p!r}', node_id=node.id))
    problems.extend(_tool_pool_problems(workflow, types, known))
    return problems


def _tool_pool_problems(workflow: Workflow, types: Mapping[str, type[NodeType]],
                        known: Mapping[str, int]) -> list[Problem]:
    """An agent and a tool it calls in one pool of size 1 can never both run: the agent holds
    the pool's one slot while it waits for the tool, which waits for that slot."""
    problems = []
    nodes = workflow.nodes
    for edge in workflow.edges:
        agent, tool = nodes.get(edge.target), nodes.get(edge.source)
        if agent is None or tool is None or edge.target not in types:
            continue
        pool = agent.pool
        if pool is None or pool != tool.pool or known.get(pool) != 1:
            continue
        try:
            ports = types[edge.target].input_ports(agent.params)
        except Exception:  # noqa: BLE001 - bad params are reported by the node's own check
            continue
        if any(port.name == edge.target_port and port.tools for port in ports):
            problems.append(Problem(
                f'{agent.id!r} and its tool {tool.id!r} are both in pool {pool!r} of size 1: '
                f'the agent would hold the pool\'s one slot while it waits for the tool, which '
                f'waits for that slot; give the tool another pool or none, or make the pool '
                f'larger', node_id=agent.id))
    return problems


class Slots:
    """At most `size` holders at once; waiters are admitted highest priority first."""

    __slots__ = ("size", "_free", "_waiters", "_order")

    def __init__(self, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"a slot count must be a whole number of at least 1, got {size!r}")
        self.size = size
        self._free = size
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @property
    def held(self) -> int:
        return self.size - self._free

    @property
    def waiting(self) -> int:
        return sum(1 for _, _, f in self._waiters if not f.done())

    async def acquire(self, priority: int = 0) -> None:
        if self._free > 0 and not self.waiting:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (-priority, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over as we were cancelled: pass it on
            raise

    def release(self) -> None:
        """Free one slot: hand it to the best waiter still waiting, or keep it free."""
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)
                return
        if self._free >= self.size:
            raise RuntimeError("released a slot that was not held")
        self._free += 1

    @contextlib.asynccontextmanager
    async def hold(self, priority: int = 0) -> AsyncIterator[None]:
        await self.acquire(priority)
        try:
            yield
        finally:
            self.release()


class Pools:
    """Named pools, shared by a run and its sub-workflows. The first size given for a name
    wins: a sub-workflow naming a pool its caller already has uses the caller's."""

    __slots__ = ("_slots",)

    def __init__(self, sizes: Mapping[str, int] | None = None) -> None:
        self._slots: dict[str, Slots] = {}
        self.add(sizes or {})

    def add(self, sizes: Mapping[str, int]) -> None:
        for name, size in sizes.items():
            if name not in self._slots:
                self._slots[name] = Slots(size)

    def get(self, name: str) -> Slots:
        return self._slots[name]

    def __contains__(self, name: object) -> bool:
        return name in self._slots


class Admission:
    """What a node waits for before it runs: a slot of its pool (if any), then one under the
    run-wide cap (if any). Always in that order, so two nodes never each hold what the other
    waits for. `would_deadlock(pool)` says whether the current task holds every slot of
    `pool`, so a tool call of an agent that holds the last slot of the tool's own pool fails
    at once instead of waiting forever."""

    __slots__ = ("cap", "pools", "_held")

    def __init__(self, cap: Any | None = None, pools: Pools | None = None) -> None:
        self.cap = cap  # engine.cap.Cap or None: no run-wide cap
        self.pools = pools if pools is not None else Pools()
        self._held: dict[asyncio.Task[Any], list[str]] = {}  # task -> pools it holds slots of

    def gated(self, pool: str | None) -> bool:
        """Whether a node of `pool` waits for anything before it runs (a pool or the cap)."""
        return self.cap is not None or (pool is not None and pool in self.pools)

    def would_deadlock(self, pool: str) -> bool:
        """Whether the current task holds every slot of `pool` (an agent in a pool of size 1
        calling a tool of that pool): waiting for another slot would wait forever."""
        task = asyncio.current_task()
        if task is None or pool not in self.pools:
            return False
        return self._held.get(task, []).count(pool) >= self.pools.get(pool).size

    @contextlib.asynccontextmanager
    async def admit(self, pool: str | None, priority: int) -> AsyncIterator[None]:
        """Hold a slot of `pool` (if any), then one under the cap (if any), for the block;
        waiters are let in highest `priority` first."""
        async with contextlib.AsyncExitStack() as stack:
            if pool is not None and pool in self.pools:
                await stack.enter_async_context(self.pools.get(pool).hold(priority))
                task = asyncio.current_task()
                if task is not None:
                    self._held.setdefault(task, []).append(pool)
                    stack.callback(self._let_go, task, pool)
            if self.cap is not None:
                await stack.enter_async_context(self.cap.at(priority))
            yield

    def _let_go(self, task: asyncio.Task[Any], pool: str) -> None:
        held = self._held.get(task)
        if held is not None:
            held.remove(pool)
            if not held:
                del self._held[task]


def server_host(base_url: str) -> str:
    """How host limits name a server: `host:port` of its URL, lower case."""
    parts = urlsplit(base_url if "://" in base_url else f"http://{base_url}")
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{host}:{port}"


class HostSlots:
    """Per-host limits on LLM requests, shared by every run given this object."""

    __slots__ = ("_limits", "_slots")

    def __init__(self, limits: Mapping[str, int] | Iterable[tuple[str, int]] = ()) -> None:
        pairs = limits.items() if isinstance(limits, Mapping) else limits
        self._limits = {server_host(host): int(limit) for host, limit in pairs}
        self._slots: dict[str, Slots] = {}

    @property
    def limits(self) -> dict[str, int]:
        return dict(self._limits)

    def for_url(self, base_url: str) -> Slots | None:
        """The slots limiting requests to `base_url`'s host, or None when it has no limit."""
        host = server_host(base_url)
        limit = self._limits.get(host)
        if limit is None:
            return None
        slots = self._slots.get(host)
        if slots is None:
            slots = self._slots[host] = Slots(limit)
        return slots


def host_slot(ctx: Any, base_url: str) -> AbstractAsyncContextManager[None]:
    """For an LLM node: hold a slot of the app-wide limit on `base_url`'s host (when the host
    program gave one in Services.extra[HOST_SLOTS_KEY]) for the block, in priority order."""
    hosts = ctx.services.extra.get(HOST_SLOTS_KEY)
    slots = hosts.for_url(base_url) if isinstance(hosts, HostSlots) else None
    return slots.hold(ctx.priority) if slots is not None else contextlib.nullcontext()
