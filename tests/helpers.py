"""Small builders shared by tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from wakebuilder.detection.config import DetectorConfig
from wakebuilder.modelstore.export import write_model_files
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.training.head import AveragedHeads, HeadConfig, WakeHead


def random_model(directory: Path, model_id: str = "test_word", *, seed: int = 0,
                 threshold: float = 0.5, kind: str = "mlp", se: bool = False,
                 attention: bool = False, n_heads: int = 1) -> ModelManifest:
    """An untrained (random) head (or ensemble) written as a complete model directory."""
    torch.manual_seed(seed)
    cfg = HeadConfig(kind=kind, dropout=0.0, use_se_block=se, use_attention=attention)
    model = AveragedHeads([WakeHead(cfg) for _ in range(n_heads)])
    model.eval()
    manifest = ModelManifest(id=model_id, wake_word=model_id.replace("_", " "),
                             threshold=threshold, detector=DetectorConfig(threshold=threshold),
                             head_config=cfg.to_dict() | {"n_heads": n_heads})
    directory.mkdir(parents=True, exist_ok=True)
    return write_model_files(model, manifest, directory, "# test model\n")


def noise(seconds: float, level: float = 0.01, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(0, level, int(seconds * 16000))
            ).astype(np.float32)
