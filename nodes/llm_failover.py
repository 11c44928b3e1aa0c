"""Failover for the LLM nodes (`ai.chat`, `ai.agent`): the servers a node may ask, in order.

A node's own server comes first, then each of its `fallbacks` ({"provider", "base_url",
"model"}, optionally "api_key_secret"). A server that cannot be reached, does not answer in
time, answers 429 or 5xx, or gives an empty answer raises `ServerUnavailable`, and the next
server is asked; the node log says why it moved on. Any other failure (a 401, a bad request, a
malformed stream) fails the node at once: another server would not fix it. A fallback sends
the primary's key only when it is the same server; else the key of its own `api_key_secret`,
else none, so no key ever reaches a server it was not meant for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from engine.errors import NodeFailure

T = TypeVar("T")
FALLBACK_KEYS = ("provider", "base_url", "model", "api_key_secret")


class ServerUnavailable(NodeFailure):
    """This server could not give an answer now; another one may."""


@dataclass(frozen=True, slots=True)
class Target:
    """One LLM endpoint to try: provider, base URL, model and its key."""

    provider: str
    base: str
    model: str
    key: str | None

    @property
    def where(self) -> str:
        """How messages name the server."""
        return f"{self.provider} server {self.base} (model {self.model!r})"


def fallback_problems(fallbacks: Any, providers: tuple[str, ...]) -> list[str]:
    """One sentence per malformed entry of the `fallbacks` param."""
    if not isinstance(fallbacks, list):
        return ['fallbacks must be a list of {"provider", "base_url", "model"} objects']
    problems = []
    for i, entry in enumerate(fallbacks):
        where = f"fallbacks[{i}]"
        if not isinstance(entry, dict):
            problems.append(f'{where} must be an object like {{"provider": "ollama", '
                            f'"base_url": "http://localhost:11434", "model": "llama3.2"}}')
            continue
        unknown = sorted(set(entry) - set(FALLBACK_KEYS))
        if unknown:
            problems.append(f"{where} has unknown key(s) {', '.join(map(repr, unknown))} "
                            f"(known: {', '.join(FALLBACK_KEYS)})")
        if entry.get("provider", "openai") not in providers:
            problems.append(f"{where}.provider must be one of {', '.join(providers)}, got "
                            f"{entry.get('provider')!r:.40}")
        model = entry.get("model")
        if not isinstance(model, str) or not model.strip():
            problems.append(f"{where} needs a model")
        url = entry.get("base_url", "")
        if not isinstance(url, str) or (url.strip() and not url.strip().lower().startswith(
                ("http://", "https://"))):
            problems.append(f"{where}.base_url must start with http:// or https://, got "
                            f"{url!r:.80}")
        secret = entry.get("api_key_secret", "")
        if not isinstance(secret, str):
            problems.append(f"{where}.api_key_secret must be the name of a credential")
    return problems


def targets(ctx: Any, primary: Target, fallbacks: list[dict[str, Any]],
            resolve: Callable[[str, str, Mapping[str, str]], str],
            environ: Mapping[str, str]) -> list[Target]:
    """The primary server, then each fallback with its base URL resolved and its key."""
    out = [primary]
    for entry in fallbacks:
        provider = entry.get("provider") or "openai"
        base = resolve(provider, entry.get("base_url") or "", environ)
        secret = entry.get("api_key_secret") or ""
        key = (ctx.secret(secret) if secret
               else primary.key if base == primary.base else None)
        out.append(Target(provider, base, entry["model"], key))
    return out


async def ask_in_turn(ctx: Any, servers: list[Target], start: int,
                      ask: Callable[[Target], Awaitable[T]]) -> tuple[T, int]:
    """`ask` each server from `start` on until one answers: (its answer, its index)."""
    reasons: list[str] = []
    for index in range(start, len(servers)):
        try:
            return await ask(servers[index]), index
        except ServerUnavailable as exc:
            reasons.append(str(exc))
            if index + 1 < len(servers):
                ctx.log("warning", f"{exc}; moving on to fallback {index + 1} of "
                                   f"{len(servers) - 1}: the {servers[index + 1].where}")
    if len(reasons) == 1:
        raise NodeFailure(reasons[0])
    raise NodeFailure(f"no server gave an answer ({len(reasons)} tried): "
                      + "; ".join(reasons))
