"""Every dataclass of the project has a docstring.

Without one, @dataclass builds `__doc__` from `inspect.signature(cls)` when the class is
defined: about half a millisecond a class on a slow machine, paid by every process at import
(`flowloom run` defines some 70 dataclasses before its first node runs, the editor ~50 before
its first frame). The docstring also says what the class is for."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("engine", "builder", "nodes")


def _is_dataclass(node: ast.ClassDef) -> bool:
    for deco in node.decorator_list:
        target = deco.func if isinstance(deco, ast.Call) else deco
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "dataclass":
            return True
    return False


def undocumented(root: Path = ROOT) -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and _is_dataclass(node) \
                        and not ast.get_docstring(node):
                    found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
    return found


def test_every_dataclass_has_a_docstring() -> None:
    assert undocumented() == []


def test_the_check_sees_an_undocumented_dataclass(tmp_path: Path) -> None:
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "x.py").write_text(
        "from dataclasses import dataclass\n\n@dataclass(frozen=True)\nclass A:\n    a: int\n\n"
        "@dataclass\nclass B:\n    \"\"\"Documented.\"\"\"\n\n    b: int\n", encoding="utf-8")
    assert undocumented(tmp_path) == ["engine/x.py:4 A"]
