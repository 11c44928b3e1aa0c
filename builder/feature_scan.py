"""PySide6's per-module check at import, answered from the file instead of through `inspect`.

Once PySide6 is loaded its import hook (shibokensupport's `feature_imported`) asks, the first
time each module is imported from anywhere, whether that module's source mentions "PySide6"
(`_mod_uses_pyside`: `"PySide6" in inspect.getsource(module)`), to know which modules take part
in `from __feature__ import ...` switching. Through `inspect` and `linecache` that costs ~90 us
a module: ~9 ms over the ~100 modules an editor start imports after PySide6, most of it before
the first frame. `install()` puts a check with the same answer in its place: a plain `.py` file
is read as bytes and searched for b"PySide6" (the text is searched for an ASCII word, so any
source encoding Python accepts gives the same answer); anything else (built-in and extension
modules, zip imports, an unreadable file) goes to the original check.
tests/builder/test_feature_scan.py compares the two over every module of a loaded editor.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

FEATURE_MODULE = "shibokensupport.feature"  # (PySide6 6.11: where the hook keeps the check)


def uses_pyside(module: ModuleType, fallback: Callable[[ModuleType], bool]) -> bool:
    """`"PySide6" in inspect.getsource(module)`, from the module's `.py` file when it has
    one (`fallback(module)` otherwise)."""
    path = getattr(module, "__file__", None)
    if isinstance(path, str) and path.endswith(".py"):
        try:
            with open(path, "rb") as handle:
                return b"PySide6" in handle.read()
        except OSError:
            pass
    return fallback(module)


def install() -> bool:
    """Replace the hook's check (PySide6 must be imported); False when this PySide6 has no
    such check (then nothing changes)."""
    feature: Any = sys.modules.get(FEATURE_MODULE)
    original = getattr(feature, "_mod_uses_pyside", None)
    if original is None or getattr(original, "fast_check", False):
        return original is not None

    def check(module: ModuleType) -> bool:
        return uses_pyside(module, original)

    check.fast_check = True  # type: ignore[attr-defined]
    check.original = original  # type: ignore[attr-defined]
    feature._mod_uses_pyside = check
    return True
