"""Health checks of what a run will need (`flowloom doctor`, the editor's Services panel).

Each check is a `Check(name, ok, detail, latency_ms)`:
* every LLM server a workflow's `ai.chat` / `ai.agent` nodes (and their fallbacks) name — or,
  with no workflow, the ones the environment names (OPENAI_BASE_URL, OLLAMA_HOST) — answers its
  model list (`/v1/models` for OpenAI-compatible servers, `/api/tags` for Ollama) and has the
  model, with the round trip's latency;
* every credential the workflow names is stored;
* the run-history database can be written;
* every plugin loaded.
Server checks run at once, each bounded in time. Keys are sent as the nodes would send them and
never appear in a detail. Qt-free: the CLI prints the checks, the editor shows them.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.context import REDACTED
from engine.masking import clip, replacer
from engine.model import Workflow
from engine.registry import Registry
from engine.secretparams import secret_params
from nodes.llm import ENV_URLS, resolve_base_url

LLM_TYPES = ("ai.chat", "ai.agent")
CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Check:
    """One finding of `flowloom doctor`: what was checked, whether it passed, and why."""

    name: str
    ok: bool
    detail: str
    latency_ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail,
                "latency_ms": self.latency_ms}


@dataclass(frozen=True, slots=True)
class Server:
    """An LLM server `flowloom doctor` checks: provider, address, model and key."""

    provider: str
    base: str
    model: str = ""
    key_secret: str = ""  # the credential holding its key ("" : none named)

    @property
    def name(self) -> str:
        model = f" (model {self.model!r})" if self.model else ""
        return f"{self.provider} server {self.base}{model}"


def servers_of(workflow: Workflow, environ: Mapping[str, str]) -> list[Server]:
    """The LLM servers the workflow's nodes and their fallbacks ask, each once."""
    found: dict[tuple[str, str, str], Server] = {}
    for node in workflow.nodes.values():
        if node.type not in LLM_TYPES:
            continue
        p = node.params
        entries = [p, *[f for f in p.get("fallbacks") or [] if isinstance(f, dict)]]
        for entry in entries:
            provider = entry.get("provider") or "openai"
            if provider not in ENV_URLS:
                continue
            base = resolve_base_url(provider, str(entry.get("base_url") or ""), environ)
            model = str(entry.get("model") or "")
            secret = entry.get("api_key_secret") or ""
            key = (provider, base, model)
            if key not in found:
                found[key] = Server(provider, base, model, secret if isinstance(secret, str)
                                    else "")
    return list(found.values())


def servers_from_environment(environ: Mapping[str, str]) -> list[Server]:
    """The servers OPENAI_BASE_URL and OLLAMA_HOST name (none when neither is set)."""
    return [Server(provider, resolve_base_url(provider, "", environ))
            for provider, var in ENV_URLS.items() if (environ.get(var) or "").strip()]


def models_endpoint(provider: str, base: str) -> str:
    if provider == "ollama":
        return f"{base}/api/tags"
    return f"{base}/models" if base.endswith("/v1") else f"{base}/v1/models"


def _model_names(provider: str, data: Any) -> list[str]:
    items = data.get("models" if provider == "ollama" else "data") if isinstance(data, dict) \
        else None
    names = []
    for item in items or []:
        if isinstance(item, dict):
            name = item.get("name") or item.get("model") or item.get("id")
            if isinstance(name, str):
                names.append(name)
    return names


def _has_model(provider: str, model: str, names: list[str]) -> bool:
    if model in names:
        return True
    # Ollama lists "llama3.2:latest" for a model asked for as "llama3.2"
    return provider == "ollama" and ":" not in model and f"{model}:latest" in names


