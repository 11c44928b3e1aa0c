"""Preferences' LLM host limits: one HostSlots for the editor's runs, shared by its windows."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from builder.host_limits import SETTING, host_limits
from builder.mainwindow import MainWindow
from builder.runview.controller import RunController
from engine.model import Edge, Node, Workflow
from tests.builder.shell_support import Answers, make_registry, temp_settings
from tests.servers.llm import reply

pytest_plugins = ["tests.servers.fixtures"]


def _chat_flow(url: str) -> Workflow:
    return Workflow("chat", nodes=[
        Node("p", "data.value", params={"value": "hi"}),
        Node("ask", "ai.chat", params={"provider": "openai", "base_url": url, "model": "m"})],
        edges=[Edge("p", "out", "ask", "prompt")])


def test_bad_preference_entries_are_left_out(tmp_path):
    settings = temp_settings(tmp_path)
    settings.setValue(SETTING, json.dumps({"localhost:11434": 1, "x": 0, "y": "2", "": 3}))
    assert host_limits(settings) == {"localhost:11434": 1}
    settings.setValue(SETTING, "{not json")
    assert host_limits(settings) == {}


@pytest.mark.asyncio
async def test_two_runs_of_the_editor_share_the_host_limit(qtbot, tmp_path, llm_server,
                                                           monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    settings = temp_settings(tmp_path)
    settings.setValue(SETTING, json.dumps({llm_server.url: 1}))
    window = MainWindow(make_registry(), settings, Answers().prompts(), recover=False,
                        theme_mode="dark")
    qtbot.addWidget(window)
    slots = window.runner.host_slots
    assert slots is not None and slots.limits == {llm_server.url.removeprefix("http://"): 1}
    llm_server.script(reply("one", first_delay_s=0.3), reply("two", first_delay_s=0.3))
    registry = make_registry()
    first, second = RunController(history=lambda: None), RunController(history=lambda: None)
    second.host_slots = first.host_slots = slots  # as the window hands it to the windows it opens
    results = []
    for controller in (first, second):
        controller.finished.connect(results.append)
    t0 = time.monotonic()
    assert first.start(_chat_flow(llm_server.url), registry) is None
    assert second.start(_chat_flow(llm_server.url), registry) is None
    async with asyncio.timeout(20):
        while len(results) < 2:
            await asyncio.sleep(0.02)
    took = time.monotonic() - t0
    assert all(r is not None and r.ok for r in results), [r and r.error for r in results]
    assert took >= 0.55  # one request at a time to that host
    window.close()
