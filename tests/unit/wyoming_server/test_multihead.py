"""One front end per stream feeding several heads, each with its own detector state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from tests.unit.wyoming_server.conftest import write_head
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import StreamingDetector
from wakebuilder.detection.model import WakeModel
from wakebuilder.detection.multihead import MultiHeadDetector
from wakebuilder.features.frontend import FeatureFrontend


class CountingFrontend(FeatureFrontend):
    """Counts the mel windows embedded."""

    embedded = 0

    def embed(self, mel_windows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        self.embedded += len(mel_windows)
        return super().embed(mel_windows)


def test_each_head_equals_its_own_streaming_detector(tmp_path: Path) -> None:
    paths = []
    # window means of this audio are 2.0-2.3: h0 fires on high, h1 on low, h2 on any
    for i, (scale, bias) in enumerate([(40.0, -86.0), (-40.0, 84.0), (0.0, 10.0)]):
        paths.append(tmp_path / f"h{i}.onnx")
        write_head(paths[-1], scale, bias)
    configs = [DetectorConfig(threshold=0.5, refractory_ms=500),
               DetectorConfig(threshold=0.55, smoothing_frames=3, refractory_ms=0),
               DetectorConfig(threshold=0.9, refractory_ms=1000, warmup_frames=20)]
    models = [WakeModel(p, name=f"h{i}") for i, p in enumerate(paths)]
    rng = np.random.default_rng(0)
    audio = (rng.normal(0, 0.1, 16000 * 6) * np.repeat(rng.uniform(0, 1, 60), 1600)
             ).astype(np.float32)
    frontend = CountingFrontend()
    multi = MultiHeadDetector([(m.name, m, c) for m, c in zip(models, configs, strict=True)],
                              frontend)
    found = []
    for i in range(0, len(audio), 1000):  # chunks that do not line up with frames
        found.extend(multi.process(audio[i:i + 1000]))
    frames = len(audio) // 1280
    assert frontend.embedded == frames  # once per frame, not once per head
    assert multi.frame == frames
    for model, config in zip(models, configs, strict=True):
        single = StreamingDetector(model, config).process(audio)
        assert [d for d in found if d.name == model.name] == single
    assert len({d.name for d in found}) == 3  # every head fired at least once
    assert [(d.frame) for d in found] == sorted(d.frame for d in found)


def test_reset_starts_the_clock_and_warm_up_again(tmp_path: Path) -> None:
    write_head(tmp_path / "on.onnx", 0.0, 10.0)
    model = WakeModel(tmp_path / "on.onnx", name="on")
    multi = MultiHeadDetector([("on", model, DetectorConfig(refractory_ms=60_000))])
    audio = np.zeros(16000 * 2, np.float32)
    first = multi.process(audio)
    assert [d.time_ms for d in multi.process(audio)] == []  # refractory
    multi.reset()
    assert [d.time_ms for d in first] == [d.time_ms for d in multi.process(audio)] == [1360]
