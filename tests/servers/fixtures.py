"""pytest fixtures for the test servers. Use `pytest_plugins = ["tests.servers.fixtures"]`.

Each fixture starts a fresh server on 127.0.0.1 (ephemeral port) for one test and stops it after.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.base import closed_port_url
from tests.servers.bodies import BodyServer
from tests.servers.llm import LLMServer
from tests.servers.web import WebServer


@pytest.fixture
def web_server() -> Iterator[WebServer]:
    with WebServer() as server:
        yield server


@pytest.fixture
def body_server() -> Iterator[BodyServer]:
    with BodyServer() as server:
        yield server


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    with LLMServer() as server:
        yield server


@pytest.fixture
def dead_url() -> str:
    """A 127.0.0.1 URL where nothing listens."""
    return closed_port_url()
