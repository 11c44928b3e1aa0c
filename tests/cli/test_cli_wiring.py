"""The CLI wiring of the node library: credentials, approvals, the node reference."""

from __future__ import annotations

import io
import json
import sys

from builder.cli import main
from engine import Edge, Node, Workflow, save


def _approval_workflow(path):
    save(Workflow("gate", nodes=[
        Node("v", "data.value", params={"value": "draft"}),
        Node("gate", "human.approval"),
        Node("yes", "flow.output", params={"name": "approved"}),
        Node("no", "flow.output", params={"name": "rejected"}),
    ], edges=[Edge("v", "out", "gate", "in"), Edge("gate", "approved", "yes", "in"),
              Edge("gate", "rejected", "no", "in")]), path)
    return path


def _secret_workflow(path, secret_name):
    save(Workflow("secret", nodes=[
        Node("fetch", "net.http", params={"url": "http://127.0.0.1:9/", "auth_secret":
                                          secret_name}),
    ]), path)
    return path


def test_approve_all_and_reject_all_decide_every_gate(tmp_path, capsys):
    path = str(_approval_workflow(tmp_path / "gate.loom.json"))
    assert main(["run", path, "--json", "-q", "--approve-all", "--no-history"]) == 0
    assert json.loads(capsys.readouterr().out)["outputs"] == {"approved": "draft"}
    assert main(["run", path, "--json", "-q", "--reject-all", "--no-history"]) == 0
    assert set(json.loads(capsys.readouterr().out)["outputs"]) == {"rejected"}


def test_a_gate_with_no_way_to_decide_fails_and_says_how(tmp_path, capsys):
    path = str(_approval_workflow(tmp_path / "gate.loom.json"))
    assert main(["run", path, "--json", "-q", "--no-history"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert "--approve-all" in report["nodes"]["gate"]["error"]


def test_a_missing_credential_fails_validation_naming_it(tmp_path, capsys):
    path = str(_secret_workflow(tmp_path / "s.loom.json", "github_token"))
    assert main(["validate", path]) == 2
    out = capsys.readouterr()
    assert "github_token" in out.out + out.err
    assert main(["run", path, "-q", "--no-history"]) == 2


def test_secrets_set_list_delete_through_the_cli(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("s3cr3t-value\n"))  # not a TTY: read it
    assert main(["secrets", "set", "cli_test_key"]) == 0
    assert "s3cr3t-value" not in "".join(capsys.readouterr())
    assert main(["secrets", "list"]) == 0
    assert "cli_test_key" in capsys.readouterr().out
    assert main(["secrets", "delete", "cli_test_key"]) == 0
    capsys.readouterr()
    assert main(["secrets", "list"]) == 0
    assert "cli_test_key" not in capsys.readouterr().out


def test_nodes_markdown_prints_the_reference_of_every_type(capsys):
    assert main(["nodes", "--markdown"]) == 0
    text = capsys.readouterr().out
    for type_id in ("flow.foreach", "net.http", "ai.chat", "human.approval"):
        assert type_id in text
