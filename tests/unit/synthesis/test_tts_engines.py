"""Each TTS engine speaks plausible 16 kHz audio, and missing engines are reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from wakebuilder.audio.format import SAMPLE_RATE, rms_db, seconds
from wakebuilder.errors import EngineUnavailableError, SynthesisError
from wakebuilder.synthesis.engine import StubEngine, TtsEngine, is_english, trim_silence
from wakebuilder.synthesis.espeak import ENGLISH_VOICES, EspeakEngine
from wakebuilder.synthesis.flite import FliteEngine
from wakebuilder.synthesis.piper import PiperEngine, find_voices
from wakebuilder.synthesis.registry import EngineSet, load_engines


@pytest.fixture(scope="module")
def engines() -> EngineSet:
    return load_engines(None)


def assert_speech_like(samples: np.ndarray, *, min_s: float = 0.3, max_s: float = 3.0) -> None:
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert np.isfinite(samples).all()
    assert min_s <= seconds(samples) <= max_s
    assert 0.49 <= float(np.abs(samples).max()) <= 0.91
    assert rms_db(samples) > -35.0
    # trimmed: the first and last 10 ms are much quieter than the loudest 10 ms
    frames = np.abs(samples[: samples.size // 160 * 160].reshape(-1, 160)).max(axis=1)
    assert frames[0] < 0.5 * frames.max() and frames[-1] < 0.5 * frames.max()


@pytest.mark.parametrize("name", ["piper", "espeak", "flite"])
def test_engine_speaks_plausible_audio(engines: EngineSet, name: str) -> None:
    if name == "flite" and shutil.which("flite") is None:
        pytest.skip("flite is not installed (apt-get install flite)")
    engine = engines.engines[name]
    assert isinstance(engine, TtsEngine)
    rng = np.random.default_rng(1)
    voices = engine.voices()
    for voice in (voices[0], voices[-1]):
        short = engine.synthesize("hey computer", voice=voice, rng=rng)
        assert_speech_like(short, min_s=0.35, max_s=2.5)
        long = engine.synthesize("Turn off the kitchen lights, please.", voice=voice, rng=rng)
        assert_speech_like(long, min_s=0.8, max_s=5.0)
        assert seconds(long) > seconds(short)



@pytest.mark.parametrize("name", ["piper", "espeak", "flite", "stub"])
def test_duration_scale_slows_the_clip_and_draws_the_same(engines: EngineSet,
                                                          name: str) -> None:
    if name == "flite" and shutil.which("flite") is None:
        pytest.skip("flite is not installed (apt-get install flite)")
    engine = StubEngine() if name == "stub" else engines.engines[name]
    voice = engine.voices()[0]
    text = "view glass"
    own = engine.synthesize(text, voice=voice, rng=np.random.default_rng(3))
    same = engine.synthesize(text, voice=voice, rng=np.random.default_rng(3),
                             duration_scale=1.0)
    assert abs(own.size - same.size) < 0.01 * own.size  # 1.0 is the engine's own pace
    rng_slow = np.random.default_rng(3)
    slow = engine.synthesize(text, voice=voice, rng=rng_slow, duration_scale=1.4)
    assert seconds(slow) > 1.15 * seconds(own)
    rng_own = np.random.default_rng(3)
    engine.synthesize(text, voice=voice, rng=rng_own)
    assert rng_slow.random() == rng_own.random()  # the same draws: seeds stay comparable

def test_piper_and_espeak_are_always_available(engines: EngineSet) -> None:
    assert {"piper", "espeak"} <= set(engines.engines)
    assert set(engines.engines) | set(engines.unavailable) == {"piper", "espeak", "flite"}


def test_prosody_is_random_per_call(engines: EngineSet) -> None:
    espeak = engines.engines["espeak"]
    rng = np.random.default_rng(2)
    lengths = {espeak.synthesize("hey computer", voice="en-us", rng=rng).size for _ in range(6)}
    assert len(lengths) >= 4
    same = [espeak.synthesize("hey computer", voice="en-us", rng=np.random.default_rng(5))
            for _ in range(2)]
    # the same seed gives the same prosody (espeak keeps a little state between calls)
    assert abs(same[0].size - same[1].size) < 0.01 * same[0].size


def test_espeak_voices() -> None:
    engine = EspeakEngine()
    voices = engine.voices()
    english = [v for v in voices if is_english(engine.language(v))]
    assert set(ENGLISH_VOICES) <= set(voices) and "en-gb" not in voices
    assert len(english) >= 8 * 50
    assert "en-us+klatt4" in voices and "en-029+f2" in voices
    others = {engine.language(v) for v in voices} - set(ENGLISH_VOICES)
    assert {"de", "fr", "es"} <= others
    german = engine.synthesize("Guten Morgen", voice="de+m3", rng=np.random.default_rng(0))
    assert_speech_like(german)
    with pytest.raises(SynthesisError):
        engine.synthesize("hello", voice="no-such-voice", rng=np.random.default_rng(0))


def test_piper_finds_dropped_voices_and_speakers(tmp_path: Path) -> None:
    joe = find_voices(None)
    assert list(joe) == ["en_US-joe-medium"]
    bundled = next(iter(joe.values()))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "my-voice.onnx").symlink_to(bundled.model_path)
    shutil.copy(bundled.config_path, tmp_path / "sub" / "my-voice.onnx.json")
    config = json.loads(bundled.config_path.read_text())
    config.update(num_speakers=3, speaker_id_map={"alice": 0, "bob": 1, "carol": 2})
    (tmp_path / "multi.onnx").write_bytes(b"")
    (tmp_path / "multi.onnx.json").write_text(json.dumps(config))
    (tmp_path / "broken.onnx").write_bytes(b"")
    (tmp_path / "broken.onnx.json").write_text("{not json")
    (tmp_path / "lonely.onnx").write_bytes(b"")  # no config: ignored
    (tmp_path / "other.onnx").write_bytes(b"")
    (tmp_path / "other.onnx.json").write_text('{"not": "piper"}')

    engine = PiperEngine(tmp_path, threads=1)
    assert sorted(engine.voices()) == sorted(["en_US-joe-medium", "my-voice", "multi:alice",
                                              "multi:bob", "multi:carol"])
    clip = engine.synthesize("hello there", voice="my-voice", rng=np.random.default_rng(0))
    assert_speech_like(clip)
    with pytest.raises(EngineUnavailableError):
        engine.synthesize("hello", voice="multi:bob", rng=np.random.default_rng(0))


def test_piper_sessions_load_once_with_configured_threads() -> None:
    engine = PiperEngine(None, threads=1)
    spec = find_voices(None)["en_US-joe-medium"]
    first = engine._load(spec)
    assert engine._load(spec) is first
    assert first.session.get_session_options().intra_op_num_threads == 1


def test_missing_flite_is_reported_with_a_reason() -> None:
    with pytest.raises(EngineUnavailableError, match="not on PATH"):
        FliteEngine("wakebuilder-no-such-flite")
    result = load_engines(None, flite_binary="wakebuilder-no-such-flite")
    assert "flite" not in result.engines
    assert "PATH" in result.unavailable["flite"]
    assert "espeak" in result.engines


def test_stub_engine_makes_distinct_chirps() -> None:
    stub = StubEngine(n_voices=2)
    rng = np.random.default_rng(0)
    a = stub.synthesize("hey jarvis", voice="stub-0", rng=rng)
    b = stub.synthesize("hey jarvis", voice="stub-1", rng=rng)
    c = stub.synthesize("hi", voice="stub-0", rng=rng)
    for clip in (a, b, c):
        assert_speech_like(clip, min_s=0.2)
    assert seconds(c) < seconds(a)
    spectrum = [np.argmax(np.abs(np.fft.rfft(x[:4000]))) for x in (a, b)]
    assert spectrum[0] != spectrum[1]


def test_trim_silence_keeps_a_margin() -> None:
    tone = np.sin(np.arange(SAMPLE_RATE // 2) / 5.0).astype(np.float32)
    padded = np.concatenate([np.zeros(SAMPLE_RATE, np.float32), tone,
                             np.zeros(SAMPLE_RATE, np.float32)])
    trimmed = trim_silence(padded)
    assert 0.5 <= seconds(trimmed) <= 0.5 + 2 * 0.07
