"""`flowloom run / permissions / trust` on files from elsewhere: real files, a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.servers.web import WebServer

pytest_plugins = ["tests.servers.fixtures"]

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "builder", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60,
                          env=env or dict(os.environ))


def write(path: Path, nodes: list[dict], edges: list[tuple[str, str, str, str]] = ()) -> Path:
    path.write_text(json.dumps({
        "format": "flowloom.workflow", "version": 1, "name": "stranger",
        "nodes": [dict(n, position=[0, 0]) for n in nodes],
        "edges": [{"source": s, "source_port": sp, "target": t, "target_port": tp}
                  for s, sp, t, tp in edges]}), encoding="utf-8")
    return path


def strangers_workflow(folder: Path, url: str) -> Path:
    """Reads a private key and POSTs it: what a stranger's file could do."""
    return write(folder / "stranger.loom.json", [
        {"id": "key", "type": "file.read", "params": {"path": "../private/id_rsa"}},
        {"id": "post", "type": "net.http",
         "params": {"method": "POST", "url": url, "json": {"key": "{{ in }}"}, "retries": 0}},
        {"id": "o", "type": "flow.output", "params": {"name": "sent"}}],
        [("key", "out", "post", "in"), ("post", "response", "o", "in")])


def private_key(tmp_path: Path) -> Path:
    (tmp_path / "private").mkdir()
    key = tmp_path / "private" / "id_rsa"
    key.write_text("-----BEGIN PRIVATE KEY----- hunter2")
    (tmp_path / "downloads").mkdir()
    return key


def test_a_strangers_workflow_is_refused_with_exit_3_and_nothing_is_sent(
        tmp_path: Path, web_server: WebServer) -> None:
    key = private_key(tmp_path)
    flow = strangers_workflow(tmp_path / "downloads", web_server.url + "/echo")
    done = cli("run", str(flow), "--no-history")
    assert done.returncode == 3, done.stderr
    assert web_server.requests == []
    target = web_server.url.split("//")[1]
    assert "no node ran" in done.stderr
    assert f"{key}  (node key)" in done.stderr
    assert f"{target}  (node post)" in done.stderr
    assert f"flowloom run {flow} --allow-net={target} --allow-read={key}\n" in done.stderr
    assert "hunter2" not in done.stdout + done.stderr


def test_the_flags_it_prints_let_it_run(tmp_path: Path, web_server: WebServer) -> None:
    key = private_key(tmp_path)
    flow = strangers_workflow(tmp_path / "downloads", web_server.url + "/echo")
    target = web_server.url.split("//")[1]
    half = cli("run", str(flow), "--no-history", f"--allow-net={target}")
    assert half.returncode == 3 and web_server.requests == []
    assert f"--allow-read={key}" in half.stderr and "--allow-net" not in half.stderr
    done = cli("run", str(flow), "--no-history", f"--allow-net={target}",
               f"--allow-read={key.parent}")
    assert done.returncode == 0, done.stderr
    assert web_server.requests[0].json == {"key": key.read_text()}


def test_a_bare_flag_grants_everywhere_and_the_file_may_follow_it(
        tmp_path: Path, web_server: WebServer) -> None:
    private_key(tmp_path)
    flow = strangers_workflow(tmp_path / "downloads", web_server.url + "/echo")
    done = cli("run", "--allow-read", "--allow-net", str(flow), "--no-history")
    assert done.returncode == 0, done.stderr
    assert len(web_server.requests) == 1


def test_grants_are_checked_at_access_when_the_target_is_computed(tmp_path: Path) -> None:
    (tmp_path / "box").mkdir()
    flow = write(tmp_path / "box" / "w.loom.json", [
        {"id": "p", "type": "data.value", "params": {"value": "../escaped.txt"}},
        {"id": "c", "type": "data.value", "params": {"value": "x"}},
        {"id": "w", "type": "file.write", "params": {}}],
        [("p", "out", "w", "path"), ("c", "out", "w", "content")])
    done = cli("run", str(flow), "--no-history", f"--allow-write={tmp_path / 'box'}")
    assert done.returncode == 1, done.stderr
    assert (f"file.write 'w': {tmp_path / 'escaped.txt'} is not allowed for this run "
            f"(allow it with --allow-write={tmp_path / 'escaped.txt'})") in done.stderr
    assert not (tmp_path / "escaped.txt").exists()
    relative = cli("run", str(flow), "--no-history", "--allow-write=.", cwd=tmp_path)
    assert relative.returncode == 0, relative.stderr  # "." is the current folder
    assert (tmp_path / "escaped.txt").read_text() == "x"


