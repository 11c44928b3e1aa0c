"""The LLM chat node (`ai.chat`): one chat request to an OpenAI-compatible or Ollama server,
streamed, with the partial answer reported live.

Server: `base_url`, else `OPENAI_BASE_URL` / `OLLAMA_HOST` from the environment, else
https://api.openai.com / http://localhost:11434. OpenAI-style base URLs may or may not end in
`/v1`. Key: the credential named by `api_key_secret`, else (openai only) `OPENAI_API_KEY` from the
environment; it is never written to the workflow file and is removed from every message. Each
failure (server down, timeout, HTTP error, malformed or cut stream) is a NodeFailure naming the
server and the model. Stream parsing lives in nodes/llm_stream.py.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from engine.context import REDACTED
from engine.errors import NodeFailure
from engine.masking import clip, replacer
from engine.nodetype import NodeType, Param, Port
from engine.permissions import Need, is_template, url_need
from engine.slots import host_slot
from nodes.llm_failover import ServerUnavailable, Target, ask_in_turn, fallback_problems, targets
from nodes.llm_stream import (
    ChatAnswer,
    OllamaStream,
    OpenAIStream,
    StreamProblem,
    error_message,
    parse_openai_whole,
)

if TYPE_CHECKING:  # pragma: no cover - httpx is imported when a model is first asked
    import httpx

PROVIDERS = ("openai", "ollama")
DEFAULT_URLS = {"openai": "https://api.openai.com", "ollama": "http://localhost:11434"}
ENV_URLS = {"openai": "OPENAI_BASE_URL", "ollama": "OLLAMA_HOST"}
ROLES = ("system", "user", "assistant", "tool")
PROGRESS_EVERY_S = 0.1  # at most this often a partial-text progress event
TAIL_CHARS = 240  # how much of the partial answer a progress event carries


def resolve_base_url(provider: str, base_url: str, environ: Mapping[str, str]) -> str:
    """The server's base URL: the param, else the environment, else the provider's default."""
    url = (base_url or "").strip()
    if not url:
        url = (environ.get(ENV_URLS[provider]) or "").strip()
        if url and provider == "ollama":
            url = _ollama_host(url)
    return (url or DEFAULT_URLS[provider]).rstrip("/")


def _ollama_host(host: str) -> str:
    """OLLAMA_HOST as Ollama reads it: scheme and port optional; 0.0.0.0 means this machine."""
    if "://" not in host:
        host = "http://" + host
    scheme, _, rest = host.partition("://")
    hostport, slash, path = rest.partition("/")
    if hostport.startswith("0.0.0.0"):
        hostport = "127.0.0.1" + hostport[len("0.0.0.0"):]
    if ":" not in hostport.rsplit("]", 1)[-1]:
        hostport += ":11434"
    return f"{scheme}://{hostport}{slash}{path}"


def chat_endpoint(provider: str, base_url: str) -> str:
    if provider == "ollama":
        return f"{base_url}/api/chat"
    if base_url.endswith("/v1"):
        return f"{base_url}/chat/completions"
    return f"{base_url}/v1/chat/completions"


def build_messages(system: str, prompt: Any, messages: Any) -> list[dict[str, Any]]:
    """The chat messages: the system text first (if any), then the prompt or the given list."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    if prompt is not None:
        if not isinstance(prompt, str):
            raise NodeFailure(f"input 'prompt' must be text, got {type(prompt).__name__}")
        return out + [{"role": "user", "content": prompt}]
    for i, message in enumerate(messages):
        if isinstance(message, str):
            message = {"role": "user", "content": message}
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise NodeFailure(f"messages[{i}] must be an object with a role "
                              f"({', '.join(ROLES)}) and content, got {str(message)[:60]!r}")
        content = message.get("content")
        if content is not None and not isinstance(content, str):
            raise NodeFailure(f"messages[{i}].content must be text")
        out.append(dict(message))
    if len(out) == (1 if system else 0):
        raise NodeFailure("input 'messages' is an empty list")
    return out


def _redact(text: str, key: str | None) -> str:
    return replacer(key, REDACTED)(text)


