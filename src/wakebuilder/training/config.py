"""The configuration of a training job: the user's options (:class:`TrainConfig`, stored on
the job and in the manifest) and the data recipe (:class:`DataPlan`, in the manifest)."""

from __future__ import annotations

import functools
import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

ModelType = Literal["ast", "mlp", "tcn", "attention"]

MAX_EXCLUDED_SOURCES = 64
MAX_SOURCE_CHARS = 200
MAX_SOURCES_BYTES = 8192
"""Bounds of ``exclude_negative_sources`` (it is stored with the job and sent in every status
reply): items, characters per item and UTF-8 bytes in all."""
MODEL_TYPE_HELP = (
    "Head over the frozen speech-embedding front end. 'ast' (the API reference's default) "
    "means the default head: an MLP, or a TCN with use_tcn=true, or attention pooling with "
    "use_attention=true (TCN + attention pooling with both). 'mlp', 'tcn' and 'attention' pick "
    "the head explicitly; 'mlp' refuses use_tcn and use_attention, 'attention' refuses use_tcn "
    "(a 400 naming both fields), 'tcn' with use_attention pools its frames by attention. The "
    "manifest records model_type in training_config and the head it selected in "
    "head_config.kind.")
"""What ``model_type`` means (the API docs and the CLI help show it)."""
SHARE_PATTERN = re.compile(r"^(?P<source>[^#]+)#(?P<part>[0-9]+)/(?P<parts>[0-9]+)$")
"""``source#k/n``: the files of ``source`` in part ``k`` of ``n`` stable parts (by a SHA-256
of the file's name), e.g. ``corpus/bass#1/2`` for one half of that source's files."""
MAX_SHARE_PARTS = 16


@functools.lru_cache(maxsize=256)
def share_of(pattern: str) -> tuple[str, int, int] | None:
    """``(source, k, n)`` of a ``source#k/n`` pattern; None for a plain source pattern.
    Raises ValueError for a malformed share (``k`` must be under ``n``, ``n`` at most
    :data:`MAX_SHARE_PARTS`)."""
    if "#" not in pattern:
        return None
    m = SHARE_PATTERN.match(pattern)
    if m is None:
        raise ValueError(f"{pattern!r}: a share of a source is written 'source#k/n'")
    k, n = int(m["part"]), int(m["parts"])
    if not 0 <= k < n <= MAX_SHARE_PARTS:
        raise ValueError(f"{pattern!r}: part k of n needs 0 <= k < n <= {MAX_SHARE_PARTS}")
    return m["source"], k, n


SourceName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SOURCE_CHARS,
                                              pattern=r"^[^\x00-\x1f\x7f]+$")]