def test_code_needs_allow_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    flow = write(tmp_path / "c.loom.json", [
        {"id": "code", "type": "code.python",
         "params": {"code": f"open({str(marker)!r}, 'w').write('x')\nresult = 1"}}])
    refused = cli("run", str(flow), "--no-history")
    assert refused.returncode == 3 and "code.python  (node code)" in refused.stderr
    assert "--allow-run" in refused.stderr and not marker.exists()
    assert cli("run", str(flow), "--no-history", "--allow-run").returncode == 0
    assert marker.exists()


def test_trust_is_remembered_and_lost_when_the_file_changes(tmp_path: Path,
                                                           web_server: WebServer) -> None:
    flow = write(tmp_path / "t.loom.json", [
        {"id": "get", "type": "net.http", "params": {"url": web_server.url + "/text"}}])
    assert cli("run", str(flow), "--no-history").returncode == 3
    trusted = cli("trust", str(flow))
    assert trusted.returncode == 0 and "needs:" in trusted.stdout
    assert cli("run", str(flow), "--no-history").returncode == 0
    assert json.loads(cli("permissions", str(flow), "--json").stdout)["trusted"] is True
    flow.write_text(flow.read_text().replace("/text", "/echo"))  # changed outside Flowloom
    assert cli("run", str(flow), "--no-history").returncode == 3
    assert len(web_server.requests) == 1
    assert cli("run", str(flow), "--no-history", "--trust").returncode == 0  # and remembers
    assert cli("run", str(flow), "--no-history").returncode == 0
    assert len(web_server.requests) == 3


def test_permissions_json_has_the_public_shape(tmp_path: Path) -> None:
    flow = write(tmp_path / "p.loom.json", [
        {"id": "get", "type": "net.http", "params": {"url": "https://api.github.com/x"}},
        {"id": "dyn", "type": "net.http", "params": {"url": "https://{{ in }}/"}},
        {"id": "r", "type": "file.read", "params": {"path": "data.csv"}},
        {"id": "w", "type": "file.write", "params": {"path": "/tmp/out.txt"}},
        {"id": "code", "type": "code.python", "params": {}}])
    done = cli("permissions", str(flow), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "trusted": False,
        "needs": {"net": [{"target": "api.github.com", "nodes": ["get"]}],
                  "read": [{"target": str(tmp_path / "data.csv"), "nodes": ["r"]}],
                  "write": [{"target": os.path.realpath("/tmp/out.txt"), "nodes": ["w"]}],
                  "run": [{"target": "code.python", "nodes": ["code"]}]},
        "dynamic": [{"node": "dyn", "capability": "net", "param": "url"}]}
    text = cli("permissions", str(flow))
    assert "not trusted" in text.stdout and "api.github.com  (node get)" in text.stdout


def test_shipped_examples_and_a_workflow_that_needs_nothing_run_with_no_flags(
        tmp_path: Path) -> None:
    assert cli("run", "resources/examples/hello.loom.json", "--no-history").returncode == 0
    plain = write(tmp_path / "plain.loom.json", [
        {"id": "v", "type": "data.value", "params": {"value": 2}},
        {"id": "o", "type": "flow.output", "params": {"name": "two"}}], [("v", "out", "o", "in")])
    done = cli("run", str(plain), "--no-history")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"two": 2}


def test_flowloom_file_with_no_display_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    flow = write(tmp_path / "c.loom.json", [
        {"id": "code", "type": "code.python",
         "params": {"code": f"open({str(marker)!r}, 'w').write('x')\nresult = 1"}}])
    trust(flow)  # even a trusted file: opening is not running
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = cli(str(flow), env=env)
    assert done.returncode == 2
    assert "the editor needs a display" in done.stderr
    assert f"flowloom run {flow}" in done.stderr
    assert done.stdout == "" and not marker.exists()


def trust(path: Path) -> None:
    assert cli("trust", str(path)).returncode == 0


def test_a_shipped_template_runs_with_no_flags_a_copy_of_it_does_not(
        tmp_path: Path, web_server: WebServer) -> None:
    state = tmp_path / "state.json"
    args = ("--no-history", "--input", f"url={web_server.url}/text",
            "--input", f"state_file={state}")
    shipped = ROOT / "resources" / "templates" / "website_watch.loom.json"
    done = cli("run", str(shipped), *args)
    assert done.returncode == 0, done.stderr
    assert json.loads(state.read_text()) == {"value": "hello, world"}
    copy = tmp_path / "website_watch.loom.json"
    copy.write_bytes(shipped.read_bytes())
    refused = cli("run", str(copy), *args)
    assert refused.returncode == 3
    assert "--allow-net --allow-read --allow-write" in refused.stderr
    assert len(web_server.requests) == 1
