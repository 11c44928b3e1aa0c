"""App-wide limits on LLM servers, from the editor's preferences.

The setting `llm/host_limits` holds a JSON object of server host (or URL) -> the most requests
the editor's runs may send it at once, e.g. {"localhost:11434": 1}. The window makes one
engine `HostSlots` from it and hands the same object to every run it starts (and to the windows
it opens), so two workflows running at once do not overload one local model.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from engine.slots import HostSlots

log = logging.getLogger(__name__)

SETTING = "llm/host_limits"


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
