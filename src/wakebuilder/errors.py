"""The one error hierarchy. Every class maps to an ``error`` value of the API reference.

WakeBuilderError (internal_error, 500)
├── InvalidInputError (validation_error, 400)
│   ├── InvalidAudioError          details: {"file": ..., "reason": ...}
│   └── InvalidWakeWordError       details: {"wake_word": ..., "reason": ...}
├── NotFoundError (not_found, 404)
│   ├── ModelNotFoundError
│   └── JobNotFoundError
├── ConflictError (conflict, 409)
│   ├── ModelExistsError
│   └── JobAlreadyActiveError
├── EngineUnavailableError (engine_unavailable, 503)
├── CancelledError (cancelled, 409)  raised inside a job when a cancel was requested
└── PipelineError (internal_error, 500)    details: {"stage": ...}
    ├── SynthesisError
    ├── TrainingError
    └── ExportError
"""

from __future__ import annotations

from typing import Any, ClassVar


class WakeBuilderError(Exception):
    """Base of every error WakeBuilder raises on purpose."""

    code: ClassVar[str] = "internal_error"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """The API's error shape: ``{"error", "message", "details"}``."""
        return {"error": self.code, "message": self.message, "details": self.details}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, details={self.details!r})"


class InvalidInputError(WakeBuilderError):
    """Raised when caller input is malformed or out of range."""

    code = "validation_error"
    http_status = 400


class InvalidAudioError(InvalidInputError):
    """Raised when an audio file cannot be decoded or fails a quality check."""

    def __init__(self, file: str, reason: str, message: str | None = None, **extra: Any) -> None:
        super().__init__(message or f"{file}: {reason}", {"file": file, "reason": reason, **extra})


class InvalidWakeWordError(InvalidInputError):
    """Raised when a wake word breaks the text rules."""

    def __init__(self, wake_word: str, reason: str) -> None:
        super().__init__(f"Invalid wake word {wake_word!r}: {reason}",
                         {"wake_word": wake_word, "reason": reason})


class NotFoundError(WakeBuilderError):
    """Raised when a requested resource does not exist."""

    code = "not_found"
    http_status = 404


class ModelNotFoundError(NotFoundError):
    """Raised when no model has the requested id."""

    def __init__(self, model_id: str) -> None:
        super().__init__(f"Model {model_id!r} not found", {"model_id": model_id})


class JobNotFoundError(NotFoundError):
    """Raised when no job has the requested id."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"Job {job_id!r} not found", {"job_id": job_id})


class ConflictError(WakeBuilderError):
    """Raised when a request conflicts with the current state."""

    code = "conflict"
    http_status = 409


class ModelExistsError(ConflictError):
    """Raised when a model id is already taken."""


class JobAlreadyActiveError(ConflictError):
    """Raised when an operation needs a finished job but the job is still active."""


class EngineUnavailableError(WakeBuilderError):
    """Raised when a required engine (TTS, feature model) is not installed or fails to load."""

    code = "engine_unavailable"
    http_status = 503


class CancelledError(WakeBuilderError):
    """Raised inside a running job when its cancellation was requested."""

    code = "cancelled"
    http_status = 409


class PipelineError(WakeBuilderError):
    """Raised when a pipeline stage fails; ``details["stage"]`` names it."""

    stage: ClassVar[str] = "pipeline"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message, {"stage": self.stage, **(details or {})})


class SynthesisError(PipelineError):
    """Raised when text-to-speech produced too little usable audio."""

    stage = "synthesis"


class TrainingError(PipelineError):
    """Raised when the head cannot be trained (for example, no data)."""

    stage = "training"


class ExportError(PipelineError):
    """Raised when a model cannot be written or fails its parity check."""

    stage = "export"
