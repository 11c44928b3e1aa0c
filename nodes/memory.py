"""Memory nodes: `memory.save`, `memory.recall`, `memory.clear` over the long-term store.

Each node names a memory key (entries of other keys are never seen) and a mode: `fts` (SQLite
FTS5 ranked by BM25, offline) or `embeddings` (vectors from an OpenAI-compatible
`/v1/embeddings` endpoint, cosine similarity). `recall_memories` and `save_memory` are shared
with the agent node (nodes/agent.py). The store itself lives in nodes/memory_store.py.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

from engine.errors import NodeFailure
from engine.nodetype import NodeType, Param, Port
from engine.permissions import Need, url_need
from nodes.llm import resolve_base_url
from nodes.memory_store import MODES, Memory, MemoryStore, MemoryStoreError, embed_texts

KEY_PARAM = Param("memory_key", "str", default="default", required=True,
                  help="entries are kept and searched per key; other keys are never seen")


def settings_params(prefix: str = "") -> tuple[Param, ...]:
    """The parameters that say how recall works (shared with ai.agent)."""
    return (
        Param(f"{prefix}mode", "str", default="fts", required=True, choices=MODES,
              help="fts: full-text search ranked by BM25 (offline); embeddings: semantic "
                   "search with vectors from an OpenAI-compatible /v1/embeddings endpoint"),
        Param("embedding_model", "str", default="text-embedding-3-small",
              help="embeddings mode: the model that makes the vectors"),
        Param("embedding_base_url", "str", default="",
              help="embeddings mode: server address; empty: OPENAI_BASE_URL, else "
                   "https://api.openai.com"),
        Param("embedding_key_secret", "str", default="", secret=True,
              help="embeddings mode: credential holding the API key (else OPENAI_API_KEY)"),
    )


@dataclass(frozen=True)
class RecallSettings:
    """How a memory node searches: by full text, or by embeddings from a model."""

    key: str
    mode: str = "fts"
    model: str = ""
    base_url: str = ""
    key_secret: str = ""

    @classmethod
    def from_params(cls, params: dict[str, Any], mode_param: str = "mode") -> RecallSettings:
        return cls(params["memory_key"], params[mode_param], params["embedding_model"] or "",
                   params["embedding_base_url"] or "", params["embedding_key_secret"] or "")


def embedding_needs(params: dict[str, Any], mode_param: str = "mode") -> list[Need]:
    """The embeddings server, in embeddings mode (fts works offline and needs nothing)."""
    if params.get(mode_param) != "embeddings":
        return []
    url = resolve_base_url("openai", params.get("embedding_base_url") or "", os.environ)
    return [url_need(url, "embedding_base_url")]


def open_store() -> MemoryStore:
    try:
        return MemoryStore()
    except MemoryStoreError as exc:
        raise NodeFailure(str(exc)) from None


async def _embed(ctx: Any, s: RecallSettings, texts: list[str]) -> list[list[float]]:
    key: str | None = None
    if s.key_secret:
        key = ctx.secret(s.key_secret)
    else:
        key = os.environ.get("OPENAI_API_KEY") or None
        if key:
            ctx.add_secret(key)
    base = resolve_base_url("openai", s.base_url, os.environ)
    return await embed_texts(ctx.http, base, s.model, texts, key)


async def save_memory(ctx: Any, s: RecallSettings, text: str,
                      metadata: dict[str, Any] | None = None) -> int:
    """Store `text` (with its vector in embeddings mode); the new entry's id."""
    try:
        store = await asyncio.to_thread(open_store)
        vector = (await _embed(ctx, s, [text]))[0] if s.mode == "embeddings" else None
        return await asyncio.to_thread(store.add, s.key, text, metadata, vector, s.model)
    except MemoryStoreError as exc:
        raise NodeFailure(str(exc)) from None


