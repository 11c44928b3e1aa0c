"""What a run lends its nodes from the host: the HTTP client, cookie jars and credentials.

`Resources` makes the run's one `httpx.AsyncClient` on first use (every request and redirect
checked against the run's grants), keeps each node's cookie jar (or one shared jar when the
workflow says `"settings": {"share_cookies": true}`), and reads credentials through the host's
`Services.secrets`, handing each value it reads to the ledger so it is masked in everything
recorded. The run closes it when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
from typing import TYPE_CHECKING, Any

import httpx

from engine.errors import NodeFailure
from engine.permissions import request_hook

if TYPE_CHECKING:  # pragma: no cover - typing only
    from engine.context import Services
    from engine.ledger import Ledger

__all__ = ["Resources"]


class Resources:
    """The HTTP client, cookie jars and credentials of one run."""

    __slots__ = ("services", "_settings", "_ledger", "_http", "_jars")

    def __init__(self, services: Services, settings: Any, ledger: Ledger) -> None:
        """`settings`: the workflow's "settings" block as written (may be anything)."""
        self.services = services
        self._settings = settings
        self._ledger = ledger
        self._http: httpx.AsyncClient | None = None
        self._jars: dict[str, httpx.Cookies] = {}  # node id -> its cookies (cookie_jar)

    def http_client(self) -> httpx.AsyncClient:
        if self._http is None:
            factory = self.services.http_client
            client = factory() if factory else httpx.AsyncClient(
                follow_redirects=True, timeout=httpx.Timeout(30.0))
            if self.services.grants is not None:  # every request and redirect, checked
                client.event_hooks["request"].append(request_hook(self.services.grants))
            if not self.shares_cookies():
                # each node keeps its cookies in a jar of its own (cookie_jar); the client's
                # own jar must then hold none, or it would pass them from node to node
                client.cookies.jar.set_policy(_NoCookies())
            self._http = client
        return self._http

    def shares_cookies(self) -> bool:
        """The workflow's `"settings": {"share_cookies": true}`: one cookie jar for the run."""
        settings = self._settings
        value = settings.get("share_cookies", False) if isinstance(settings, dict) else False
        if not isinstance(value, bool):
            raise NodeFailure(f"the workflow setting share_cookies must be true or false, "
                              f"got {value!r:.40}")
        return value

    def cookie_jar(self, node_id: str) -> httpx.Cookies:
        """The cookies `node_id`'s requests send and keep: its own jar for the run, or the
        run's one shared jar when the workflow says so."""
        client = self.http_client()
        if self.shares_cookies():
            return client.cookies
        jar = self._jars.get(node_id)
        if jar is None:
            jar = self._jars[node_id] = httpx.Cookies()
        return jar

    def secret(self, name: str) -> str:
        """The credential `name`, masked in the run's records from now on."""
        lookup = self.services.secrets
        value = lookup(name) if lookup else None
        if not value:
            raise NodeFailure(f"credential {name!r} is not set "
                              f"(set it with: flowloom secrets set {name})")
        self._ledger.add_secret(value, short_ok=True)
        return value

    async def aclose(self) -> None:
        if self._http is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._http.aclose())


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """A policy that stores and sends no cookie: for the run's client when each node keeps
    its own jar."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False
