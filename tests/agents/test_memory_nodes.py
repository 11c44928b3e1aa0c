"""memory.save / memory.recall / memory.clear and the agent's recall and remember, in FTS5 and
embeddings modes (vectors from the local test server's /v1/embeddings)."""

from __future__ import annotations

import pytest

from nodes.memory_store import MemoryStore, cosine
from tests.agents.support import run_agent
from tests.nodes.flowrun import error_of, run_one
from tests.servers.llm import embed, reply

pytest_plugins = ["tests.servers.fixtures"]


@pytest.fixture(autouse=True)
def db(monkeypatch, tmp_path):
    for name in ("OPENAI_BASE_URL", "OLLAMA_HOST", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "memory.db"
    monkeypatch.setenv("FLOWLOOM_MEMORY_DB", str(path))
    return path


async def save(text: str, key: str = "k", **params):
    result, _ = await run_one("memory.save", {"memory_key": key, **params},
                              {"text": text, "metadata": {"n": len(text)}})
    assert result.ok, error_of(result)
    return result.outputs["id"]


async def recall(query: str, key: str = "k", **params):
    result, _ = await run_one("memory.recall", {"memory_key": key, **params}, {"query": query})
    assert result.ok, error_of(result)
    return result.outputs


@pytest.mark.asyncio
async def test_nodes_save_recall_and_clear_in_full_text_mode(db):
    for text in ("Paris is the capital of France", "Berlin is the capital of Germany",
                 "The Seine flows through Paris and Paris has many bridges"):
        await save(text)
    await save("Paris, Texas is a film", key="films")
    found = await recall("Paris bridges", top_k=2)
    assert [m["text"] for m in found["memories"]] == [
        "The Seine flows through Paris and Paris has many bridges",
        "Paris is the capital of France"]
    assert found["memories"][0]["metadata"] == {"n": 56}
    assert found["text"].splitlines()[1] == "Paris is the capital of France"
    result, _ = await run_one("memory.clear", {"memory_key": "k"}, {"in": True})
    assert result.outputs["removed"] == 3
    assert (await recall("Paris"))["memories"] == []
    assert [m["text"] for m in (await recall("Paris", key="films"))["memories"]] == [
        "Paris, Texas is a film"]


@pytest.mark.asyncio
async def test_embeddings_mode_ranks_by_cosine_of_the_servers_vectors(db, llm_server):
    settings = {"mode": "embeddings", "embedding_base_url": llm_server.url,
                "embedding_model": "test-embed"}
    texts = ["apples are red", "the sky is blue", "grass is green", "snow is white"]
    for text in texts:
        await save(text, **settings)
    await save("the sky is blue", key="elsewhere", **settings)
    query = "what colour is the sky"
    found = (await recall(query, top_k=3, **settings))["memories"]
    q = embed(query, llm_server.embedding_dim)
    expected = sorted(texts, key=lambda t: -cosine(q, embed(t, llm_server.embedding_dim)))
    assert [m["text"] for m in found] == expected[:3]
    assert found[0]["score"] == pytest.approx(
        cosine(q, embed(expected[0], llm_server.embedding_dim)), abs=1e-5)
    exact = (await recall("grass is green", top_k=1, **settings))["memories"]
    assert exact[0]["text"] == "grass is green" and exact[0]["score"] == pytest.approx(1, 1e-5)
    paths = [r.path for r in llm_server.requests]
    assert paths.count("/v1/embeddings") == 4 + 1 + 2
    assert llm_server.requests[0].json == {"model": "test-embed", "input": ["apples are red"]}


@pytest.mark.asyncio
async def test_entries_saved_without_vectors_get_one_at_their_first_semantic_recall(db,
                                                                                    llm_server):
    await save("saved offline")
    settings = {"mode": "embeddings", "embedding_base_url": llm_server.url,
                "embedding_model": "e"}
    found = (await recall("saved offline", **settings))["memories"]
    assert [m["text"] for m in found] == ["saved offline"]
    assert MemoryStore(db).missing_vectors("k", "e") == []


@pytest.mark.asyncio
async def test_embeddings_mode_with_no_server_fails_naming_it(db, dead_url):
    result, _ = await run_one("memory.save", {"memory_key": "k", "mode": "embeddings",
                                              "embedding_base_url": dead_url,
                                              "embedding_model": "e"}, {"text": "x"})
    assert not result.ok
    assert f"{dead_url}/v1/embeddings" in error_of(result) and "'e'" in error_of(result)


@pytest.mark.asyncio
@pytest.mark.parametrize("provider", ["openai", "ollama"])
async def test_the_agent_recalls_before_the_run_and_remembers_its_answer(db, llm_server,
                                                                         provider):
    store = MemoryStore(db)
    store.add("trip", "The hotel in Lisbon is booked for the 3rd to the 7th of May")
    store.add("trip", "Flights leave from Gatwick")
    store.add("other", "The hotel in Lisbon is cancelled")
    llm_server.script(reply("From the 3rd to the 7th of May."))
    result, _ = await run_agent(llm_server.url, provider, [], prompt="When is the Lisbon hotel?",
                                system="You are a travel assistant.", memory_key="trip",
                                recall=1, remember=True)
    assert result.ok, result.error
    system = llm_server.chat_bodies()[0]["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("You are a travel assistant.")
    assert "- The hotel in Lisbon is booked for the 3rd to the 7th of May" in system["content"]
    assert "Gatwick" not in system["content"] and "cancelled" not in system["content"]
    saved = store.entries("trip")[0]
    assert saved.text == ("Question: When is the Lisbon hotel?\n"
                          "Answer: From the 3rd to the 7th of May.")
    assert saved.metadata["node"] == "agent"
    assert store.count("other") == 1
