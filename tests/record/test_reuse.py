"""`flowloom run FILE --reuse-from RUN_ID`: unchanged nodes reuse what the earlier run recorded,
effects included, so editing a node downstream of a POST sends no POST and no GET again;
`--resend NODE` sends one again on purpose. Requests are counted on the real server."""

from __future__ import annotations

import json

import pytest

from tests.record.conftest import edge, node, workflow, write
from tests.servers.web import WebServer


def post_then_get(url: str, label: str = "total") -> dict:
    return workflow("order", [
        node("start", "flow.start", inputs={"item": "loom", "qty": 2}),
        node("post", "net.http", 200, url=url + "/echo?op=create", method="POST",
             json={"item": "{{ input.item }}"}),
        node("get", "net.http", 400, url=url + "/echo?op=read&id={{ input.json.json.item }}"),
        node("label", "data.expression", 600,
             expr=f"'{label}: ' + x['json']['query']['id']"),
        node("out", "flow.output", 800, name="label"),
    ], [edge("start", "post"), edge("post", "get", "response", "in"),
        edge("get", "label", "response", "x"), edge("label", "out")])


def counts(server: WebServer) -> tuple[int, int]:
    hits = server.requests_to("/echo")
    return (sum(r.method == "POST" for r in hits), sum(r.method == "GET" for r in hits))


@pytest.fixture
def server():
    with WebServer() as web:
        yield web


def first_run(flowloom, server, tmp_path) -> tuple[str, str]:
    path = write(tmp_path / "order.loom.json", post_then_get(server.url))
    code, out, err = flowloom("run", path, "--json", "--trust", "-q")
    assert code == 0, err
    assert counts(server) == (1, 1)
    return path, json.loads(out)["run_id"]


def test_editing_a_node_downstream_of_a_post_sends_no_post_and_no_get_again(
        flowloom, server, tmp_path):
    path, run_id = first_run(flowloom, server, tmp_path)
    write(tmp_path / "order.loom.json", post_then_get(server.url, label="item"))

    code, out, err = flowloom("run", path, "--json", "--trust", "--reuse-from", run_id)

    assert code == 0, err
    result = json.loads(out)
    assert counts(server) == (1, 1)
    assert result["outputs"] == {"label": "item: loom"}
    assert result["nodes"]["post"]["cached"] and result["nodes"]["get"]["cached"]
    assert "cached" not in result["nodes"]["label"]
    assert f"reusing run {run_id}: 3 reused, 2 run, 0 resend their effects" in err


def test_resend_sends_that_node_again_and_reuses_nothing_it_feeds_blindly(
        flowloom, server, tmp_path):
    path, run_id = first_run(flowloom, server, tmp_path)

    code, out, err = flowloom("run", path, "--json", "--trust", "-q", "--reuse-from", run_id,
                              "--resend", "post")

    assert code == 0, err
    # the POST went out again; the GET after it asked the same as before, so it was served
    # from the record rather than repeated
    assert counts(server) == (2, 1)
    result = json.loads(out)
    assert "cached" not in result["nodes"]["post"]
    assert result["outputs"] == {"label": "total: loom"}


def test_a_changed_effect_node_runs_and_the_run_says_it_resends(flowloom, server, tmp_path):
    path, run_id = first_run(flowloom, server, tmp_path)
    doc = post_then_get(server.url)
    doc["nodes"][1]["params"]["json"] = {"item": "cloth"}  # the POST itself changed
    write(tmp_path / "order.loom.json", doc)

    code, out, err = flowloom("run", path, "--json", "--trust", "--reuse-from", run_id)

    assert code == 0, err
    assert counts(server) == (2, 2)  # a new POST, and the GET that reads what it made
    assert json.loads(out)["outputs"] == {"label": "total: cloth"}
    assert "1 reused, 3 run, 1 resend their effects" in err
    assert "post has effects and runs again: its params, settings or inputs changed" in err


def test_reuse_from_a_run_without_a_record_is_refused(flowloom, server, tmp_path):
    path = write(tmp_path / "order.loom.json", post_then_get(server.url))
    code, out, _ = flowloom("run", path, "--json", "--trust", "-q", "--no-record")
    run_id = json.loads(out)["run_id"]

    code, out, err = flowloom("run", path, "--json", "--trust", "--reuse-from", run_id)

    assert code == 2 and out == ""
    assert f"--reuse-from {run_id}: nothing to reuse: it has no record" in err
    assert counts(server) == (1, 1)
    code, _, err = flowloom("run", path, "--resend", "post")
    assert code == 2 and "--resend goes with --reuse-from" in err