class TrainConfig(BaseModel):
    """Every option of ``POST /api/train/start`` with the API reference's defaults.

    ``model_type`` "ast" (the reference's default) selects the default head over the frozen
    speech-embedding front end; "mlp", "tcn" and "attention" pick a head explicitly. Options
    that contradict the model type are refused (see :meth:`_consistent_head`).
    """

    model_type: ModelType = Field(default="ast", description=MODEL_TYPE_HELP)
    batch_size: int = Field(default=32, ge=8, le=4096)
    learning_rate: float = Field(default=0.0001, gt=0, le=1.0)
    num_epochs: int = Field(default=100, ge=1, le=1000)
    early_stopping: int = Field(default=8, ge=0, le=1000,
                                description="Patience in epochs (0 = off)")
    dropout: float = Field(default=0.5, ge=0.0, lt=1.0)
    label_smoothing: float = Field(default=0.1, ge=0.0, lt=0.5)
    mixup_alpha: float = Field(default=0.5, ge=0.0, le=10.0)
    use_focal_loss: bool = False
    focal_alpha: float = Field(default=0.5, ge=0.0, le=1.0)
    focal_gamma: float = Field(default=2.0, ge=0.0, le=10.0)
    use_attention: bool = False
    use_se_block: bool = False
    use_tcn: bool = False
    use_tts_positives: bool = True
    use_real_negatives: bool = True
    use_hard_negatives: bool = True
    target_positive_samples: int = Field(default=3000, ge=50, le=50_000)
    negative_ratio: float = Field(default=6.0, ge=0.5, le=50.0)
    hard_negative_ratio: float = Field(default=0.3, ge=0.0, le=2.0)
    # Additions (not in the reference; defaults keep its behaviour).
    target_fa_per_hour: float = Field(default=0.5, gt=0, le=100.0)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    steps_per_epoch: int = Field(default=150, ge=10, le=100_000,
                                 description="Optimiser steps per epoch")
    smoothing_frames: int = Field(default=1, ge=1, le=16)
    refractory_ms: int = Field(default=2000, ge=0, le=60_000)
    ensemble: int = Field(default=2, ge=1, le=5,
                          description="Heads averaged into one model (2: much less sensitive "
                                      "to the seed than one head, for ~1 min more training)")
    mined_negatives: int = Field(
        default=4000, ge=0, le=100_000,
        description="Highest-scoring negative windows of the cache added after a first pass, "
                    "then the head is fine-tuned (0 = off)")
    close_word_negatives: bool = Field(
        default=False,
        description="With use_hard_negatives: also synthesise phonetically close words "
                    "('snowball' for 'snowboy'). Off by default: in the development benchmark "
                    "they cost 'view glass' 2-10 points of FRR on other people's voices at "
                    "1-2 FA/h. Partial phrases and halves of the user's clips are used whenever "
                    "use_hard_negatives is on")
    user_weight: float = Field(default=2.0, ge=0.1, le=20.0,
                               description="Loss weight of user-recording positives")
    exclude_negative_sources: list[SourceName] = Field(
        default_factory=list, max_length=MAX_EXCLUDED_SOURCES,
        description="Negative sources left out of every split of the negative store (training, "
                    "calibration, held-out evaluation) and of the background audio (e.g. "
                    "'corpus/bass' kept for an evaluation); a trailing '/' excludes a prefix "
                    "('corpus/' every corpus source), a bare name one source, 'source#k/n' "
                    "part k of n stable parts of that source's files ('corpus/bass#1/2': "
                    "half of them; background audio then skips the whole source). At most "
                    f"{MAX_EXCLUDED_SOURCES} names of {MAX_SOURCE_CHARS} characters, "
                    f"{MAX_SOURCES_BYTES} bytes (UTF-8) in all")

    @field_validator("exclude_negative_sources")
    @classmethod
    def _sources_total(cls, value: list[str]) -> list[str]:
        for pattern in value:
            share_of(pattern)  # a malformed 'source#k/n' is refused, never ignored
        total = sum(len(v.encode()) for v in value)
        if total > MAX_SOURCES_BYTES:
            raise ValueError(f"{total} bytes of source names; at most {MAX_SOURCES_BYTES} "
                             "in all")
        return value

    @model_validator(mode="after")
    def _consistent_head(self) -> TrainConfig:
        """Refuse options the chosen ``model_type`` cannot honour (never drop them silently)."""
        refused = {"mlp": ("use_tcn", "use_attention"), "attention": ("use_tcn",)}
        for option in refused.get(self.model_type, ()):
            if getattr(self, option):
                raise ValueError(
                    f"model_type={self.model_type!r} conflicts with {option}=true: the "
                    f"{self.model_type} head has no {option.removeprefix('use_')}; use "
                    f"model_type='ast' or '{option.removeprefix('use_')}', or {option}=false")
        return self

    def head_kind(self) -> str:
        """The head architecture the options select."""
        if self.model_type in ("tcn", "attention", "mlp"):
            return self.model_type
        if self.use_tcn:
            return "tcn"
        if self.use_attention:
            return "attention"
        return "mlp"



