"""App-wide limits on LLM servers, from the editor's preferences.

The setting `llm/host_limits` holds a JSON object of server host (or URL) -> the most requests
the editor's runs may send it at once, e.g. {"localhost:11434": 1}. The window makes one
engine `HostSlots` from it and hands the same object to every run it starts (and to the windows
it opens), so two workflows running at once do not overload one local model.
Edit ▸ Preferences… (builder/preferences.py) edits it; `check_rows` is the rule it applies.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from engine.slots import HostSlots, server_host

log = logging.getLogger(__name__)

SETTING = "llm/host_limits"
MAX_LIMIT = 1000


def host_limits(settings: Any) -> dict[str, int]:
    """The limits the preferences give; bad entries are left out (and logged)."""
    raw = settings.value(SETTING, "")
    if isinstance(raw, str):
        if not raw.strip():
            return {}
        try:
            raw = json.loads(raw)
        except ValueError:
            log.warning("preference %s is not JSON; no LLM host limits", SETTING)
            return {}
    if not isinstance(raw, dict):
        log.warning("preference %s must be an object of host -> limit", SETTING)
        return {}
    limits = {}
    for host, limit in raw.items():
        if isinstance(host, str) and host.strip() and isinstance(limit, int) \
                and not isinstance(limit, bool) and limit >= 1:
            limits[host.strip()] = limit
        else:
            log.warning("preference %s: %r -> %r left out (a host and a whole number >= 1)",
                        SETTING, host, limit)
    return limits


def host_slots_for(settings: Any) -> HostSlots | None:
    limits = host_limits(settings)
    return HostSlots(limits) if limits else None


def host_problem(host: str) -> str | None:
    """Why `host` cannot name an LLM server (None when it can): a sentence for the person."""
    text = host.strip()
    if not text:
        return "the server is empty: give a host and port like localhost:11434, or a URL"
    if any(ch.isspace() for ch in text):
        return f"the server {text!r} has a space in it: give a host and port like " \
               "localhost:11434, or a URL"
    try:
        parts = urlsplit(text if "://" in text else f"http://{text}")
        _ = parts.port  # raises on a port that is not a number from 0 to 65535
    except ValueError:
        return f"the server {text!r} has a port that is not a number from 1 to 65535"
    if not parts.hostname:
        return f"the server {text!r} has no host name: give one like localhost:11434"
    if parts.scheme not in ("http", "https"):
        return f"the server {text!r} must be an http:// or https:// address"
    return None


def check_rows(rows: list[tuple[str, int]]) -> tuple[dict[str, int], str | None]:
    """The limits the rows (host, limit) give, or the first problem as one sentence that
    names the row. Two rows naming one server (host:port) are a problem, not a silent merge."""
    limits: dict[str, int] = {}
    seen: dict[str, int] = {}
    for number, (host, limit) in enumerate(rows, start=1):
        problem = host_problem(host)
        if problem is not None:
            return {}, f"Row {number}: {problem}."
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
            return {}, (f"Row {number} ({host.strip()}): the limit must be a whole number "
                        f"from 1 to {MAX_LIMIT}, got {limit!r}.")
        key = server_host(host.strip())
        if key in seen:
            return {}, (f"Row {number}: {host.strip()} is the same server as row "
                        f"{seen[key]} ({key}); keep one row per server.")
        seen[key] = number
        limits[host.strip()] = limit
    return limits, None


def save_host_limits(settings: Any, limits: dict[str, int]) -> None:
    """Write the limits where `host_limits` reads them (an empty table removes the key)."""
    if limits:
        settings.setValue(SETTING, json.dumps(limits, sort_keys=True))
    else:
        settings.remove(SETTING)
    settings.sync()
