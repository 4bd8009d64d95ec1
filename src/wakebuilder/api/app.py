"""``create_app(settings)``: the FastAPI application, its stores, dispatcher and UI."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from wakebuilder import __version__
from wakebuilder.api.errors import register_error_handlers
from wakebuilder.api.headers import JSONCORSMiddleware, SecurityHeadersMiddleware
from wakebuilder.api.hosts import HostOriginMiddleware
from wakebuilder.api.logredact import install_redaction
from wakebuilder.api.routers import cache, captures, health, models, testing, training, ws
from wakebuilder.api.security import BodyLimitMiddleware, TokenMiddleware
from wakebuilder.api.webui import WebUI
from wakebuilder.capture.recorder import CaptureConfig
from wakebuilder.capture.store import CaptureStore
from wakebuilder.jobs.dispatcher import Dispatcher
from wakebuilder.jobs.store import JobStore
from wakebuilder.modelstore.loader import ModelCache
from wakebuilder.modelstore.store import ModelStore
from wakebuilder.settings import LOOPBACK_HOSTS, Settings

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
_ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorPublic"}
MULTIPART_OVERHEAD_BYTES = 256 * 1024


def own_origins(settings: Settings) -> list[str]:
    """The app's own origins (plus configured ones) for CORS."""
    hosts = {settings.host} | (LOOPBACK_HOSTS - {"::1"} if settings.host in LOOPBACK_HOSTS
                               else set())
    origins = {f"http://{h}:{settings.port}" for h in hosts}
    return sorted(origins | set(settings.cors_origins))


def _openapi_with_400(app: FastAPI) -> dict[str, Any]:
    """OpenAPI where validation errors are documented as 400 with the error shape."""
    if app.openapi_schema:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    from wakebuilder.api.schemas import ErrorPublic

    schema = get_openapi(title=app.title, version=app.version, description=app.description,
                         routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ErrorPublic"] = ErrorPublic.model_json_schema()
    for item in schema.get("paths", {}).values():
        for op in item.values():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            for code, text in (("400", "Invalid input"), ("404", "Not found"),
                               ("409", "Conflict"), ("500", "Internal error")):
                responses.setdefault(code, {"description": text, "content": {
                    "application/json": {"schema": _ERROR_SCHEMA}}})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings, *, runners: dict[str, str] | None = None,
               cancel_grace_s: float = 10.0, start_dispatcher: bool = True) -> FastAPI:
    """Build the app. ``runners`` overrides the task run for a job kind (tests)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    jobs = JobStore(settings.jobs_db)
    store = ModelStore(settings.models_dir, settings.default_models_dir)
    dispatcher = Dispatcher(jobs, data_dir=settings.data_dir,
                            default_models_dir=settings.default_models_dir,
                            max_concurrent=settings.max_concurrent_jobs,
                            threads=settings.worker_threads, cancel_grace_s=cancel_grace_s,
                            runners=runners)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        install_redaction()  # after the server configured its loggers
        interrupted = jobs.recover_interrupted()
        if interrupted:
            log.warning("marked %d interrupted job(s) as failed: %s", len(interrupted),
                        ", ".join(interrupted))
        store.clean_staging()
        if start_dispatcher:
            dispatcher.start()
        try:
            yield
        finally:
            dispatcher.stop()

    app = FastAPI(title="WakeBuilder API", version=__version__,
                  description="Wake word training platform API", docs_url="/docs",
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.jobs = jobs
    app.state.models = store
    app.state.dispatcher = dispatcher
    app.state.model_cache = ModelCache()
    app.state.captures = CaptureStore(settings.captures_dir, settings.capture_limits())
    app.state.capture_config = CaptureConfig(
        near_miss_fraction=settings.capture_near_miss_fraction)
    register_error_handlers(app)
    for router in (health.router, training.router, models.router, captures.router,
                   testing.router, cache.router):
        app.include_router(router)
    app.include_router(ws.router)
    app.openapi = lambda: _openapi_with_400(app)  # type: ignore[method-assign]
    if (STATIC_DIR / "index.html").is_file():
        app.mount("/", WebUI(directory=STATIC_DIR, html=True), name="web")
    # Middleware: the last added runs first (security headers, Host/Origin checks, CORS,
    # then token, then the body limit).
    app.add_middleware(BodyLimitMiddleware, max_bytes=int(
        settings.max_upload_request_mb * 1_000_000) + MULTIPART_OVERHEAD_BYTES)
    if settings.api_token:
        app.add_middleware(TokenMiddleware, token=settings.api_token)
    app.add_middleware(JSONCORSMiddleware, allow_origins=own_origins(settings),
                       allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                       allow_headers=["Authorization", "X-API-Key", "Content-Type"],
                       allow_credentials=False)
    app.add_middleware(HostOriginMiddleware, bound_host=settings.host,
                       allowed_hosts=settings.allowed_hosts,
                       allowed_origins=own_origins(settings))
    app.add_middleware(SecurityHeadersMiddleware)
    return app
