"""Fixtures of the containment tests."""

from __future__ import annotations

import pytest

from tests.security.containment_support import kill_leftovers, pids_in


@pytest.fixture
def piddir(tmp_path):
    """A folder the spawned processes write their pids into; whatever a failed test left
    running is killed afterwards."""
    folder = tmp_path / "pids"
    folder.mkdir()
    yield folder
    kill_leftovers(pids_in(folder))
