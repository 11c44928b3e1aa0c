"""The workflow-level `"settings"` block: what it may hold, checked when the file is validated.

Today it holds one switch, `share_cookies` (one cookie jar for the whole run, read by
engine/resources.py). Checking it here means a misspelt key or a wrong value is a problem the
editor's Problems panel and `flowloom validate` show before a run, not a node failure midway.
"""

from __future__ import annotations

from typing import Any

from engine.errors import Problem

SETTINGS_KEY = "settings"
KNOWN: dict[str, type] = {"share_cookies": bool}


def settings_problems(extra: dict[str, Any]) -> list[Problem]:
    """Problems with `extra["settings"]` (the workflow's unknown top-level keys)."""
    if SETTINGS_KEY not in extra:
        return []
    settings = extra[SETTINGS_KEY]
    if not isinstance(settings, dict):
        return [Problem(f'"settings" must be an object like {{"share_cookies": true}}, got '
                        f"{type(settings).__name__}")]
    problems = []
    for key, value in settings.items():
        expected = KNOWN.get(key)
        if expected is None:
            problems.append(Problem(f'"settings" has unknown key {str(key)[:60]!r} (known: '
                                    f'{", ".join(KNOWN)}); it is ignored', severity="warning"))
        elif not isinstance(value, expected):
            problems.append(Problem(f'the setting "{key}" must be true or false, got '
                                    f"{value!r:.40}"))
    return problems
