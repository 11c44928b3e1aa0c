"""`check_file` (builder/cli.py) asks the credential store only when some node's type has a
secret parameter: its problems are those of loading, checking every secret parameter against
the store and compiling, for shipped files and for files that name a missing secret."""

from __future__ import annotations

import pytest

from builder.cli import check_file
from engine import CompileError, Node, Workflow, compile_workflow, fileformat
from nodes import default_registry
from nodes.credentials import CredentialStore, secret_problems
from tests.engine.fuzzing import SHIPPED


def _spec(path, registry, store) -> list[tuple]:
    loaded = fileformat.load(path, registry)
    problems = loaded.problems + secret_problems(loaded.workflow, registry, store)
    if not any(p.is_error for p in problems):
        try:
            problems = list(compile_workflow(loaded.workflow, registry).warnings)
        except CompileError as exc:
            problems = exc.problems
    return [(p.message, p.node_id, p.severity) for p in problems]


@pytest.fixture()
def store(tmp_path):
    return CredentialStore(tmp_path / "creds", backend="file")


def test_check_file_finds_what_loading_the_store_and_compiling_find(tmp_path, store):
    registry = default_registry(plugins=False)
    paths = list(SHIPPED)
    missing = Workflow("needs a key", nodes=[
        Node("ask", "ai.chat", params={"api_key_secret": "NOT_STORED"}),
        Node("calc", "data.expression", params={"expr": "1", "inputs": []})])
    fileformat.save(missing, tmp_path / "missing.loom.json")
    paths.append(tmp_path / "missing.loom.json")
    for path in paths:
        _, problems = check_file(str(path), registry, store)
        assert [(p.message, p.node_id, p.severity) for p in problems] == _spec(
            path, registry, store), path.name
    _, problems = check_file(str(tmp_path / "missing.loom.json"), registry, store)
    assert any("NOT_STORED" in p.message for p in problems)
