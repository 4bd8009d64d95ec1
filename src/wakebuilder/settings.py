"""Runtime settings: one pydantic-settings object, environment prefix ``WAKEBUILDER_``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    ws_max_connections: int = Field(default=64, ge=1)

    @field_validator("data_dir", "default_models_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return None if value is None else value.expanduser().resolve()

    @model_validator(mode="after")
    def _refuse_remote_bind(self) -> Settings:
        if self.host not in LOOPBACK_HOSTS and not self.allow_remote:
            raise ValueError(f"host {self.host!r} is not loopback; set "
                             "WAKEBUILDER_ALLOW_REMOTE=true to serve beyond this machine")
        return self

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def jobs_db(self) -> Path:
        return self.data_dir / "jobs.db"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def voices_dir(self) -> Path:
        return self.data_dir / "voices"

    @property
    def negative_dir(self) -> Path:
        return self.data_dir / "negative"


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, then apply keyword overrides."""
    return Settings(**overrides)
