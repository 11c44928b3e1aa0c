"""No piece of a secret survives in an error, log, event, `--json` output or history row, even
when the text holding it is cut: masking happens before any truncation.

The server here echoes the key it was sent in its error bodies, placed so that a cut made
before masking would keep the key's head (the bug: the first 20 of 39 characters leaked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.context import ApprovalRequest, Decision, Services
from engine.masking import clip, mask, replacer
from engine.model import Node
from tests.cli.conftest import ROOT, cli_env
from tests.nodes.flowrun import error_of, out, run_flow, run_one, wf
from tests.servers.base import Exchange, TestServer

SECRET = "sk-proj-7Hq2Lz9VwX4mN8pR3tY6bC1dF5gJ0kS"  # 39 characters
PIECE = 8


def pieces(secret: str = SECRET, n: int = PIECE) -> set[str]:
    return {secret[i:i + n] for i in range(len(secret) - n + 1)}


def leaked(text: str) -> list[str]:
    return sorted(p for p in pieces() if p in text)


def leaked_bytes(data: bytes) -> list[str]:
    return sorted(p for p in pieces() if p.encode() in data)


class KeyEchoServer(TestServer):
    """Answers every request with an error whose body holds the key it was sent."""

    def handle(self, ex: Exchange) -> None:
        key = ex.request.headers.get("authorization", "").removeprefix("Bearer ")
        path = ex.request.path
        if path.startswith("/http"):  # 280 characters, then the key: a 300-char cut keeps 20
            ex.send_text(401, "x" * 280 + key + " is not a valid key")
        elif path.startswith("/ok"):  # a success whose body holds the key
            ex.send_text(200, f"your key is {key}")
        elif path.startswith("/llm/v1"):  # the same inside an OpenAI error object
            ex.send_json(401, {"error": {"message": "y" * 280 + key + " is invalid"}})
        elif path.startswith("/emb/v1"):  # an embeddings server: a 200-char cut keeps 10
            ex.send_text(401, "e" * 190 + key + " rejected")
        elif path.startswith("/stream/v1"):  # a chunk that is not JSON: an 80-char sample
            ex.start_stream(200, "text/event-stream")
            ex.write(f"data: {'z' * 60}{key} oops\n\n")
            ex.end_stream()
        else:
            ex.send_text(404, "unknown path")


@pytest.fixture
def echo_server():
    with KeyEchoServer() as server:
        yield server


def _services() -> Services:
    return Services(secrets={"API_KEY": SECRET}.get)


def _everything_in(events: list) -> str:
    return "\n".join(repr(e) for e in events)


# --- the masker itself --------------------------------------------------------------------
def test_mask_hides_a_head_or_tail_of_a_secret_left_at_an_edge_by_an_earlier_cut():
    assert leaked(mask(f"error: {SECRET[:20]}", [SECRET], "•")) == []
    assert leaked(mask(f"'{SECRET[:20]}…'", [SECRET], "•")) == []
    assert leaked(mask(f"{SECRET[-15:]} was refused", [SECRET], "•")) == []
    assert mask("an ordinary message", [SECRET], "•") == "an ordinary message"


def test_clip_masks_before_it_cuts_from_the_start_or_the_end():
    text = "a" * 280 + SECRET + "b" * 100
    assert leaked(clip(text, 300, replacer(SECRET, "•"))) == []
    assert leaked(clip(text, 120, replacer(SECRET, "•"), tail=True)) == []
    assert leaked(text[:300])  # the cut alone keeps a piece: the test above can fail


# --- nodes against a real server ----------------------------------------------------------
@pytest.mark.asyncio
async def test_an_http_error_body_echoing_the_key_leaks_no_piece_of_it(echo_server):
    result, events = await run_one("net.http", {"url": f"{echo_server.url}/http",
                                                "auth_secret": "API_KEY", "retries": 0},
                                   services=_services())
    error = error_of(result)
    assert "answered 401 Unauthorized" in error
    assert echo_server.requests[0].headers["authorization"] == f"Bearer {SECRET}"
    assert leaked(error) == []
    assert leaked(_everything_in(events)) == []
    assert leaked(json.dumps(result.to_json(), default=str)) == []


@pytest.mark.asyncio
async def test_an_llm_error_echoing_the_key_leaks_no_piece_of_it(echo_server):
    params = {"provider": "openai", "base_url": f"{echo_server.url}/llm/v1", "model": "m",
              "api_key_secret": "API_KEY"}
    result, events = await run_one("ai.chat", params, {"prompt": "hi"}, services=_services())
    error = error_of(result)
    assert "answered 401" in error and "y" * 50 in error
    assert leaked(error) == [] and leaked(_everything_in(events)) == []


@pytest.mark.asyncio
async def test_a_malformed_stream_chunk_echoing_the_key_leaks_no_piece_of_it(echo_server):
    params = {"provider": "openai", "base_url": f"{echo_server.url}/stream/v1", "model": "m",
              "api_key_secret": "API_KEY"}
    result, events = await run_one("ai.chat", params, {"prompt": "hi"}, services=_services())
    error = error_of(result)
    assert "chunk 1 is not JSON" in error
    assert leaked(error) == [] and leaked(_everything_in(events)) == []


@pytest.mark.asyncio
async def test_an_embeddings_error_echoing_the_key_leaks_no_piece_of_it(echo_server, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setenv("FLOWLOOM_MEMORY_DB", str(tmp_path / "memory.db"))
    params = {"memory_key": "notes", "mode": "embeddings", "embedding_model": "e",
              "embedding_base_url": f"{echo_server.url}/emb/v1",
              "embedding_key_secret": "API_KEY"}
    result, events = await run_one("memory.save", params, {"text": "remember me"},
                                   services=_services())
    error = error_of(result)
    assert "answered 401" in error and "e" * 50 in error
    assert leaked(error) == [] and leaked(_everything_in(events)) == []


# --- the whole CLI: --json output, stderr and the history DB file -------------------------
def test_flowloom_run_json_and_the_history_db_hold_no_piece_of_the_secret(tmp_path,
                                                                            echo_server):
    config = tmp_path / "config"
    env = cli_env(FLOWLOOM_CONFIG_DIR=str(config), FLOWLOOM_SECRETS_BACKEND="file")
    stored = subprocess.run([sys.executable, "-m", "builder", "secrets", "set", "API_KEY"],
                            input=SECRET + "\n", cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert stored.returncode == 0, stored.stderr
    doc = {"format": "flowloom.workflow", "version": 1, "name": "leaky",
           "nodes": [{"id": "get", "type": "net.http",
                      "params": {"url": f"{echo_server.url}/http", "auth_secret": "API_KEY",
                                 "retries": 0}},
                     {"id": "ask", "type": "ai.chat",
                      "params": {"provider": "openai", "base_url": f"{echo_server.url}/llm/v1",
                                 "model": "m", "api_key_secret": "API_KEY",
                                 "prompt": "hi"}},
                     {"id": "v", "type": "data.value", "params": {"value": "hi"}}],
           "edges": [{"source": "v", "source_port": "out", "target": "ask",
                      "target_port": "prompt"}]}
    doc["nodes"][1]["params"].pop("prompt")
    path = tmp_path / "leaky.loom.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    db = tmp_path / "history" / "runs.db"
    host = echo_server.url.split("//", 1)[1]  # the file is not trusted: allow just the server
    done = subprocess.run([sys.executable, "-m", "builder", "run", str(path), "--json",
                           f"--allow-net={host}", "--history-db", str(db)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert "answered 401" in result["nodes"]["get"]["error"]
    assert "answered 401" in result["nodes"]["ask"]["error"]
    assert len(echo_server.requests) == 2  # both nodes really sent the key
    assert leaked(done.stdout) == [] and leaked(done.stderr) == []
    files = [p for p in Path(db.parent).iterdir() if p.is_file()]
    assert files
    for file in files:  # the DB and any -wal / -journal beside it
        assert leaked_bytes(file.read_bytes()) == [], file


@pytest.mark.asyncio
async def test_a_person_asked_to_approve_a_value_holding_the_key_sees_it_masked(echo_server):
    asked: list[ApprovalRequest] = []

    async def approver(request: ApprovalRequest) -> Decision:
        asked.append(request)
        return Decision(True, "", "test")

    workflow = wf(Node("get", "net.http", params={"url": f"{echo_server.url}/ok",
                                                  "auth_secret": "API_KEY", "retries": 0}),
                  Node("gate", "human.approval",
                       params={"title": "Send?", "message": "Send {{ text }} on?"}),
                  out("sent"), edges="get.response->gate.in, gate.approved->sent.in")
    services = Services(secrets={"API_KEY": SECRET}.get, approver=approver)
    result, _ = await run_flow(workflow, services=services)
    assert result.ok, result.error
    assert leaked(json.dumps(result.outputs["sent"], default=str)) == []
    (request,) = asked
    assert "your key is" in request.message and "your key is" in request.value["text"]
    assert leaked(request.message) == [] and leaked(json.dumps(request.value, default=str)) == []
