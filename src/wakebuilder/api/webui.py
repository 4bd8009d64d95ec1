"""The static web UI, mounted at "/" without shadowing the API."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

RESERVED = frozenset({"api", "docs", "redoc", "health", "openapi.json"})


class WebUI(StaticFiles):
    """StaticFiles that answers 404 for API paths and any ``..`` segment.

    Unmatched API URLs (for example ``/api/models/..%2F..``) therefore get the JSON 404
    instead of the UI's index page.
    """

    def get_path(self, scope: Scope) -> str:
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        parts = path.replace("\\", "/").strip("/").split("/")
        if parts[0] in RESERVED or ".." in parts:
            raise HTTPException(status_code=404)
        return super().get_path(scope)
