"""Runtime settings: one pydantic-settings object, environment prefix ``WAKEBUILDER_``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wakebuilder.capture.store import CaptureLimits
from wakebuilder.layout import DataLayout

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class Settings(BaseSettings):
    """All knobs of a WakeBuilder process. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix="WAKEBUILDER_", env_ignore_empty=True,
                                      extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Models, jobs, caches, voices")
    default_models_dir: Path | None = Field(
        default=None, description="Read-only directory of default models (type 'default')")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    allow_remote: bool = Field(default=False, description="Allow binding a non-loopback host")
    cors_origins: list[str] = Field(default_factory=list,
                                    description="Extra allowed CORS origins")
    api_token: str | None = Field(default=None, description="If set, every API route needs it")
    max_concurrent_jobs: int = Field(default=1, ge=1, le=16)
    max_upload_file_mb: float = Field(default=10.0, gt=0)
    max_upload_request_mb: float = Field(default=40.0, gt=0)
    worker_threads: int = Field(default=2, ge=1, le=64,
                                description="Threads per training job (torch/onnxruntime)")
    test_file_max_seconds: float = Field(
        default=600.0, gt=0, le=3600, description="Longest audio POST /api/test/file accepts "
        "(decoded and scored in blocks; about 14 s of one core per 600 s)")
    test_file_workers: int = Field(default=2, ge=1, le=16,
                                   description="File tests scored at the same time")
    test_file_queue: int = Field(default=8, ge=0, le=256,
                                 description="File tests that may wait for a worker; more "
                                 "are answered 503 at once")
    ws_max_connections: int = Field(default=64, ge=1)
    ws_max_per_client: int = Field(default=8, ge=1,
                                   description="Real-time connections per client address")
    ws_idle_timeout_s: float = Field(
        default=15.0, ge=0, description="Close a real-time connection that sends no audio for "
        "this long (0: never)")
    ws_control_rate: float = Field(
        default=20.0, gt=0, description="Control messages (ping/config/reset) per second and "
        "connection; a client that keeps going faster is closed")
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Extra names accepted in the Host header (besides "
        "localhost, 127.0.0.1, [::1] and the bound host); '*.example.org' matches subdomains, "
        "'*' any name")

    capture_max_clips: int = Field(default=200, ge=1, le=100_000,
                                   description="Captured clips kept per model (oldest "
                                   "unlabelled dropped first)")
    capture_max_mb: float = Field(default=50.0, gt=0, description="Megabytes of captured "
                                  "clips kept per model")
    capture_near_miss_fraction: float = Field(
        default=0.5, ge=0.0, lt=1.0, description="A score peak at or above this fraction of "
        "the threshold (but under it) is captured as a near miss; 0 keeps none")
    wyoming_capture: bool = Field(default=False, description="Capture detections and near "
                                  "misses of the Wyoming server (off: it listens in a home)")

    wyoming_uri: str = Field(
        default="tcp://127.0.0.1:10400", description="Wyoming wake-word server address "
        "(tcp://HOST:PORT or unix://PATH); a non-loopback host needs allow_remote")
    wyoming_zeroconf: bool = Field(default=False, description="Announce the Wyoming server "
                                   "over zeroconf (_wyoming._tcp) for Home Assistant")
    wyoming_zeroconf_name: str = Field(default="wakebuilder", min_length=1, max_length=63,
                                       description="Service name of the announcement")
    wyoming_threads: int = Field(default=2, ge=1, le=16,
                                 description="Inference threads shared by Wyoming connections")
    wyoming_max_connections: int = Field(default=64, ge=1, le=1024)

    @field_validator("data_dir", "default_models_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().resolve()

    @model_validator(mode="after")
    def _refuse_remote_bind(self) -> Settings:
        if self.host not in LOOPBACK_HOSTS and not self.allow_remote:
            raise ValueError(f"host {self.host!r} is not loopback; set "
                             "WAKEBUILDER_ALLOW_REMOTE=true to serve beyond this machine")
        wyoming = urlparse(self.wyoming_uri)
        if wyoming.scheme not in ("tcp", "unix"):
            raise ValueError(f"wyoming_uri {self.wyoming_uri!r}: use tcp://HOST:PORT or "
                             "unix://PATH")
        if (wyoming.scheme == "tcp" and wyoming.hostname not in LOOPBACK_HOSTS
                and not self.allow_remote):
            raise ValueError(f"Wyoming host {wyoming.hostname!r} is not loopback; pass "
                             "--allow-remote (or WAKEBUILDER_ALLOW_REMOTE=true) to serve beyond "
                             "this machine")
        return self

    @property
    def layout(self) -> DataLayout:
        """The data directory layout (every path below ``data_dir``)."""
        return DataLayout(self.data_dir, default_models_dir=self.default_models_dir)

    @property
    def models_dir(self) -> Path:
        return self.layout.models_dir

    @property
    def jobs_db(self) -> Path:
        return self.layout.jobs_db

    @property
    def uploads_dir(self) -> Path:
        return self.layout.uploads_dir

    @property
    def cache_dir(self) -> Path:
        return self.layout.cache_dir

    @property
    def voices_dir(self) -> Path:
        return self.layout.voices_dir

    @property
    def negative_dir(self) -> Path:
        return self.layout.negative_dir

    @property
    def captures_dir(self) -> Path:
        return self.layout.captures_dir

    def capture_limits(self) -> CaptureLimits:
        """The per-model bounds of captured clips."""
        return CaptureLimits(max_clips=self.capture_max_clips,
                             max_bytes=int(self.capture_max_mb * 1_000_000))

def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, then apply keyword overrides."""
    return Settings(**overrides)
