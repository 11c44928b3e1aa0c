"""The "Research assistant with memory" template runs headless against the scripted LLM
server: the agent calls the calculator and the file tool, the note lands in long-term memory,
and the next run recalls it."""

from __future__ import annotations

import json

import pytest

from builder.templates import TEMPLATES_DIR, find_templates
from nodes.memory_store import MemoryStore
from tests.agents.support import tool_contents
from tests.servers.llm import reply, tool_call
from tests.templates.support import run, template

pytest_plugins = ["tests.servers.fixtures"]

NOTE = "The card fee rises from 1.4% to 1.9% in May: 250 more a month on 50000. Priya reports."


@pytest.fixture(autouse=True)
def db(monkeypatch, tmp_path):
    for name in ("OPENAI_BASE_URL", "OLLAMA_HOST", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "memory.db"
    monkeypatch.setenv("FLOWLOOM_MEMORY_DB", str(path))
    return path


def research_assistant(base_url: str):
    workflow = template("research_assistant")
    for node in workflow.nodes.values():
        if node.type in ("ai.chat", "ai.agent"):
            assert not node.params.get("base_url"), "the template leaves base_url to the env"
            node.params = {**node.params, "base_url": base_url}
    return workflow


def test_the_template_is_in_the_gallery_with_its_metadata():
    (t,) = [t for t in find_templates() if t.slug == "research_assistant"]
    assert t.title == "Research assistant with memory"
    assert {"agents", "memory"} <= set(t.tags) and "llm" in t.needs
    assert t.preview is not None and t.preview.is_file()


def test_research_assistant_uses_its_tools_and_remembers_across_runs(llm_server, db):
    llm_server.script(tool_call("calc", {"expression": "50000 * (1.9 - 1.4) / 100"}),
                      tool_call("read_notes", {"path": "notes.txt"}),
                      reply("About 250 more per month from May; Priya compares alternatives."),
                      reply(NOTE))
    first = run(research_assistant(llm_server.url), base_dir=TEMPLATES_DIR)
    assert first.result.ok, first.result.error
    assert first.outputs["answer"].startswith("About 250 more per month")
    bodies = llm_server.chat_bodies()
    assert [t["function"]["name"] for t in bodies[0]["tools"]] == ["calc", "read_notes", "fetch"]
    assert tool_contents(bodies[1])[0]["result"] == pytest.approx(250)
    assert "Priya will compare two" in json.dumps(tool_contents(bodies[2])[1])
    assert "Answer: About 250 more per month" in bodies[3]["messages"][-1]["content"]
    store = MemoryStore(db)
    assert [m.text for m in store.entries("research")] == [NOTE]
    assert first.outputs["memory_id"] == store.entries("research")[0].id

    llm_server.script(reply("As noted before: 250 a month."), reply("Nothing new."))
    second = run(research_assistant(llm_server.url),
                 {"question": "What did the fee rise cost us per month?"},
                 base_dir=TEMPLATES_DIR)
    assert second.result.ok, second.result.error
    system = llm_server.chat_bodies()[4]["messages"][0]["content"]
    assert f"- {NOTE}" in system
    assert store.count("research") == 2
