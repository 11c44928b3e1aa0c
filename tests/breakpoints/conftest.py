"""The Qt breakpoint tests use the builder tests' qasync loop fixture."""

from __future__ import annotations

from tests.builder.conftest import qloop  # noqa: F401 - a fixture, used by name
