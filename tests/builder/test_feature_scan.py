"""builder/feature_scan.py: PySide6's import-hook check answered from the file gives the hook's
own answer (`"PySide6" in inspect.getsource(module)`) for every module of a loaded editor."""

from __future__ import annotations

import importlib
import sys
import types

import pytest

from builder import feature_scan


def _original():
    feature = sys.modules.get(feature_scan.FEATURE_MODULE)
    if feature is None or not hasattr(feature, "_mod_uses_pyside"):
        pytest.skip("this PySide6 has no per-module feature check")
    check = feature._mod_uses_pyside
    return getattr(check, "original", check)


def test_the_file_check_answers_as_the_hook_does_for_every_loaded_module(tmp_path):
    original = _original()
    for name in ("builder.mainwindow", "builder.runview.view", "builder.panels.timeline",
                 "builder.panels.charts", "engine.executor", "qasync"):
        importlib.import_module(name)
    # and a few made here: source files with and without the word, one with a coding cookie,
    # one whose file is gone, one with no file at all
    made = []
    for i, text in enumerate(("import PySide6\n", "x = 1  # no Qt\n",
                              "# -*- coding: latin-1 -*-\ns = 'caf\xe9 PySide6'\n")):
        path = tmp_path / f"made_{i}.py"
        path.write_bytes(text.encode("latin-1"))
        module = types.ModuleType(f"made_{i}")
        module.__file__ = str(path)
        made.append(module)
    gone = types.ModuleType("gone")
    gone.__file__ = str(tmp_path / "gone.py")
    made += [gone, types.ModuleType("fileless")]
    modules = [m for m in list(sys.modules.values()) if isinstance(m, types.ModuleType)] + made
    assert len(modules) > 500
    differ = [m.__name__ for m in modules
              if feature_scan.uses_pyside(m, original) != original(m)]
    assert differ == []
    answers = {feature_scan.uses_pyside(m, original) for m in modules}
    assert answers == {True, False}  # (both answers were checked)


def test_install_replaces_the_check_once_and_keeps_the_original(monkeypatch):
    original = _original()
    feature = sys.modules[feature_scan.FEATURE_MODULE]
    monkeypatch.setattr(feature, "_mod_uses_pyside", original)
    assert feature_scan.install() and feature_scan.install()
    check = feature._mod_uses_pyside
    assert check.fast_check and check.original is original
    assert check(sys.modules["builder.mainwindow"]) is True
    assert check(sys.modules["json"]) is False
