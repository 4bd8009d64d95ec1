"""The static web UI, mounted at "/" without shadowing the API."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from wakebuilder.api.errors import error_body
from wakebuilder.api.security import send_refusal

RESERVED = frozenset({"api", "docs", "redoc", "health", "openapi.json"})


class WebUI(StaticFiles):
    """StaticFiles that answers 404 for API paths and any ``..`` segment.

    Unmatched API URLs (for example ``/api/models/..%2F..``) therefore get the JSON 404
    instead of the UI's index page.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # a WebSocket to any other path: JSON 404
            await send_refusal(scope, send, 404, error_body(
                "not_found", "No WebSocket at this path; real-time detection is at "
                "/api/test/ws/{model_id}", {"path": scope.get("path", "")[:200]}))
            return
        await super().__call__(scope, receive, send)

    def get_path(self, scope: Scope) -> str:
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        parts = path.replace("\\", "/").strip("/").split("/")
        if parts[0] in RESERVED or ".." in parts:
            raise HTTPException(status_code=404)
        return super().get_path(scope)
