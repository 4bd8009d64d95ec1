"""Response headers: security headers on every HTTP response, and CORS refusals as JSON.

The web UI loads only its own files: module scripts, one stylesheet, ``fetch`` and a
WebSocket to the same server, the AudioWorklet module from ``js/``, ``blob:`` URLs for
recorded clips (``<audio>``) and downloads. No inline script or style markup (styles set from
JavaScript through ``element.style`` are not inline markup), so the policy needs no
``'unsafe-inline'``. The interactive docs (``/docs``, ``/redoc``) load Swagger's own inline
bootstrap, so they only get ``frame-ancestors``; JSON responses get ``default-src 'none'``.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wakebuilder.api.errors import error_body

UI_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: "
             "blob:; media-src 'self' blob:; connect-src 'self' {ws}; worker-src 'self'; "
             "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
DOCS_POLICY = "frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")


def _policy(scope: Scope, content_type: str) -> str:
    path = scope.get("path", "")
    if path.startswith(DOCS_PATHS):
        return DOCS_POLICY
    if content_type.startswith("text/html") or path in ("", "/"):
        host = Headers(scope=scope).get("host", "")
        ws = f"ws://{host} wss://{host}" if host else ""
        return UI_POLICY.format(ws=ws).replace("'self' ;", "'self';")
    return API_POLICY


class SecurityHeadersMiddleware:
    """Add ``X-Content-Type-Options``, ``Content-Security-Policy``, ``X-Frame-Options`` and
    ``Referrer-Policy`` to every HTTP response (errors and refusals included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Content-Security-Policy",
                                   _policy(scope, headers.get("content-type", "")))
            await send(message)

        await self.app(scope, receive, send_with_headers)


class JSONCORSMiddleware(CORSMiddleware):
    """Starlette's CORS middleware with its refused preflights in the API's error shape."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        failures = bytes(response.body).decode().removeprefix("Disallowed CORS ").split(", ")
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() not in ("content-type", "content-length")}
        return JSONResponse(status_code=400, headers=headers, content=error_body(
            "validation_error", "CORS preflight refused: " + ", ".join(failures)
            + " not allowed; add the page's origin to WAKEBUILDER_CORS_ORIGINS",
            {"reason": "cors_refused", "refused": failures}))
