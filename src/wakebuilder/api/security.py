"""ASGI middleware: the optional API token and the request-size limit on uploads.

Both are plain ASGI so they act before any body is read: a request without the token, or
one whose body exceeds the limit, is answered without parsing (or buffering) the upload.
:func:`send_refusal` answers HTTP requests and WebSocket handshakes alike with the API's
error shape.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wakebuilder.api.errors import error_body
from wakebuilder.api.realtime.protocol import token_from_subprotocols


async def _send_json(send: Send, status: int, body: dict[str, Any],
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
        *(headers or [])]})
    await send({"type": "http.response.body", "body": payload})


async def send_refusal(scope: Scope, send: Send, status: int, body: dict[str, Any],
                       headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """Refuse a request (JSON error body) or a WebSocket handshake (the same body as an HTTP
    denial response where the server supports it, else a 1008 close)."""
    if scope["type"] == "http":
        await _send_json(send, status, body, headers)
        return
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    payload = json.dumps(body).encode()
    await send({"type": "websocket.http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()), *(headers or [])]})
    await send({"type": "websocket.http.response.body", "body": payload})


PROTECTED_PREFIXES = ("/api", "/docs", "/redoc", "/openapi.json", "/health")


def _public_page(scope: Scope) -> bool:
    """A GET of the static UI (anything outside the API, docs and health routes)."""
    path = scope.get("path", "")
    return (scope["type"] == "http" and scope["method"] in ("GET", "HEAD")
            and not any(path == p or path.startswith(p + "/") or path.startswith(p + ".")
                        for p in PROTECTED_PREFIXES))


class TokenMiddleware:
    """Require ``Authorization: Bearer <token>`` or ``X-API-Key: <token>`` on every route.

    CORS preflights (``OPTIONS``) pass, since browsers never attach credentials to them.
    WebSocket clients in a browser, which cannot set headers, offer the token as the
    subprotocol ``wakebuilder.token.<base64url>`` (never in the URL, which logs record).
    The static web UI (GET outside :data:`PROTECTED_PREFIXES`) holds no data and stays
    public, so the page can load and ask for the token.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    def _authorised(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers", []))
        candidates = [headers.get(b"x-api-key", b"")]
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer ":
            candidates.append(auth[7:].strip())
        if scope["type"] == "websocket":
            candidates.append(token_from_subprotocols(list(scope.get("subprotocols") or []))
                              or b"")
        return any(hmac.compare_digest(c, self.token) for c in candidates if c)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or (
                scope["type"] == "http" and scope["method"] == "OPTIONS") or _public_page(scope):
            await self.app(scope, receive, send)
            return
        if self._authorised(scope):
            await self.app(scope, receive, send)
            return
        await send_refusal(scope, send, 401, error_body(
            "unauthorized", "Missing or invalid API token (use 'Authorization: Bearer <token>'"
            " or 'X-API-Key: <token>')"), [(b"www-authenticate", b"Bearer")])


class _TooLarge(Exception):
    """Raised inside ``receive`` when the body passes the limit."""


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` (400), by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refusal(self) -> dict[str, Any]:
        mb = self.max_bytes / 1_000_000
        return error_body("validation_error", f"Request body is larger than {mb:g} MB",
                          {"reason": "request_too_large", "limit_mb": mb})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await _send_json(send, 400, self._refusal(), [(b"connection", b"close")])
            return
        seen = 0
        exceeded = replaced = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # The framework may turn _TooLarge into its own error response: replace it.
            nonlocal replaced
            if replaced:
                return
            if exceeded and message["type"] == "http.response.start":
                replaced = True
                await _send_json(send, 400, self._refusal(), [(b"connection", b"close")])
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            if not replaced:
                replaced = True
                await _send_json(send, 400, self._refusal(), [(b"connection", b"close")])
