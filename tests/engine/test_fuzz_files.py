"""Fuzzing the loader with mutations of the shipped examples and templates (fuzzing.py):
for every mutated file the loader returns a workflow or raises WorkflowFileError with a sentence;
what loads saves again and loads as the same workflow; it compiles or lists its problems; and the
mutated examples that run end in a status recorded in a real history database.

Reproducible in CI: derandomized hypothesis with a fixed budget (bench/fuzz.py runs thousands)."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.history import HistoryStore
from nodes import default_registry

from .fuzzing import EXAMPLES, KINDS, SHIPPED, check_file, mutate

CI = settings(deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

REGISTRY = default_registry()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with HistoryStore.open(tmp_path_factory.mktemp("fuzz") / "history.db") as opened:
        yield opened


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("files")


def write_case(folder, source, kind: str, seed: int) -> object:
    data = mutate(source.read_text(encoding="utf-8"), kind, random.Random(seed), small=True)
    path = folder / f"{source.name.removesuffix('.loom.json')}-{kind}.loom.json"
    path.write_bytes(data)
    return path


@settings(CI, max_examples=1000)
@given(source=st.sampled_from(SHIPPED), kind=st.sampled_from(KINDS),
       seed=st.integers(0, 2**32 - 1))
def test_every_mutated_file_loads_or_is_refused_with_a_sentence_and_saves_again(
        folder, source, kind, seed):
    path = write_case(folder, source, kind, seed)
    outcome = check_file(path, REGISTRY, None, run=False)
    assert outcome.stage in ("refused", "invalid", "compiled"), outcome
    if outcome.stage == "refused":
        assert outcome.detail.endswith(".") and "\n" not in outcome.detail


@settings(CI, max_examples=150)
@given(source=st.sampled_from(EXAMPLES), kind=st.sampled_from(KINDS),
       seed=st.integers(0, 2**32 - 1))
def test_every_mutated_example_that_compiles_runs_to_a_recorded_status(
        folder, store, source, kind, seed):
    path = write_case(folder, source, kind, seed)
    outcome = check_file(path, REGISTRY, store)
    if outcome.stage == "ran":  # check_file compared the history row with the run's status
        assert outcome.detail in ("succeeded", "failed", "cancelled")


def test_the_fuzz_budget_reaches_every_kind_of_mutation(folder):
    """The strategies above can produce every mutation (a fixed sweep, one file per kind)."""
    stages = {}
    for index, kind in enumerate(KINDS):
        path = write_case(folder, SHIPPED[index % len(SHIPPED)], kind, index)
        stages[kind] = check_file(path, REGISTRY, None, run=False).stage
    assert set(stages) == set(KINDS)
    assert stages["nan"] == "refused", stages