async def check_server(client: Any, server: Server, key: str | None) -> Check:
    """Ask `server` for its models: reachable, has the model, how long it took."""
    import httpx  # not when the node types are listed

    hide = replacer(key, REDACTED) if key else _same
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    url = models_endpoint(server.provider, server.base)
    t0 = time.monotonic()
    try:
        response = await client.get(url, headers=headers, timeout=CHECK_TIMEOUT_S)
    except httpx.TimeoutException:
        return Check(server.name, False, f"no answer from {url} within {CHECK_TIMEOUT_S:g} s")
    except httpx.HTTPError as exc:
        return Check(server.name, False,
                     f"cannot reach {url}: {clip(str(exc) or type(exc).__name__, 200, hide)}")
    latency = round((time.monotonic() - t0) * 1000, 1)
    if response.status_code != 200:
        return Check(server.name, False,
                     f"{url} answered {response.status_code} "
                     f"{clip(response.text.strip(), 160, hide) or response.reason_phrase}",
                     latency)
    try:
        names = _model_names(server.provider, response.json())
    except ValueError:
        return Check(server.name, False, f"{url} did not answer a JSON model list", latency)
    if not server.model:
        return Check(server.name, True, f"online, {len(names)} models", latency)
    if _has_model(server.provider, server.model, names):
        return Check(server.name, True, f"online, has {server.model}", latency)
    listed = ", ".join(names[:8]) + ("…" if len(names) > 8 else "")
    return Check(server.name, False, f"online, but has no model {server.model!r} "
                                     f"(it has: {listed or 'none'})", latency)


def credential_checks(workflow: Workflow, registry: Registry,
                      has: Callable[[str], bool]) -> list[Check]:
    """One check per credential name the workflow's secret parameters give."""
    checks: dict[str, Check] = {}
    for _node, _param, name in secret_params(workflow, registry):
        if isinstance(name, str) and name and name not in checks:
            ok = has(name)
            checks[name] = Check(f"credential {name}", ok, "stored" if ok else
                                 f"not stored; set it with: flowloom secrets set {name}")
    for node in workflow.nodes.values():  # fallbacks name credentials inside a list
        if node.type in LLM_TYPES:
            for entry in node.params.get("fallbacks") or []:
                name = entry.get("api_key_secret") if isinstance(entry, dict) else None
                if isinstance(name, str) and name and name not in checks:
                    ok = has(name)
                    checks[name] = Check(f"credential {name}", ok, "stored" if ok else
                                         f"not stored; set it with: flowloom secrets set "
                                         f"{name}")
    return list(checks.values())


def history_check(path: Path) -> Check:
    """Can a run be recorded in the history database at `path`? (Blocking: run in a thread.)"""
    name = "history database"
    try:
        from engine.history.store import HistoryStore

        HistoryStore.open(path).close()  # creates or migrates it, as a run would
        connection = sqlite3.connect(path, timeout=2.0)
        try:
            connection.execute("BEGIN IMMEDIATE")  # takes the write lock
            connection.execute("ROLLBACK")
        finally:
            connection.close()
    except Exception as exc:  # any reason it cannot be written is the check's answer
        return Check(name, False, f"{path} cannot be written: {clip(str(exc), 200, _same)}")
    return Check(name, True, f"{path} is writable")


def _same(text: str) -> str:
    return text


def plugin_checks(registry: Registry) -> list[Check]:
    problems = list(getattr(registry, "load_problems", []))
    if not problems:
        return [Check("plugins", True, "every plugin loaded")]
    return [Check(f"plugin {name}", False, clip(str(reason), 240, _same))
            for name, reason in problems]


async def run_checks(*, workflow: Workflow | None, registry: Registry,
                     secret: Callable[[str], str | None], history_path: Path | None,
                     environ: Mapping[str, str] | None = None,
                     client: Any = None) -> list[Check]:
    """Every check, servers first (asked at once), then credentials, history, plugins."""
    import httpx

    environ = os.environ if environ is None else environ
    servers = (servers_of(workflow, environ) if workflow is not None
               else servers_from_environment(environ))

    def key_of(server: Server) -> str | None:
        if server.key_secret:
            return secret(server.key_secret)
        return (environ.get("OPENAI_API_KEY") or None) if server.provider == "openai" else None

    own = client is None
    client = client or httpx.AsyncClient(follow_redirects=True)
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(check_server(client, s, key_of(s))) for s in servers]
    finally:
        if own:
            await client.aclose()
    checks = [t.result() for t in tasks]
    if workflow is not None:
        checks += credential_checks(workflow, registry, lambda n: bool(secret(n)))
    if history_path is not None:
        checks.append(await asyncio.to_thread(history_check, history_path))
    return checks + plugin_checks(registry)
