"""Request and response shapes of the REST API (the reference's fields, plus additions)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from wakebuilder.modelstore.metrics import ModelMetrics


class ErrorPublic(BaseModel):
    """Every error response."""

    error: str = Field(examples=["validation_error"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class MessagePublic(BaseModel):
    message: str


class HealthPublic(BaseModel):
    status: str
    version: str
    timestamp: str


class SystemInfo(BaseModel):
    python_version: str
    torch_version: str | None
    onnxruntime_version: str | None
    cuda_available: bool
    device: str
    platform: str
    cpu_count: int


class InfoPublic(BaseModel):
    name: str
    version: str
    description: str
    docs_url: str
    system: SystemInfo


class QualityFigures(BaseModel):
    """A model's headline quality figures, flat (model list, details and job status)."""

    fa_per_hour: float | None = Field(
        default=None, description="False accepts per hour on HELD-OUT negative audio (whole "
        "sources no part of training or the threshold choice saw), at the chosen threshold; "
        "null for models trained before the held-out split")
    frr: float | None = Field(
        default=None, description="False-reject rate on held-out positives (held-out TTS "
        "voices and the untouched user recording) at the chosen threshold")
    calibration_fa_per_hour: float | None = Field(
        default=None, description="False accepts per hour on the calibration audio, the audio "
        "that chose the threshold (in-sample: at most the target by construction)")
    heldout_fa_per_hour: float | None = Field(
        default=None, description="Same as fa_per_hour")
    heldout_hours: float | None = Field(
        default=None, description="Hours of held-out audio fa_per_hour was counted on")
    enough_heldout_audio: bool = Field(
        default=False, description="False when under 0.5 h of held-out audio: fa_per_hour is "
        "then too uncertain to quote")


def quality_figures(metrics: ModelMetrics | dict[str, Any] | None) -> dict[str, Any]:
    """The :class:`QualityFigures` fields of a model's metrics (typed or an old flat dict)."""
    m = metrics if isinstance(metrics, ModelMetrics) else ModelMetrics.model_validate(
        metrics or {})
    return {"fa_per_hour": m.heldout_fa_per_hour, "frr": m.frr,
            "calibration_fa_per_hour": m.calibration_fa_per_hour,
            "heldout_fa_per_hour": m.heldout_fa_per_hour, "heldout_hours": m.heldout_hours,
            "enough_heldout_audio": m.enough_heldout_audio}


class JobCreated(BaseModel):
    job_id: str
    status: str
    message: str
    queue_position: int | None = None
    recordings: list[dict[str, Any]] = Field(default_factory=list)
    warning: str | None = Field(None, description="Set when the real negatives are missing or "
                                "still being prepared: what that does to the model")
    waiting_for_negatives: bool = Field(False, description="The job waits for the first slice "
                                        "of real negatives before it trains")
    negatives: dict[str, Any] | None = Field(None, description="The negative store now: "
                                             "building, slice_ready, thin, speech_hours, "
                                             "hours_by_kind")


class JobStatusPublic(QualityFigures):
    """``GET /api/train/status/{job_id}``: the reference's fields, then additions (the quality
    figures are those of the published model, null until it is)."""

    job_id: str
    status: str
    phase: str
    progress: float
    current_epoch: int | None = None
    total_epochs: int | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    data_stats: dict[str, Any] = Field(default_factory=dict)
    elapsed_time: str
    elapsed_seconds: float
    eta_seconds: float | None = None
    wake_word: str | None = None
    kind: str = "train"
    message: str = ""
    threshold: float | None = None
    model_id: str | None = None
    error: dict[str, Any] | None = None
    reason: str | None = None
    cancel_requested: bool = False
    queue_position: int | None = None
    created_at: str
    history: list[dict[str, Any]] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    """Same as ``phase_seconds`` (kept for older clients)."""
    phase_seconds: dict[str, float] = Field(
        default_factory=dict, description="Wall seconds per phase, in order: a phase runs from "
        "its first report until the next phase begins; the running one counts until its latest "
        "report.")
    config: dict[str, Any] = Field(default_factory=dict)
    logs: list[dict[str, Any]] = Field(default_factory=list)


class JobSummary(BaseModel):
    job_id: str
    wake_word: str | None
    status: str
    created_at: str
    phase: str
    progress: float
    model_id: str | None = None


