"""App-wide per-host limits: two runs at once share one limit on an LLM server's host."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.context import Services
from engine.model import Node
from engine.slots import HOST_SLOTS_KEY, HostSlots
from tests.nodes.flowrun import run_flow, wf
from tests.servers.llm import reply

pytest_plugins = ["tests.servers.fixtures"]


def _chat_flow(url: str):
    return wf(Node("ask", "ai.chat", params={"provider": "openai", "base_url": url,
                                             "model": "m", "api_key_secret": ""}),
              Node("p", "data.value", params={"value": "hi"}), edges="p.out->ask.prompt")


@pytest.mark.asyncio
async def test_two_runs_share_one_limit_on_a_server_host(llm_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    llm_server.script(reply("one", first_delay_s=0.3), reply("two", first_delay_s=0.3))
    hosts = HostSlots({llm_server.url: 1})
    services = Services(extra={HOST_SLOTS_KEY: hosts})
    t0 = time.monotonic()
    (r1, _), (r2, _) = await asyncio.gather(run_flow(_chat_flow(llm_server.url),
                                                     services=services),
                                            run_flow(_chat_flow(llm_server.url),
                                                     services=services))
    took = time.monotonic() - t0
    assert r1.ok and r2.ok, (r1.error, r2.error)
    assert took >= 0.55  # one request at a time: 0.3 s each, one after the other
    assert hosts.for_url(llm_server.url).held == 0
