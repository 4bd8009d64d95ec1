"""Host and Origin checks against DNS rebinding and cross-site use of a local server.

- ``Host`` must name this server: ``localhost``, ``127.0.0.1``, ``[::1]``, the bound host, or
  a name in ``allowed_hosts`` (``*.example.org`` matches subdomains, ``*`` anything). A server
  bound to a wildcard address (``0.0.0.0``, ``::``) also accepts any IP literal: a rebinding
  page always arrives under its own host *name*. Refused with 400 ``validation_error``.
- ``Origin``, when present on a state-changing request (POST, PUT, PATCH, DELETE) or a
  WebSocket handshake, must be the page's own origin (its host and port equal the ``Host``
  header) or one of the configured origins. Refused with 403 ``forbidden``. Requests without
  ``Origin`` (curl, scripts, the CLI) pass: only browsers send it, and they always do for
  cross-site requests.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from wakebuilder.api.errors import error_body
from wakebuilder.api.security import send_refusal

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
WILDCARD_BINDS = {"0.0.0.0", "::", ""}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def host_name(value: str) -> str:
    """The host part of a ``Host`` header value or host setting, lowercased, no port."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") > 1:  # a bare IPv6 address
        return value
    return value.partition(":")[0].rstrip(".")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostOriginMiddleware:
    """Refuse requests whose ``Host`` or ``Origin`` does not belong to this server."""

    def __init__(self, app: ASGIApp, *, bound_host: str, allowed_hosts: Iterable[str] = (),
                 allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        names = {host_name(h) for h in (*DEFAULT_HOSTS, bound_host, *allowed_hosts)}
        self.any_host = "*" in names
        self.suffixes = tuple(n[1:] for n in names if n.startswith("*."))
        self.names = {n for n in names if not n.startswith("*")}
        self.any_ip = host_name(bound_host) in WILDCARD_BINDS
        self.origins = {o.rstrip("/").lower() for o in allowed_origins}

    def host_allowed(self, host: str) -> bool:
        """Whether a ``Host`` header value names this server."""
        name = host_name(host)
        return (self.any_host or name in self.names or name.endswith(self.suffixes)
                or (self.any_ip and _is_ip(name)))

    def origin_allowed(self, origin: str, host: str) -> bool:
        """Whether ``origin`` is the server's own (same host and port as ``Host``) or listed."""
        origin = origin.strip().lower()
        if origin.rstrip("/") in self.origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and bool(host) and parts.netloc == host.lower()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        host = headers.get(b"host", b"").decode("latin-1")
        if host and not self.host_allowed(host):
            await send_refusal(scope, send, 400, error_body(
                "validation_error", f"Host {host[:100]!r} is not a name of this server; add it "
                "to WAKEBUILDER_ALLOWED_HOSTS to serve it",
                {"reason": "host_not_allowed", "host": host[:100]}))
            return
        origin = headers.get(b"origin")
        if origin is not None and (scope["type"] == "websocket"
                                   or scope["method"] in UNSAFE_METHODS):
            text = origin.decode("latin-1")
            if not self.origin_allowed(text, host):
                await send_refusal(scope, send, 403, error_body(
                    "forbidden", f"Cross-origin request from {text[:100]!r} refused; add the "
                    "origin to WAKEBUILDER_CORS_ORIGINS to allow it",
                    {"reason": "origin_not_allowed", "origin": text[:100]}))
                return
        await self.app(scope, receive, send)