async def recall_memories(ctx: Any, s: RecallSettings, query: str, k: int) -> list[Memory]:
    """The `k` entries of the key that best match `query`, best first."""
    try:
        store = await asyncio.to_thread(open_store)
        if s.mode != "embeddings":
            return await asyncio.to_thread(store.search, s.key, query, k)
        missing = await asyncio.to_thread(store.missing_vectors, s.key, s.model)
        vectors = await _embed(ctx, s, [query] + [text for _, text in missing])
        for (entry_id, _), vector in zip(missing, vectors[1:], strict=True):
            await asyncio.to_thread(store.set_vector, s.key, entry_id, vector, s.model)
        return await asyncio.to_thread(store.search_vector, s.key, vectors[0], s.model, k)
    except MemoryStoreError as exc:
        raise NodeFailure(str(exc)) from None


def _check_key(params: dict[str, Any]) -> list[str]:
    return [] if str(params.get("memory_key") or "").strip() else ["memory_key is required"]


class _EmbeddingNode(NodeType):
    """Save and Recall: a memory key to check, and an embeddings server to reach."""

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        return _check_key(params)

    @classmethod
    def needs(cls, params: dict[str, Any], base_dir: Any) -> list[Need]:
        return embedding_needs(params)


class Save(_EmbeddingNode):
    type_id = "memory.save"
    title = "Save memory"
    category = "Memory"
    description = "Keeps a text (and metadata) in long-term memory under the memory key."
    inputs = (Port("text", "str", help="what to remember"),
              Port("metadata", "dict", required=False, help="kept with the text, e.g. a source"))
    outputs = (Port("id", "number", help="the new entry's id"),)
    parameters = (KEY_PARAM, *settings_params())
    summary_param = "memory_key"

    async def run(self, ctx: Any, text: str, metadata: dict | None = None) -> dict[str, Any]:
        s = RecallSettings.from_params(self.params)
        entry_id = await save_memory(ctx, s, text, metadata)
        ctx.log("info", f"saved memory #{entry_id} under {s.key!r} ({len(text)} characters)")
        return {"id": entry_id}


class Recall(_EmbeddingNode):
    type_id = "memory.recall"
    title = "Recall memories"
    category = "Memory"
    description = "Finds the entries of a memory key that best match a query (top k)."
    inputs = (Port("query", "str", help="what to look for"),)
    outputs = (Port("memories", "list", help='[{"id", "text", "metadata", "created", "score"}]'
                                             ", best first"),
               Port("text", "str", help="the texts of the memories, one per line"))
    parameters = (KEY_PARAM, Param("top_k", "int", default=5, minimum=1, required=True,
                                   help="how many memories at most"), *settings_params())
    summary_param = "memory_key"

    async def run(self, ctx: Any, query: str) -> dict[str, Any]:
        s = RecallSettings.from_params(self.params)
        found = await recall_memories(ctx, s, query, int(self.params["top_k"]))
        ctx.log("info", f"{len(found)} memories of {s.key!r} match {ctx.clip(query, 80)!r}")
        return {"memories": [m.to_dict() for m in found],
                "text": "\n".join(m.text for m in found)}


class Clear(NodeType):
    type_id = "memory.clear"
    title = "Clear memory"
    category = "Memory"
    description = "Forgets every entry of a memory key."
    inputs = (Port("in", required=False, help="any value: clears when it arrives"),)
    outputs = (Port("removed", "number", help="how many entries were removed"),)
    parameters = (KEY_PARAM,)
    summary_param = "memory_key"

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> list[str]:
        return _check_key(params)

    async def run(self, ctx: Any, **inputs: Any) -> dict[str, Any]:
        key = self.params["memory_key"]
        try:
            store = await asyncio.to_thread(open_store)
            removed = await asyncio.to_thread(store.clear, key)
        except MemoryStoreError as exc:
            raise NodeFailure(str(exc)) from None
        ctx.log("info", f"cleared {removed} memories of {key!r}")
        return {"removed": removed}


TYPES: tuple[type[NodeType], ...] = (Save, Recall, Clear)
