"""Credentials: the private-file store, a keyring store, validation, the CLI, and redaction of
secret values in logs, events and errors end to end."""

from __future__ import annotations

import io
import os
import stat

import pytest

from engine.compile import compile_workflow
from engine.context import REDACTED, Services
from engine.executor import Run
from engine.model import Node
from engine.nodetype import NodeType, Param, Port
from engine.registry import Registry
from nodes import default_registry
from nodes.credentials import (
    CredentialError,
    CredentialStore,
    secret_literal_problems,
    secret_problems,
    secrets_main,
)
from tests.nodes.flowrun import run_flow, wf

SECRET = "sk-live-abc123-very-secret"


@pytest.fixture
def store(tmp_path) -> CredentialStore:
    return CredentialStore(tmp_path / "config", backend="file")


class MemoryKeyring:
    """A real (in-memory) keyring backend with the keyring API's three calls."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, name: str) -> str | None:
        return self.entries.get((service, name))

    def set_password(self, service: str, name: str, value: str) -> None:
        self.entries[(service, name)] = value

    def delete_password(self, service: str, name: str) -> None:
        del self.entries[(service, name)]


def test_file_store_set_get_list_delete_and_file_is_private(store, tmp_path):
    assert store.get("OPENAI") is None and store.list() == []
    store.set("OPENAI", SECRET)
    store.set("github.token", "t0k")
    assert store.get("OPENAI") == SECRET
    assert store.list() == ["OPENAI", "github.token"]
    path = tmp_path / "config" / "secrets.json"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CredentialStore(tmp_path / "config", backend="file").get("OPENAI") == SECRET
    assert store.delete("OPENAI") is True and store.delete("OPENAI") is False
    assert store.list() == ["github.token"]


def test_store_refuses_bad_names_and_empty_values(store):
    for bad in ("has space", "sk-abc", "x" * 65, "", "a/b"):
        with pytest.raises(CredentialError):
            store.set(bad, "v")
    with pytest.raises(CredentialError, match="empty"):
        store.set("EMPTY", "")


def test_file_made_readable_by_others_is_made_private_again(store, tmp_path):
    store.set("A", "1")
    path = tmp_path / "config" / "secrets.json"
    os.chmod(path, 0o644)
    assert store.get("A") == "1"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_keyring_store_keeps_values_in_the_keyring_and_only_names_on_disk(tmp_path):
    ring = MemoryKeyring()
    store = CredentialStore(tmp_path, keyring=ring)
    store.set("API", SECRET)
    assert ring.entries == {("flowloom", "API"): SECRET}
    assert store.get("API") == SECRET and store.list() == ["API"]
    on_disk = "".join(p.read_text() for p in tmp_path.iterdir())
    assert "API" in on_disk and SECRET not in on_disk
    assert store.delete("API") and store.list() == [] and ring.entries == {}


def test_env_forces_the_file_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_SECRETS_BACKEND", "file")
    monkeypatch.setenv("FLOWLOOM_CONFIG_DIR", str(tmp_path))
    store = CredentialStore()
    store.set("K", "v")
    assert (tmp_path / "secrets.json").exists()
    assert "file" in store.backend.describe()


class Keyed(NodeType):
    type_id = "test.keyed"
    title = "Keyed"
    inputs = (Port("in", required=False),)
    outputs = (Port("out"),)
    parameters = (Param("key_secret", "str", default="", secret=True),)

    async def run(self, ctx, **inputs):
        key = ctx.secret(self.params["key_secret"])
        ctx.log("info", f"using key {key}")
        ctx.progress(0.5, f"authorised with {key}")
        if inputs.get("in") == "fail":
            raise RuntimeError(f"server said: bad key {key}")
        return {"out": len(key)}


def keyed_registry() -> Registry:
    registry = default_registry(plugins=False)
    registry.register(Keyed)
    return registry


def test_validation_names_a_missing_secret_and_refuses_a_literal(store):
    registry = keyed_registry()
    workflow = wf(Node("a", "test.keyed", params={"key_secret": "OPENAI"}),
                  Node("b", "test.keyed", params={"key_secret": SECRET}),
                  Node("c", "test.keyed", params={"key_secret": "PRESENT"}),
                  Node("d", "test.keyed"))
    store.set("PRESENT", "x")
    problems = [str(p) for p in secret_problems(workflow, registry, store)]
    assert problems == [
        "node 'b': parameter 'key_secret' must hold a credential name, not the secret itself "
        "(it starts like an API key); store the value with `flowloom secrets set NAME` and "
        "put NAME here",
        "node 'a': workflow needs a missing secret 'OPENAI' (parameter 'key_secret'); set it "
        "with: flowloom secrets set OPENAI",
    ]
    assert [p.node_id for p in secret_literal_problems(workflow, registry)] == ["b"]
    pasted = wf(Node("e", "test.keyed", params={"key_secret": "Bearer abc"}),
                Node("f", "test.keyed", params={"key_secret": "q" * 80}))
    assert [p.node_id for p in secret_literal_problems(pasted, registry)] == ["e", "f"]


@pytest.mark.asyncio
async def test_secret_value_never_appears_in_logs_events_or_errors(store):
    store.set("API", SECRET)
    registry = keyed_registry()
    for given, ok in (("go", True), ("fail", False)):
        workflow = wf(Node("v", "data.value", params={"value": given}),
                      Node("k", "test.keyed", params={"key_secret": "API"}),
                      Node("o", "flow.output", params={"name": "n"}),
                      edges="v.out->k.in, k.out->o.in")
        result, events = await run_flow(workflow, registry=registry,
                                         services=Services(secrets=store.get))
        assert result.ok is ok
        text = "\n".join(repr(e) for e in events) + repr(result.to_json())
        assert SECRET not in text
        assert f"using key {REDACTED}" in text
        assert f"authorised with {REDACTED}" in text
        if not ok:
            assert result.nodes["k"].error == f"RuntimeError: server said: bad key {REDACTED}"


@pytest.mark.asyncio
async def test_missing_secret_at_run_time_fails_the_node_naming_it(store):
    registry = keyed_registry()
    compiled = compile_workflow(wf(Node("k", "test.keyed", params={"key_secret": "NOPE"})),
                                registry)
    result = await Run(compiled, services=Services(secrets=store.get)).execute()
    assert "credential 'NOPE' is not set" in result.nodes["k"].error


class Piped(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_secrets_cli_set_from_value_and_stdin_list_delete(store):
    out, err = io.StringIO(), io.StringIO()
    # --value still works, with a warning that the value lands in shell history and `ps`
    assert secrets_main(["set", "A", "--value", "1"], store=store, stdout=out, stderr=err) == 0
    assert "shell history" in err.getvalue() and "`ps`" in err.getvalue()
    assert store.get("A") == "1"
    assert secrets_main(["set", "B"], store=store, stdin=Piped("from-stdin\n"), stdout=out,
                        stderr=err) == 0
    assert store.get("B") == "from-stdin"
    assert secrets_main(["list"], store=store, stdout=out, stderr=err) == 0
    assert out.getvalue() == "A\nB\n"
    assert "from-stdin" not in out.getvalue() + err.getvalue()
    assert secrets_main(["delete", "A"], store=store, stdout=out, stderr=err) == 0
    assert secrets_main(["delete", "A"], store=store, stdout=out, stderr=err) == 1
    assert "no secret named 'A'" in err.getvalue()
    assert secrets_main(["set", "bad name"], store=store, stdin=Piped("x\n"), stdout=out,
                        stderr=err) == 2
    assert secrets_main(["frobnicate"], store=store, stdout=out, stderr=io.StringIO()) == 2
