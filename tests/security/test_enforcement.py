"""Grants are enforced at the moment of access: real files, a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import quote

from engine.compile import compile_workflow
from engine.context import Services
from engine.executor import Run
from engine.fileformat import loads
from engine.nodetype import NodeType
from engine.permissions import EVERYTHING, Grants
from engine.runstate import RunResult
from nodes import default_registry
from tests.servers.llm import LLMServer
from tests.servers.web import WebServer

pytest_plugins = ["tests.servers.fixtures"]


def flow(nodes: list[dict], edges: list[tuple[str, str, str, str]] = ()) -> str:
    return json.dumps({"format": "flowloom.workflow", "version": 1, "name": "t",
                       "nodes": [dict(n, position=[0, 0]) for n in nodes],
                       "edges": [{"source": s, "source_port": sp, "target": t,
                                  "target_port": tp} for s, sp, t, tp in edges]})


def run(text: str, base: Path, grants: Grants | None, registry=None) -> RunResult:
    registry = registry or default_registry(plugins=False)
    loaded = loads(text, registry)
    assert not loaded.errors, loaded.problems
    compiled = compile_workflow(loaded.workflow, registry)
    services = Services(base_dir=base, grants=grants)

    async def go() -> RunResult:
        async with asyncio.timeout(30):
            return await Run(compiled, services=services).execute()

    return asyncio.run(go())


def write_from_value(target: str) -> str:
    """A file.write whose path arrives on an edge (only known at run time)."""
    return flow([{"id": "p", "type": "data.value", "params": {"value": target}},
                 {"id": "c", "type": "data.value", "params": {"value": "pwned"}},
                 {"id": "w", "type": "file.write", "params": {}}],
                [("p", "out", "w", "path"), ("c", "out", "w", "content")])


def test_a_write_escaping_the_granted_folder_is_refused_and_nothing_written(
        tmp_path: Path) -> None:
    box = tmp_path / "box"
    box.mkdir()
    (box / "link").symlink_to(tmp_path)
    grants = Grants(write=frozenset({str(box)}))
    escapes = ["../escaped.txt", str(tmp_path / "escaped.txt"), "link/escaped.txt",
               "sub/../../escaped.txt"]
    for target in escapes:
        result = run(write_from_value(target), box, grants)
        assert result.status == "failed", target
        error = result.nodes["w"].error
        assert error == (f"file.write 'w': {tmp_path / 'escaped.txt'} is not allowed for this "
                         f"run (allow it with --allow-write={tmp_path / 'escaped.txt'})"), error
        assert not (tmp_path / "escaped.txt").exists()
    ok = run(write_from_value("sub/inside.txt"), box, grants)
    assert ok.status == "succeeded", ok.error
    assert (box / "sub" / "inside.txt").read_text() == "pwned"


def test_home_paths_are_resolved_before_the_check(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    result = run(write_from_value("~/x.txt"), tmp_path, Grants(write=frozenset({"/nowhere"})))
    assert "home/x.txt is not allowed" in result.nodes["w"].error
    assert not (tmp_path / "home" / "x.txt").exists()


def test_reads_and_listings_are_checked(tmp_path: Path) -> None:
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "key").write_text("SECRET")
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "a.txt").write_text("hello")
    grants = Grants(read=frozenset({str(tmp_path / "public")}))
    reads = flow([{"id": "p", "type": "data.value", "params": {"value": "../private/key"}},
                  {"id": "r", "type": "file.read", "params": {}},
                  {"id": "ls", "type": "file.list", "params": {"folder": "../private"}},
                  {"id": "ok", "type": "file.read", "params": {"path": "a.txt"}},
                  {"id": "o", "type": "flow.output", "params": {"name": "ok"}}],
                 [("p", "out", "r", "path"), ("ok", "out", "o", "in")])
    result = run(reads, tmp_path / "public", grants)
    assert "file.read 'r': " in result.nodes["r"].error
    assert "--allow-read=" + str(tmp_path / "private" / "key") in result.nodes["r"].error
    assert result.nodes["ls"].error.startswith("file.list 'ls': ")
    assert result.nodes["ok"].status == "succeeded"
    assert "SECRET" not in json.dumps(result.to_json(), default=str)


def test_requests_go_only_to_granted_hosts_redirects_included(web_server: WebServer) -> None:
    with WebServer() as other:
        hop = f"{web_server.url}/redirect?to={quote(other.url + '/echo', safe='')}"
        text = flow([{"id": "direct", "type": "net.http",
                      "params": {"method": "POST", "url": other.url + "/echo", "json": {"k": 1},
                                 "retries": 0}},
                     {"id": "hop", "type": "net.http", "params": {"url": hop, "retries": 0}},
                     {"id": "fine", "type": "net.http",
                      "params": {"url": web_server.url + "/text"}}])
        granted = web_server.url.split("//")[1]
        result = run(text, Path.cwd(), Grants(net=frozenset({granted})))
        assert other.requests == []
        target = other.url.split("//")[1]
        assert result.nodes["direct"].error == (
            f"net.http 'direct': {target} is not allowed for this run "
            f"(allow it with --allow-net={target})")
        assert result.nodes["hop"].error.startswith(f"net.http 'hop': {target} is not allowed")
        assert result.nodes["fine"].status == "succeeded"
        assert sorted(r.path for r in web_server.requests) == ["/redirect", "/text"]
        allowed = run(text, Path.cwd(), Grants(net=EVERYTHING))
        assert allowed.status == "succeeded", allowed.error
        assert len(other.requests) == 2


def test_code_is_checked_before_it_starts(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    text = flow([{"id": "code", "type": "code.python",
                  "params": {"code": f"open({str(marker)!r}, 'w').write('x')\nresult = 1"}}])
    result = run(text, tmp_path, Grants())
    assert result.nodes["code"].error == ("code.python 'code': running code is not allowed for "
                                          "this run (allow it with --allow-run)")
    assert not marker.exists()
    assert run(text, tmp_path, Grants(run=EVERYTHING)).status == "succeeded"
    assert marker.exists()


class Mystery(NodeType):
    """A plugin type that declares nothing: it counts as running code."""

    type_id = "plugin.mystery"
    cheap = True
    marker: Path | None = None

    def run(self, ctx, **inputs):
        Path(self.params["marker"]).write_text("x")
        return {"out": 1}


def test_an_undeclared_plugin_type_needs_run_even_inline(tmp_path: Path) -> None:
    registry = default_registry(plugins=False)
    registry.register(Mystery)
    marker = tmp_path / "m"
    text = flow([{"id": "m", "type": "plugin.mystery", "params": {"marker": str(marker)}}])
    result = run(text, tmp_path, Grants(net=EVERYTHING, read=EVERYTHING, write=EVERYTHING),
                 registry)
    assert result.nodes["m"].error.startswith("plugin.mystery 'm': running code is not allowed")
    assert not marker.exists()


def test_a_subworkflow_runs_under_the_callers_grants(tmp_path: Path) -> None:
    (tmp_path / "child.loom.json").write_text(write_from_value("../out.txt"))
    text = flow([{"id": "sub", "type": "flow.subworkflow",
                  "params": {"path": "child.loom.json"}}])
    result = run(text, tmp_path, Grants(write=frozenset({str(tmp_path)})))
    assert result.status == "failed"
    assert "is not allowed for this run" in result.nodes["sub"].error
    assert not (tmp_path.parent / "out.txt").exists()


def test_llm_requests_are_checked_too(llm_server: LLMServer) -> None:
    text = flow([{"id": "v", "type": "data.value", "params": {"value": "hi"}},
                 {"id": "chat", "type": "ai.chat",
                  "params": {"provider": "openai", "base_url": llm_server.url, "model": "m"}}],
                [("v", "out", "chat", "prompt")])
    result = run(text, Path.cwd(), Grants(net=frozenset({"api.example.com"})))
    target = llm_server.url.split("//")[1]
    assert result.nodes["chat"].error.startswith(f"ai.chat 'chat': {target} is not allowed")
    assert llm_server.requests == []
