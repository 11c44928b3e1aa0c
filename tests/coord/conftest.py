"""Fixtures for the coordination tests (shared with the CLI tests)."""

from __future__ import annotations

from tests.cli.conftest import write_workflow  # noqa: F401 - a fixture
