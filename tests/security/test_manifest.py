"""The manifest: what a workflow needs, computed from its nodes' params (no Qt, no run)."""

from __future__ import annotations

import json
from pathlib import Path

from engine.fileformat import loads
from engine.nodetype import NodeType
from engine.permissions import (
    EVERYTHING,
    Denied,
    Grants,
    Manifest,
    flags_for,
    host_of,
    manifest_of,
    parse_grant,
)
from engine.registry import Registry
from nodes import default_registry


def workflow(nodes: list[dict], edges: list[dict] | None = None) -> str:
    return json.dumps({"format": "flowloom.workflow", "version": 1, "name": "t", "nodes": nodes,
                       "edges": edges or []})


def node(node_id: str, type_id: str, **params: object) -> dict:
    return {"id": node_id, "type": type_id, "params": params, "position": [0, 0]}


def manifest(text: str, base: Path, registry: Registry | None = None,
             source: Path | None = None) -> Manifest:
    registry = registry or default_registry(plugins=False)
    return manifest_of(loads(text).workflow, registry, base, source=source)


def test_hosts_paths_and_code_are_listed_by_node(tmp_path: Path) -> None:
    m = manifest(workflow([
        node("key", "file.read", path="../secret/id_rsa"),
        node("post", "net.http", method="POST", url="http://127.0.0.1:8123/x"),
        node("get", "net.http", url="https://api.github.com/repos"),
        node("out", "file.write", path="~/notes.txt"),
        node("code", "code.python", code="result = 1"),
        node("calc", "data.value", value=3),
    ]), tmp_path / "flows")
    doc = m.to_json(False)
    assert doc["needs"]["net"] == [{"target": "127.0.0.1:8123", "nodes": ["post"]},
                                   {"target": "api.github.com", "nodes": ["get"]}]
    assert doc["needs"]["read"] == [{"target": str((tmp_path / "secret/id_rsa").resolve()),
                                     "nodes": ["key"]}]
    assert doc["needs"]["write"] == [{"target": str(Path("~/notes.txt").expanduser()),
                                      "nodes": ["out"]}]
    assert doc["needs"]["run"] == [{"target": "code.python", "nodes": ["code"]}]
    assert doc["dynamic"] == []
    assert set(doc) == {"trusted", "needs", "dynamic"}


def test_templated_and_wired_targets_are_dynamic(tmp_path: Path) -> None:
    m = manifest(workflow(
        [node("v", "data.value", value="x.txt"),
         node("w", "file.write", path="fixed.txt"),
         node("h", "net.http", url="https://{{ in.host }}/a")],
        [{"source": "v", "source_port": "out", "target": "w", "target_port": "path"}]),
        tmp_path)
    assert m.needs["write"] == {}
    assert m.dynamic == [{"node": "w", "capability": "write", "param": "path"},
                         {"node": "h", "capability": "net", "param": "url"}]


