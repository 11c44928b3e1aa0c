"""Test-wide settings.

Qt runs offscreen unless the caller chose a platform (e.g. xcb on Xvfb). Every per-user folder
Flowloom touches (run history, autosave, credentials, plugins) points into one temporary folder
for the whole session, so tests — and the CLI subprocesses they start, which inherit the
environment — never read or write the real user's files.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

_HOME = tempfile.mkdtemp(prefix="flowloom-tests-")
os.environ["FLOWLOOM_HISTORY_DB"] = os.path.join(_HOME, "history.db")
os.environ["FLOWLOOM_DATA_DIR"] = os.path.join(_HOME, "data")
os.environ["FLOWLOOM_CONFIG_DIR"] = os.path.join(_HOME, "config")
os.environ["FLOWLOOM_NODES_DIR"] = os.path.join(_HOME, "nodes")
os.environ["FLOWLOOM_SECRETS_BACKEND"] = "file"
