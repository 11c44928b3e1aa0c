"""Start-up, fifth pass (issue 17): the editor's Qt-free modules are imported before PySide6
(`builder.app.preload`), so PySide6's import hook never reads their source."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# In a fresh interpreter: preload, then import what the window's first frame imports, and list
# the Qt-free modules (engine, nodes) that only came after PySide6.
CHILD = textwrap.dedent("""
    import sys
    from builder import app
    app.preload()
    qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6"))
    before = set(sys.modules)
    import builder.mainwindow, builder.dialogs, qasync  # noqa: E401,F401
    late = sorted(m for m in set(sys.modules) - before
                  if m.split(".")[0] in ("engine", "nodes", "asyncio"))
    print("qt", ",".join(qt))
    print("late", ",".join(late))
""")


def _child() -> dict[str, list[str]]:
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    rows = dict(line.split(" ", 1) if " " in line else (line, "") for line in out.splitlines())
    return {key: [m for m in value.split(",") if m] for key, value in rows.items()}


def test_preload_imports_no_qt_and_leaves_no_engine_module_for_after_pyside6():
    rows = _child()
    assert rows["qt"] == []  # preloading loads no Qt at all
    assert rows["late"] == []  # every Qt-free module of the window came before PySide6


def test_preload_returns_the_registry_the_editor_uses():
    from builder.app import preload
    from nodes import default_registry

    assert preload().type_ids() == default_registry().type_ids()


def test_apply_theme_makes_the_style_fusion_once_and_marks_it(qapp, monkeypatch):
    from builder.style import FUSION_SET, apply_theme
    from builder.theme import dark_theme

    calls = []
    monkeypatch.setattr(qapp, "setStyle", calls.append)
    monkeypatch.setattr(qapp, "style", lambda: type("S", (), {"name": lambda self: "Windows"})())
    qapp.setProperty(FUSION_SET, None)
    apply_theme(qapp, dark_theme())
    apply_theme(qapp, dark_theme())
    assert calls == ["Fusion"] and qapp.property(FUSION_SET) is True


def test_the_editor_application_starts_in_fusion_already_marked():
    out = subprocess.run(
        [sys.executable, "-c", "from builder import app; a = app._application(); "
         "from builder.style import FUSION_SET; "
         "print(a.property(FUSION_SET), a.style().name().lower())"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}).stdout
    assert out.split() == ["True", "fusion"]