def test_llm_nodes_need_the_server_they_would_call(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0")
    m = manifest(workflow([
        node("a", "ai.chat", provider="openai", model="m"),
        node("b", "ai.chat", provider="ollama", model="m"),
        node("c", "ai.agent", provider="openai", base_url="http://127.0.0.1:9000/v1",
             model="m", memory_key="k", recall=2, memory_mode="embeddings",
             embedding_base_url="http://127.0.0.1:9001"),
        node("d", "memory.recall", memory_key="k", mode="embeddings"),
        node("e", "memory.recall", memory_key="k", mode="fts"),
    ]), tmp_path)
    assert m.needs["net"] == {"api.openai.com": ["a", "d"], "127.0.0.1:11434": ["b"],
                              "127.0.0.1:9000": ["c"], "127.0.0.1:9001": ["c"]}


def test_agent_tools_contribute_and_their_arguments_are_dynamic(tmp_path: Path) -> None:
    m = manifest(workflow(
        [node("agent", "ai.agent", provider="openai", base_url="http://127.0.0.1:9/v1",
              model="m"),
         node("reader", "file.read", path="notes.txt"),
         node("code", "code.python")],
        [{"source": "reader", "source_port": "out", "target": "agent", "target_port": "tools"},
         {"source": "code", "source_port": "out", "target": "agent", "target_port": "tools"}]),
        tmp_path)
    assert {"node": "reader", "capability": "read", "param": "path"} in m.dynamic
    assert m.needs["run"] == {"code.python": ["code"]}


def test_a_subworkflow_brings_its_childs_needs_and_recursion_ends(tmp_path: Path) -> None:
    (tmp_path / "child.loom.json").write_text(workflow([
        node("leak", "net.http", method="POST", url="http://10.9.9.9/x"),
        node("again", "flow.subworkflow", path="parent.loom.json")]))
    parent = workflow([node("sub", "flow.subworkflow", path="child.loom.json"),
                       node("code", "code.python")])
    (tmp_path / "parent.loom.json").write_text(parent)
    m = manifest(parent, tmp_path, source=tmp_path / "parent.loom.json")
    assert m.needs["net"] == {"10.9.9.9": ["sub"]}
    assert m.needs["run"] == {"code.python": ["code"]}  # the call back is not walked again
    unknown_source = manifest(parent, tmp_path)  # walked once more, then it stops
    assert unknown_source.needs["run"] == {"code.python": ["sub", "code"]}


class Undeclared(NodeType):
    type_id = "plugin.mystery"

    async def run(self, ctx, **inputs):
        return {"out": 1}


def test_a_plugin_type_that_declares_nothing_needs_run(tmp_path: Path) -> None:
    registry = default_registry(plugins=False)
    registry.register(Undeclared)
    m = manifest(workflow([node("m", "plugin.mystery"), node("v", "data.value")]), tmp_path,
                 registry)
    assert m.needs["run"] == {"plugin.mystery": ["m"]}
    assert m.nodes() == ["m"]


def test_pure_builtin_examples_need_nothing() -> None:
    examples = Path(__file__).resolve().parents[2] / "resources" / "examples"
    registry = default_registry(plugins=False)
    for path in sorted(examples.glob("*.loom.json")):
        m = manifest(path.read_text(), path.parent, registry)
        assert m.empty, path.name


def test_grants_match_hosts_ports_and_folders(tmp_path: Path) -> None:
    inside = tmp_path / "data"
    inside.mkdir()
    (tmp_path / "outside").mkdir()
    (inside / "link").symlink_to(tmp_path / "outside")
    g = Grants(net=frozenset({"api.github.com", "127.0.0.1:8123"}),
               read=frozenset({str(inside)}))
    assert g.allows("net", "api.github.com") and g.allows("net", "api.github.com:8443")
    assert g.allows("net", "127.0.0.1:8123") and not g.allows("net", "127.0.0.1:8124")
    assert g.allows("read", str(inside / "a.txt"))
    assert not g.allows("read", str(inside / ".." / "outside" / "a.txt"))
    assert not g.allows("read", str(inside / "link" / "a.txt"))
    assert not g.allows("read", str(tmp_path / "data2" / "a.txt"))
    assert not g.allows("write", str(inside / "a.txt"))
    assert not g.allows("run", None)
    try:
        g.check("net", "127.0.0.1:9", "net.http 'post'")
    except Denied as exc:
        assert str(exc) == ("net.http 'post': 127.0.0.1:9 is not allowed for this run "
                            "(allow it with --allow-net=127.0.0.1:9)")
    else:
        raise AssertionError("not denied")


def test_flags_and_grant_values_round_trip(tmp_path: Path) -> None:
    m = manifest(workflow([node("post", "net.http", method="POST", url="http://h:81/"),
                           node("w", "file.write", path="{{ x }}"),
                           node("c", "code.python")]), tmp_path)
    assert flags_for(m) == ["--allow-net=h:81", "--allow-write", "--allow-run"]
    assert parse_grant(None) is None
    assert parse_grant(["*"]) == EVERYTHING
    assert parse_grant(["a,b", "c"]) == frozenset({"a", "b", "c"})
    assert Grants.covering(m).uncovered(m).empty
    assert not Grants().uncovered(m).empty


def test_host_of_keeps_only_non_default_ports() -> None:
    assert host_of("https://API.github.com:443/x") == "api.github.com"
    assert host_of("http://127.0.0.1:8123") == "127.0.0.1:8123"
    assert host_of("http://[::1]:80/") == "[::1]"
    assert host_of("not a url") is None