class JobList(BaseModel):
    jobs: list[JobSummary]
    total: int


class CancelPublic(BaseModel):
    job_id: str
    status: str
    message: str


class ModelSummary(QualityFigures):
    id: str
    wake_word: str
    type: str
    created_at: str
    accuracy: float | None = None
    f1_score: float | None = None
    threshold: float
    has_onnx: bool
    job_id: str | None = None


class ModelList(BaseModel):
    models: list[ModelSummary]
    total: int


class ModelPublic(QualityFigures):
    id: str
    wake_word: str
    type: str
    created_at: str
    threshold: float
    metrics: ModelMetrics = Field(
        description="accuracy, precision, recall, f1_score (validation windows from held-out "
        "voices and recordings), then calibration (in-sample) and heldout false accepts, "
        "false rejects per kind of held-out positive, export parity, train_seconds")
    training_config: dict[str, Any]
    trainable_params: int
    has_onnx: bool
    target_fa_per_hour: float | None = None
    detector: dict[str, Any] = Field(default_factory=dict)
    history: list[dict[str, Any]] = Field(default_factory=list)
    det_curve: list[dict[str, Any]] = Field(default_factory=list)
    head_config: dict[str, Any] = Field(default_factory=dict)
    data_stats: dict[str, Any] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict)
    job_id: str | None = None
    notes: list[str] = Field(default_factory=list)
    calibration: dict[str, Any] | None = Field(
        default=None, description="In-graph calibration of the exported .onnx 'score' output "
        "and the .tflite: 0.5 there == threshold (null for older models)")
    score_scale: dict[str, str] = Field(
        default_factory=dict, description="'raw' or 'calibrated' for each score: threshold, "
        "metrics, onnx:score, onnx:raw_score, tflite, pt")


class DetectionPublic(BaseModel):
    time_ms: int
    time_s: float
    score: float
    frame: int


class FileTestPublic(BaseModel):
    detected: bool
    confidence: float
    threshold: float
    model_id: str
    processing_time_ms: float
    detections: list[DetectionPublic]
    duration_s: float
    frames: int


class DeviceRequest(BaseModel):
    device: Literal["cpu", "cuda", "auto"]


class DevicePublic(BaseModel):
    """What inference really uses (the reference's fields, then additions)."""

    device: str = Field(description="Always 'cpu': detection runs on onnxruntime's CPU "
                        "execution provider")
    cuda_available: bool = Field(description="Whether this onnxruntime build offers a CUDA "
                                 "execution provider (inference does not use it)")
    gpu_name: str | None = Field(default=None, description="Null: no GPU is used")
    message: str | None = None
    runtime: str = "onnxruntime"
    providers: list[str] = Field(default_factory=list,
                                 description="Execution providers inference sessions use")
    available_providers: list[str] = Field(
        default_factory=list, description="Execution providers this onnxruntime build offers")


class CacheInfoPublic(BaseModel):
    available: bool
    chunk_count: int
    size_mb: float
    last_built: str | None = None
    hours: float | None = None
    entries: int | None = None
    hours_by_split: dict[str, float] | None = Field(
        None, description="Hours of audio per split: train, validation (early stopping), "
        "calibration (chooses the threshold), heldout (evaluation only)")
    hours_by_split_kind: dict[str, dict[str, float]] | None = Field(
        None, description="Hours per split and kind (speech, noise, music, tts, mixture, other)")
    heldout_sources: list[str] | None = Field(
        None, description="Whole sources kept for evaluation (generated streams as "
        "generated:<name>)")
    building: bool = False
    build_job: dict[str, Any] | None = None
    state: str | None = Field(None, description="The last build's state: building, ready, "
                              "failed, cancelled or interrupted (null: never built this way)")
    stage: str | None = None
    progress: float | None = Field(None, description="Build progress, 0 to 1")
    eta_seconds: float | None = Field(None, description="Seconds left in the current stage")
    slice_ready: bool | None = Field(None, description="A useful first slice of real "
                                     "negatives is committed (training can use it)")
    thin: bool | None = Field(None, description="Too little natural speech to train well")
    warning: str | None = None
    hours_by_kind: dict[str, float] | None = None
    build_state: dict[str, Any] | None = Field(None, description="The build's state file "
                                               "(BUILD_STATE.json) as written")


class CacheBuildPublic(BaseModel):
    message: str
    estimated_time: str
    job_id: str
