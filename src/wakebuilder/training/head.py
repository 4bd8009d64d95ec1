"""Heads over a 16 x 96 window of speech embeddings."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from wakebuilder.features.frontend import EMBEDDING_DIM, WINDOW_FRAMES


@dataclass(frozen=True)
class HeadConfig:
    """Architecture of a head; stored in the manifest so the head can be rebuilt."""

    kind: str = "mlp"  # mlp | tcn | attention
    hidden: int = 128
    dropout: float = 0.5
    use_se_block: bool = False
    use_attention: bool = False
    frames: int = WINDOW_FRAMES
    dim: int = EMBEDDING_DIM

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class FastDropout(nn.Dropout):
    """Dropout whose mask comes from ``torch.rand`` (about 3x faster on CPU than the
    ``bernoulli_`` of :class:`torch.nn.Dropout`, which took a third of a training step).
    Same distribution; the identity outside training, so exports see no layer."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand_like(x) >= self.p
        return x * keep / (1.0 - self.p)


class SqueezeExcite(nn.Module):
    """Channel re-weighting from a summary over frames. x: (B, T, C)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, channels // reduction), nn.ReLU(),
                                nn.Linear(channels // reduction, channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=1)).unsqueeze(1)


class AttentionPool(nn.Module):
    """Softmax attention over frames. x: (B, T, C) -> (B, C)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.score = nn.Linear(channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.score(x), dim=1)  # (B, T, 1)
        return (weights * x).sum(dim=1)


class WakeHead(nn.Module):
    """Input (B, 16, 96) embeddings; output (B, 1) probability (sigmoid applied)."""

    def __init__(self, cfg: HeadConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden
        self.frame_proj = nn.Sequential(nn.Linear(cfg.dim, h), nn.LayerNorm(h), nn.ReLU())
        self.se = SqueezeExcite(h) if cfg.use_se_block else None
        if cfg.kind == "tcn":
            self.tcn: nn.Module | None = nn.Sequential(
                nn.Conv1d(h, h, 3, padding=1, dilation=1), nn.ReLU(),
                nn.Conv1d(h, h, 3, padding=2, dilation=2), nn.ReLU(),
                nn.Conv1d(h, h, 3, padding=4, dilation=4), nn.ReLU())
        else:
            self.tcn = None
        use_pool = cfg.kind == "attention" or (cfg.use_attention and cfg.kind == "tcn")
        self.pool = AttentionPool(h) if use_pool else None
        flat = h if (self.pool is not None or cfg.kind == "tcn") else h * cfg.frames
        self.classifier = nn.Sequential(FastDropout(cfg.dropout), nn.Linear(flat, h),
                                        nn.LayerNorm(h), nn.ReLU(), FastDropout(cfg.dropout),
                                        nn.Linear(h, 1))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        z = self.frame_proj(x)  # (B, T, h)
        if self.se is not None:
            z = self.se(z)
        if self.tcn is not None:
            z = self.tcn(z.transpose(1, 2)).transpose(1, 2)  # (B, T, h)
        if self.pool is not None:
            z = self.pool(z)
        elif self.tcn is not None:
            z = z.max(dim=1).values
        else:
            z = z.flatten(1)
        return self.classifier(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))


class AveragedHeads(nn.Module):
    """Mean probability of several heads (exported as one ONNX graph)."""

    def __init__(self, heads: list[WakeHead]) -> None:
        super().__init__()
        self.heads = nn.ModuleList(heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([h(x) for h in self.heads]).mean(dim=0)


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
