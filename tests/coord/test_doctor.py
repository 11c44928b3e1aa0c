"""`flowloom doctor`: LLM servers up and down, models, credentials, history DB, plugins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.fileformat import loads
from nodes import default_registry
from nodes.doctor import run_checks
from tests.cli.conftest import cli_env, run_cli

pytest_plugins = ["tests.servers.fixtures"]


def _doc(nodes: list[dict]) -> dict:
    return {"format": "flowloom.workflow", "version": 1, "name": "doc", "nodes": nodes}


def _chat(node_id: str, provider: str, url: str, model: str, **params) -> dict:
    return {"id": node_id, "type": "ai.chat",
            "params": {"provider": provider, "base_url": url, "model": model, **params}}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(FLOWLOOM_CONFIG_DIR=str(tmp_path / "config"),
                   FLOWLOOM_SECRETS_BACKEND="file",
                   FLOWLOOM_HISTORY_DB=str(tmp_path / "history.db"),
                   FLOWLOOM_NODES_DIR=str(tmp_path / "no-plugins"),
                   OPENAI_BASE_URL=None, OLLAMA_HOST=None, OPENAI_API_KEY=None)


def _doctor(env: dict[str, str], *args: str) -> tuple[int, dict]:
    proc = run_cli("doctor", *args, "--json", env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, {c["name"]: c for c in json.loads(proc.stdout)["checks"]}


def test_every_check_passes_against_an_up_server(llm_server, write_workflow, env):
    path = write_workflow(_doc([_chat("a", "openai", llm_server.url, "test-model"),
                                _chat("b", "ollama", llm_server.url, "tiny-model")]))
    code, checks = _doctor(env, path)
    assert code == 0, checks
    up = checks[f"openai server {llm_server.url} (model 'test-model')"]
    assert up["ok"] and up["detail"] == "online, has test-model"
    assert isinstance(up["latency_ms"], (int, float)) and up["latency_ms"] >= 0
    assert checks[f"ollama server {llm_server.url} (model 'tiny-model')"]["ok"]
    assert checks["history database"]["ok"] and checks["plugins"]["ok"]
    assert {r.path for r in llm_server.requests} == {"/v1/models", "/api/tags"}


def test_a_down_server_a_missing_model_and_a_missing_credential_fail(
        llm_server, dead_url, write_workflow, env):
    path = write_workflow(_doc([
        _chat("a", "openai", llm_server.url, "huge-model", api_key_secret="nowhere"),
        _chat("b", "openai", dead_url, "test-model",
              fallbacks=[{"base_url": llm_server.url, "model": "test-model"}])]))
    code, checks = _doctor(env, path)
    assert code == 1
    down = checks[f"openai server {dead_url} (model 'test-model')"]
    assert not down["ok"] and down["detail"].startswith(f"cannot reach {dead_url}/v1/models")
    assert down["latency_ms"] is None
    missing = checks[f"openai server {llm_server.url} (model 'huge-model')"]
    assert not missing["ok"]
    assert missing["detail"] == ("online, but has no model 'huge-model' (it has: test-model, "
                                 "tiny-model)")
    assert checks[f"openai server {llm_server.url} (model 'test-model')"]["ok"]  # the fallback
    cred = checks["credential nowhere"]
    assert not cred["ok"] and "flowloom secrets set nowhere" in cred["detail"]


def test_without_a_file_the_environment_names_the_servers(llm_server, env):
    env = dict(env, OLLAMA_HOST=llm_server.url)
    code, checks = _doctor(env)
    assert code == 0, checks
    assert checks[f"ollama server {llm_server.url}"]["detail"] == "online, 2 models"


def test_an_unwritable_history_database_fails_its_check(env, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")  # so nothing can be made under it
    code, checks = _doctor(env, "--history-db", str(blocker / "h.db"))
    assert code == 1
    assert not checks["history database"]["ok"]
    assert "cannot be written" in checks["history database"]["detail"]


def test_a_file_that_is_not_a_workflow_is_exit_2(tmp_path, env):
    bad = tmp_path / "bad.loom.json"
    bad.write_text("{", encoding="utf-8")
    proc = run_cli("doctor", str(bad), env=env)
    assert proc.returncode == 2 and "is not valid JSON" in proc.stderr


@pytest.mark.asyncio
async def test_a_key_never_appears_in_a_detail(llm_server, tmp_path):
    llm_server.api_key = "sk-doctor-secret-42"
    registry = default_registry(plugins=False)
    wf = loads(json.dumps(_doc([_chat("a", "openai", llm_server.url, "test-model",
                                      api_key_secret="k")])), registry).workflow
    checks = await run_checks(workflow=wf, registry=registry,
                              secret={"k": "sk-wrong-secret-99"}.get, history_path=None,
                              environ={})
    server = checks[0]
    assert not server.ok and "401" in server.detail
    assert "sk-wrong-secret-99" not in json.dumps([c.to_json() for c in checks])


def test_a_plugin_that_failed_to_load_fails_its_check(env, tmp_path):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "broken.py").write_text("raise RuntimeError('no luck')\n", encoding="utf-8")
    code, checks = _doctor(dict(env, FLOWLOOM_NODES_DIR=str(folder)))
    assert code == 1
    (failed,) = [c for name, c in checks.items() if name.startswith("plugin ")]
    assert not failed["ok"] and "no luck" in failed["detail"]
