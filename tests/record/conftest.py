"""Helpers for the record / replay / reuse / diff tests: a history database of the test's own,
the CLI run in this process, and workflow files written from dicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from builder.cli import main


@pytest.fixture
def history_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "history.db"
    monkeypatch.setenv("FLOWLOOM_HISTORY_DB", str(path))
    monkeypatch.delenv("FLOWLOOM_RECORD_MAX_RUN_MB", raising=False)
    monkeypatch.delenv("FLOWLOOM_RECORD_MAX_TOTAL_MB", raising=False)
    return path


@pytest.fixture
def flowloom(capsys: pytest.CaptureFixture[str], history_db: Path):
    """flowloom(*args) -> (exit code, stdout, stderr), run in this process."""

    def call(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return call


def node(node_id: str, type_id: str, x: int = 0, **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_id, "params": params, "position": [x, 0]}


def edge(source: str, target: str, source_port: str = "out", target_port: str = "in"
         ) -> dict[str, str]:
    return {"source": source, "source_port": source_port, "target": target,
            "target_port": target_port}


def workflow(name: str, nodes: list[dict[str, Any]], edges: list[dict[str, str]]
             ) -> dict[str, Any]:
    return {"format": "flowloom.workflow", "version": 1, "name": name, "nodes": nodes,
            "edges": edges}


def write(path: Path, doc: dict[str, Any]) -> str:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)