class Chat(NodeType):
    type_id = "ai.chat"
    title = "LLM chat"
    category = "AI"
    description = "Asks a chat model (OpenAI-compatible or Ollama) and streams its answer."
    inputs = (Port("prompt", "str", required=False, help="a user message (or use messages)"),
              Port("messages", "list", required=False,
                   help='[{"role": "user", "content": "..."}, ...] (or use prompt)'))
    outputs = (Port("text", "str", help="the model's answer"),
               Port("usage", "dict", help="prompt_tokens, completion_tokens, latency_s, "
                                          "first_token_s (tokens are null if not reported)"))
    parameters = (
        Param("provider", "str", default="openai", required=True, choices=PROVIDERS,
              help="openai: any OpenAI-compatible /v1/chat/completions; ollama: /api/chat"),
        Param("base_url", "str", default="",
              help="server address; empty: OPENAI_BASE_URL or OLLAMA_HOST, else "
                   "https://api.openai.com or http://localhost:11434"),
        Param("model", "str", default="", required=True, help="e.g. gpt-4o-mini, llama3.2"),
        Param("system", "text", default="", help="system prompt, sent before the messages"),
        Param("temperature", "number", default=None, minimum=0,
              help="sampling temperature; empty: the server's default"),
        Param("max_tokens", "int", default=None, minimum=1,
              help="longest answer in tokens; empty: the server's default"),
        Param("json_mode", "bool", default=False,
              help="ask for a JSON answer; the node fails if the answer is not JSON"),
        Param("api_key_secret", "str", default="", secret=True,
              help="name of the credential holding the API key (openai falls back to "
                   "OPENAI_API_KEY from the environment)"),
        Param("timeout_s", "number", default=120.0, minimum=0.001,
              help="longest wait for the connection and for each piece of the stream"),
        Param("fallbacks", "list", default=[],
              help='servers to ask in turn when this one is down, answers 429/5xx or gives '
                   'an empty answer: [{"provider", "base_url", "model"}, ...] (a fallback '
                   'on another server sends the key of its own "api_key_secret", if any)'),
    )
    summary_param = "model"

    @classmethod
    def summary(cls, params: dict[str, Any]) -> str:
        return f"{params.get('provider') or ''}: {params.get('model') or ''}".strip(": ")

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        problems = fallback_problems(params.get("fallbacks", []), PROVIDERS)
        url = params["base_url"].strip()
        if url and not url.lower().startswith(("http://", "https://")):
            problems.insert(0, f"base_url must start with http:// or https://, got {url!r:.80}")
        return problems

    def _servers(self, ctx: Any, prompt: Any, messages: Any) -> list[Target]:
        """The node's server, then its fallbacks, each with its key (see nodes/llm_failover)."""
        base, key, _ = self._connect(ctx, prompt, messages)
        p = self.params
        primary = Target(p["provider"], base, p["model"], key)
        return targets(ctx, primary, p.get("fallbacks") or [], resolve_base_url, os.environ)

    @classmethod
    def needs(cls, params: dict[str, Any], base_dir: Any) -> list[Need]:
        """The server, found as `run` finds it (the param, the environment, the default), and
        each fallback's the same way."""
        if is_template(params["base_url"]):
            needs = [url_need(params["base_url"], "base_url")]
        else:
            needs = [url_need(resolve_base_url(params["provider"], params["base_url"],
                                               os.environ), "base_url")]
        for i, entry in enumerate(params.get("fallbacks") or []):
            if isinstance(entry, dict) and entry.get("provider", "openai") in PROVIDERS:
                url = str(entry.get("base_url") or "")
                needs.append(url_need(url if is_template(url) else resolve_base_url(
                    entry.get("provider") or "openai", url, os.environ),
                    f"fallbacks[{i}].base_url"))
        return needs

    def _connect(self, ctx: Any, prompt: Any, messages: Any) -> tuple[str, str | None, str]:
        """Check that exactly one of prompt/messages arrived; return (base URL, API key, how
        errors name the server). A key from the environment is masked like a credential."""
        if (prompt is None) == (messages is None):
            given = "both arrived" if prompt is not None else "neither arrived"
            raise NodeFailure(f"needs exactly one of the inputs 'prompt' and 'messages'; "
                              f"{given}")
        p = self.params
        provider = p["provider"]
        base = resolve_base_url(provider, p["base_url"], os.environ)
        key: str | None = None
        if p["api_key_secret"]:
            key = ctx.secret(p["api_key_secret"])
        elif provider == "openai":
            key = os.environ.get("OPENAI_API_KEY") or None
            if key:
                ctx.add_secret(key)
        return base, key, f"{provider} server {base} (model {p['model']!r})"

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        prompt, messages = inputs.get("prompt"), inputs.get("messages")
        servers = self._servers(ctx, prompt, messages)
        key = servers[0].key
        p = self.params
        conversation = build_messages(p["system"], prompt, messages)

        async def ask(server: Target) -> tuple[ChatAnswer, float | None, float]:
            body = self._request_body(conversation, server)
            async with host_slot(ctx, server.base):  # the app-wide limit on it, if any
                got = await self._converse(ctx, server, body)
            if not got[0].text.strip():
                raise ServerUnavailable(f"the {server.where} gave an empty answer")
            return got

        try:
            (answer, first_token_s, latency), used = await ask_in_turn(ctx, servers, 0, ask)
        except NodeFailure as exc:
            raise NodeFailure(_redact(str(exc), key)) from None
        where = servers[used].where
        if p["json_mode"]:
            try:
                json.loads(answer.text)
            except ValueError:
                raise NodeFailure(f"json_mode is on but the answer from the {where} is not "
                                  f"JSON: {ctx.clip(answer.text, 120)!r}") from None
        usage = {"prompt_tokens": answer.prompt_tokens,
                 "completion_tokens": answer.completion_tokens,
                 "latency_s": round(latency, 4),
                 "first_token_s": None if first_token_s is None else round(first_token_s, 4),
                 "server": servers[used].base, "model": servers[used].model}
        ctx.log("info", f"{where}: {answer.prompt_tokens} prompt + {answer.completion_tokens} "
                        f"completion tokens in {latency:.2f} s")
        return {"text": answer.text, "usage": usage}

    def _request_body(self, messages: list[dict[str, Any]], server: Target) -> dict[str, Any]:
        p = self.params
        body: dict[str, Any] = {"model": server.model, "messages": messages, "stream": True}
        if server.provider == "openai":
            body["stream_options"] = {"include_usage": True}
            if p["temperature"] is not None:
                body["temperature"] = p["temperature"]
            if p["max_tokens"] is not None:
                body["max_tokens"] = p["max_tokens"]
            if p["json_mode"]:
                body["response_format"] = {"type": "json_object"}
        else:
            options = {}
            if p["temperature"] is not None:
                options["temperature"] = p["temperature"]
            if p["max_tokens"] is not None:
                options["num_predict"] = p["max_tokens"]
            if options:
                body["options"] = options
            if p["json_mode"]:
                body["format"] = "json"
        return body

    async def _converse(self, ctx: Any, server: Target, body: dict[str, Any]
                        ) -> tuple[ChatAnswer, float | None, float]:
        """One streamed request to `server`. ServerUnavailable when another server may do
        better (unreachable, no answer in time, 429/5xx); NodeFailure otherwise."""
        import httpx  # not when the node types are listed

        p = self.params
        provider, key, where = server.provider, server.key, server.where
        timeout_s = float(p["timeout_s"])
        headers = {"Accept": "text/event-stream" if provider == "openai"
                   else "application/x-ndjson"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        parser = OpenAIStream() if provider == "openai" else OllamaStream()
        url = chat_endpoint(provider, server.base)
        ctx.progress(None, f"asking {server.model}…")
        # usage's latencies are an output: they are timed on ctx.now(), the clock the run
        # records and a replay serves back, so a replayed answer is byte-identical (the
        # progress throttle below is no output and keeps the monotonic clock)
        t0 = ctx.now()
        first: float | None = None
        received = 0
        started = False
        try:
            async with ctx.http.stream("POST", url, json=body, headers=headers,
                                       timeout=httpx.Timeout(timeout_s)) as response:
                if response.status_code >= 400:
                    await response.aread()
                    busy = response.status_code == 429 or response.status_code >= 500
                    raise (ServerUnavailable if busy else NodeFailure)(
                        f"the {where} answered {response.status_code} "
                        f"{response.reason_phrase}: {_error_text(response, ctx.redact)}")
                started = True
                kind = response.headers.get("content-type", "")
                if provider == "openai" and "json" in kind and "event-stream" not in kind:
                    # A server that ignored `stream: true` and sent the whole answer.
                    await response.aread()
                    answer = parse_openai_whole(_json_body(response))
                    took = _since(ctx, t0)
                    return answer, took, took
                partial: list[str] = []
                shown, shown_len = 0.0, 0
                async for line in response.aiter_lines():
                    new = parser.feed(line)
                    if not new:
                        continue
                    if first is None:
                        first = _since(ctx, t0)
                    partial.append(new)
                    received += len(new)
                    now = time.monotonic()
                    if now - shown >= PROGRESS_EVERY_S:
                        shown, shown_len = now, received
                        ctx.progress(None, ctx.clip("".join(partial), TAIL_CHARS, tail=True))
                answer = parser.finish()
                if received and received != shown_len:
                    ctx.progress(None, ctx.clip("".join(partial), TAIL_CHARS, tail=True))
        except StreamProblem as exc:
            raise NodeFailure(f"malformed stream from the {where}: "
                              f"{exc.describe(ctx.redact)}") from None
        except httpx.TimeoutException:
            if not started:
                raise ServerUnavailable(f"the {where} did not answer within {timeout_s:g} s") \
                    from None
            raise NodeFailure(f"the {where} did not send the next piece within {timeout_s:g} s "
                              f"(after {received} characters)") from None
        except httpx.ConnectError as exc:
            raise ServerUnavailable(f"cannot reach the {where}: "
                                    f"{exc or 'connection refused'}") from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise NodeFailure(f"the stream from the {where} was cut after {received} "
                              f"characters: {exc or type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            raise NodeFailure(f"request to the {where} failed: {type(exc).__name__}: {exc}") \
                from None
        return answer, first, _since(ctx, t0)


def _since(ctx: Any, t0: float) -> float:
    """Seconds on the recorded clock since `t0` (never negative: it is the wall clock)."""
    return max(0.0, ctx.now() - t0)


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise StreamProblem("the answer is not JSON", sample=response.text) from None


def _error_text(response: httpx.Response, redact: Callable[[str], str]) -> str:
    """The server's error message, masked before it is cut (a server may echo the key)."""
    try:
        message = error_message(response.json())
    except ValueError:
        message = None
    text = message or response.text.strip().replace("\n", " ")
    return clip(text, 300, redact) or "(no message)"


TYPES = (Chat,)