class DataPlan(BaseModel):
    """The recipe of a job's data and schedule: every share, count, stride and epoch budget
    the pipeline uses besides the :class:`TrainConfig` options. Recorded in the manifest as
    ``recipe``; the defaults are today's recipe (version :data:`RECIPE_VERSION`); a recipe
    recorded before a field existed reads as that field's earlier value
    (:meth:`from_record`). The same config, recipe, recordings, seed and thread count give the
    same weights bit for bit, with the default engines too: every synthesised clip depends
    only on the seed and its place in the plan."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipe_version: int = Field(default=6, ge=1, le=1000,
                                description="The recipe generation the defaults come from")

    # Speech synthesis
    tts_positive_share: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="TTS positive clips synthesised, as a share of target_positive_samples")
    hard_negative_tts_share: float = Field(
        default=0.6, ge=0.0, le=1.0,
        description="Hard-negative TTS clips = target_positive_samples * hard_negative_ratio "
                    "* this")
    max_hard_negative_phrases: int = Field(default=60, ge=1, le=1000)
    tts_duration_scale: float = Field(
        default=1.35, ge=0.5, le=2.0,
        description="Every synthesised clip (positives and hard negatives) is said this much "
                    "slower than the engine's own pace: people say a wake word more slowly "
                    "than TTS engines read it (the development data's 'snowboy' lasts 0.64 s "
                    "at the median, the engines' 0.49 s at their pace and 0.66 s at 1.35; "
                    "benchmarks/tts_pace.py)")
    engine_weights: dict[str, float] = Field(
        default_factory=lambda: {"piper": 0.45, "espeak": 0.4, "flite": 0.15},
        description="Share of synthesised clips per TTS engine (available engines only)")
    heldout_voice_fraction: float = Field(
        default=0.15, ge=0.0, lt=1.0,
        description="Share of each engine's voices held out of training (validation and FRR)")
    min_voices_to_hold_out: int = Field(default=4, ge=1, le=1000,
                                        description="Engines with fewer voices hold none out")
    # User recordings
    recording_peak: float = Field(default=0.5, gt=0.0, le=1.0,
                                  description="Peak level recordings are normalised to")
    min_recordings_to_hold_out: int = Field(
        default=3, ge=2, le=5, description="With this many recordings one stays untouched")
    user_positive_share: float = Field(
        default=0.5, ge=0.0, le=1.0,
        description="Share of positive training streams from the user's recordings when TTS "
                    "positives exist (all of them otherwise)")
    # Augmentation
    background_bank_seconds: float = Field(default=8.0, gt=0.0, le=600.0,
                                           description="Seconds of each generated background")
    # Validation (early stopping)
    min_validation_positives: int = Field(default=40, ge=1, le=100_000)
    validation_positive_divisor: int = Field(
        default=8, ge=1, le=1000,
        description="Validation TTS positive streams = max(min_validation_positives, "
                    "target_positive_samples // this)")
    validation_user_share: float = Field(
        default=0.5, ge=0.0, le=10.0,
        description="Validation streams of the held-out recording, per validation TTS stream")
    validation_hard_share: float = Field(
        default=1.0, ge=0.0, le=10.0,
        description="Validation hard-negative streams, per validation TTS stream")
    validation_negative_factor: float = Field(
        default=4.0, ge=0.0, le=100.0,
        description="Validation-split negative windows per validation positive window")
    # Hard-negative mining and fine-tuning
    mining_stride: int = Field(default=2, ge=1, le=64,
                               description="Frames between mined windows of a stream")
    mining_min_score: float = Field(default=0.05, ge=0.0, lt=1.0,
                                    description="Windows scoring at most this are never mined")
    finetune_epoch_divisor: int = Field(
        default=4, ge=1, le=100,
        description="Fine-tune epochs = max(finetune_min_epochs, num_epochs // this)")
    finetune_min_epochs: int = Field(default=2, ge=1, le=1000)
    checkpoint_average: int = Field(
        default=5, ge=1, le=50,
        description="Each head keeps the mean weights of this many epochs with the lowest "
                    "validation loss (1: the single best epoch)")
    finetune_lr_factor: float = Field(default=0.5, gt=0.0, le=10.0)
    finetune_min_hard_ratio: float = Field(
        default=0.3, ge=0.0, le=2.0,
        description="hard_negative_ratio while fine-tuning is at least this")
    # The shipped model trains on every recording
    train_on_all_recordings: bool = Field(
        default=True,
        description="With an untouched recording (3+ recordings): measure the model trained "
                    "without it (its FRR on that recording is the honest figure), then continue "
                    "training on all recordings for final_epochs and ship that model")
    final_epochs: int = Field(default=8, ge=1, le=1000,
                              description="Epochs of the final pass on all recordings")
    final_user_stream_share: float = Field(
        default=0.5, ge=0.0, le=10.0,
        description="Augmented streams of the untouched recording added for the final pass, "
                    "as a share of the streams of each training recording")
    # Threshold
    threshold_unseen_factor: float = Field(
        default=4.0, ge=1.0, le=100.0,
        description="The threshold lets through at most target_fa_per_hour / this on the "
                    "calibration audio: audio of other kinds (other speakers, rooms, words) "
                    "false-accepts several times more often than the audio that chose it")
    threshold_logit_margin: float = Field(
        default=0.0, ge=0.0, le=5.0,
        description="Then the threshold is raised by this much in logit units above the "
                    "loudest calibration event it lets through or stops (a margin for the few "
                    "events that decide it; 0.3 in recipes 3-5, 0 since recipe 6: with every "
                    "negative heard between quiet the factor alone kept the promise on the "
                    "development benchmark and the margin only cost misses)")
    # Evaluation at the chosen threshold
    eval_seed_offset: int = Field(default=7, ge=0, le=2**31 - 1,
                                  description="Evaluation draws use seed + this")
    eval_tts_clips: int = Field(default=150, ge=0, le=100_000,
                                description="Held-out TTS clips whose FRR is measured")
    eval_augmented_user_clips: int = Field(
        default=30, ge=0, le=100_000, description="Augmented copies of the user recording(s)")

    @classmethod
    def from_record(cls, raw: object) -> DataPlan:
        """A recipe as recorded in a manifest or a config file: fields it predates take the
        values models were trained with before (:data:`RECIPE_V1` for a recipe without a
        version, :data:`RECIPE_ADDED` for fields added in a later version), so an old manifest
        still reproduces its model."""
        if isinstance(raw, dict) and raw:
            version = raw.get("recipe_version", 1)
            if "recipe_version" not in raw:
                raw = {**RECIPE_V1, **raw}
            for since, earlier in RECIPE_ADDED.items():
                if isinstance(version, int) and version < since:
                    raw = {**earlier, **raw}
        return cls.model_validate(raw or {})

    def finetune_epochs(self, cfg: TrainConfig) -> int:
        """Epochs of the fine-tune pass after mining (0 when mining is off)."""
        if not cfg.mined_negatives:
            return 0
        return max(self.finetune_min_epochs, cfg.num_epochs // self.finetune_epoch_divisor)

    def validation_positives(self, cfg: TrainConfig) -> int:
        """Validation TTS positive streams."""
        return max(self.min_validation_positives,
                   cfg.target_positive_samples // self.validation_positive_divisor)

RECIPE_VERSION = 6
RECIPE_V1: dict[str, object] = {"recipe_version": 1, "checkpoint_average": 1,
                                "train_on_all_recordings": False,
                                "threshold_unseen_factor": 1.0, "threshold_logit_margin": 0.0}
"""The values of fields added since the first recorded recipe, as version 1 trained."""
RECIPE_ADDED: dict[int, dict[str, object]] = {5: {"tts_duration_scale": 1.0}}
"""Fields added in a recipe version, with the value recipes of earlier versions trained with
(a version-4 manifest has no ``tts_duration_scale`` and was synthesised at the engines' pace)."""


def fast_config(**overrides: object) -> TrainConfig:
    """A small configuration for tests and demos (about a minute on 2 cores)."""
    base: dict[str, object] = dict(num_epochs=6, target_positive_samples=300, negative_ratio=4.0,
                                   steps_per_epoch=40, batch_size=128, learning_rate=0.001,
                                   early_stopping=0, ensemble=1)
    base.update(overrides)
    return TrainConfig.model_validate(base)
