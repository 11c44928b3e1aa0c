"""Qt tests: a qasync event loop on the QApplication (see ../shared/stack.md)."""

from __future__ import annotations

import asyncio

import pytest
import qasync
from PySide6.QtWidgets import QApplication


@pytest.fixture
def qloop(qapp):
    """A qasync loop: `qloop.run_until_complete(coro)` runs coro while Qt timers fire."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    loop.close()
    asyncio.set_event_loop(None)


def pytest_asyncio_loop_factories(config, item):
    return {"qasync": lambda: qasync.QEventLoop(QApplication.instance() or QApplication([]))}
