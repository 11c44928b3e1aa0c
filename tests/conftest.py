"""Test-wide settings.

Qt runs offscreen unless the caller chose a platform (e.g. xcb on Xvfb). Every per-user folder
Flowloom touches (run history, autosave, credentials, plugins) points into one temporary folder
for the whole session, so tests — and the CLI subprocesses they start, which inherit the
environment — never read or write the real user's files.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

_HOME = tempfile.mkdtemp(prefix="flowloom-tests-")
os.environ["FLOWLOOM_HISTORY_DB"] = os.path.join(_HOME, "history.db")
os.environ["FLOWLOOM_DATA_DIR"] = os.path.join(_HOME, "data")
os.environ["FLOWLOOM_CONFIG_DIR"] = os.path.join(_HOME, "config")
os.environ["FLOWLOOM_NODES_DIR"] = os.path.join(_HOME, "nodes")
os.environ["FLOWLOOM_SECRETS_BACKEND"] = "file"

_QT_FIXTURES = {"qtbot", "qapp", "qloop"}


@pytest.fixture(autouse=True)
def _qt_objects_die_with_their_test(request):
    """Qt tests: what a test let go of is deleted at its teardown, not at a random later moment.

    pytest-qt only calls processEvents(), which leaves deferred deletes queued when no event loop
    runs, so closed widgets pile up and cyclic garbage from one test is collected (deleting its Qt
    objects) in the middle of another test's event processing. Deleting both here, in the test
    that made them, keeps a crash in the test that causes it and the queue short.
    """
    yield
    if "PySide6.QtCore" not in sys.modules or not _QT_FIXTURES & set(request.fixturenames):
        return
    from PySide6.QtCore import QCoreApplication, QEvent

    if QCoreApplication.instance() is None:
        return
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
