"""The long-term memory store: BM25 ranking, isolation between keys, persistence across
processes, and where the file lives."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from nodes.memory_store import MemoryStore, cosine, default_path, fts_query, pack, unpack

CORPUS = [
    "Solar panels on the roof produce solar power; the panels are cleaned monthly.",
    "The solar eclipse was visible.",
    "Kitchen panels were painted blue and the old oven was replaced last year.",
    "Bread recipe with flour, water and salt.",
]


@pytest.fixture
def store(tmp_path) -> MemoryStore:
    return MemoryStore(tmp_path / "memory.db")


def test_full_text_recall_ranks_by_bm25(store):
    ids = [store.add("notes", text) for text in CORPUS]
    found = store.search("notes", "solar panels", k=10)
    # Both words (twice each) beat one word; of the one-word hits the shorter text wins; the
    # bread recipe does not match at all.
    assert [m.id for m in found] == [ids[0], ids[1], ids[2]]
    assert found[0].score > found[1].score > found[2].score
    assert [m.id for m in store.search("notes", "solar panels", k=2)] == ids[:2]
    # Stemming: "panel" finds "panels".
    assert {m.id for m in store.search("notes", "panel")} == {ids[0], ids[2]}


def test_queries_with_search_syntax_are_taken_as_plain_words(store):
    store.add("notes", "alpha beta")
    assert fts_query('alpha AND "beta" OR (x*) -y:') == '"alpha" OR "and" OR "beta" OR ' \
                                                       '"or" OR "x" OR "y"'
    assert [m.text for m in store.search("notes", 'alpha AND (x*) "')] == ["alpha beta"]
    assert store.search("notes", "?!  ") == []


def test_two_keys_never_see_each_others_entries(store):
    a = store.add("alice", "the vault code is 1234", {"source": "chat"})
    b = store.add("bob", "the vault code is 9876")
    assert [m.id for m in store.search("alice", "vault code")] == [a]
    assert [m.id for m in store.search("bob", "vault code")] == [b]
    assert store.delete("alice", b) is False  # bob's entry cannot be deleted through alice
    assert store.count("bob") == 1
    assert store.clear("alice") == 1
    assert store.search("alice", "vault") == [] and store.count("bob") == 1
    assert store.entries("bob")[0].metadata == {}
    assert store.keys() == ["bob"]


def test_vectors_are_kept_per_key_and_ranked_by_cosine(store):
    store.add("k", "east", vector=[1.0, 0.0], vector_model="m")
    store.add("k", "north-east", vector=[0.7, 0.7], vector_model="m")
    store.add("k", "north", vector=[0.0, 1.0], vector_model="m")
    store.add("other", "east too", vector=[1.0, 0.0], vector_model="m")
    found = store.search_vector("k", [1.0, 0.1], "m", k=3)
    assert [m.text for m in found] == ["east", "north-east", "north"]
    assert found[0].score == pytest.approx(cosine([1.0, 0.1], [1.0, 0.0]), abs=1e-6)
    assert store.search_vector("k", [1.0, 0.0], "another-model") == []
    assert unpack(pack([0.5, -2.0])) == [0.5, -2.0]


def _python(code: str, db: str) -> str:
    env = dict(os.environ, FLOWLOOM_MEMORY_DB=db)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_memory_survives_the_process_that_wrote_it(tmp_path):
    db = str(tmp_path / "shared" / "memory.db")
    _python("from nodes.memory_store import MemoryStore\n"
            "s = MemoryStore()\n"
            "s.add('project', 'The launch date is the fourteenth of March', {'by': 'child'})\n"
            "s.add('other', 'The launch date is secret')\n", db)
    found = MemoryStore(db).search("project", "launch date")
    assert [(m.text, m.metadata) for m in found] == [
        ("The launch date is the fourteenth of March", {"by": "child"})]
    MemoryStore(db).add("project", "Budget approved: 40k")
    out = _python("import json\nfrom nodes.memory_store import MemoryStore\n"
                  "print(json.dumps([m.text for m in MemoryStore().search('project', "
                  "'budget')]))\n", db)
    assert json.loads(out) == ["Budget approved: 40k"]


def test_the_file_sits_beside_the_run_history_unless_the_environment_says(monkeypatch,
                                                                          tmp_path):
    monkeypatch.delenv("FLOWLOOM_MEMORY_DB", raising=False)
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(tmp_path / "h" / "history.db"))
    assert default_path() == tmp_path / "h" / "memory.db"
    monkeypatch.setenv("FLOWLOOM_MEMORY_DB", str(tmp_path / "elsewhere.db"))
    assert default_path() == tmp_path / "elsewhere.db"
