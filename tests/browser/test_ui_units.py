"""The UI's JavaScript modules, run in Chromium against Python's reference behaviour: wake-word
rules, 16 kHz resampling, WAV encoding, client-side clip checks and plain-word numbers."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wakebuilder.audio.checks import MAX_RECORDING_SECONDS, MAX_SPEECH_SECONDS
from wakebuilder.errors import InvalidWakeWordError
from wakebuilder.wakeword import parse_wake_word

from .conftest import Server, chromium_args

pytestmark = pytest.mark.browser

WAKE_WORDS = [
    "computer", "Hey  Computer", "ok jarvis", "o'neil", "hey-you", "x", "a b c d e",
    "hey <script>", "123", "  ", "", "héllo wörld", "привет", "こんにちは", "مرحبا",
    "hey computer please listen", "rock’n roll", "--", "a" * 40, "a" * 41, "hey_you",
    "hey!", "नमस्ते", "ok google",
]


@pytest.fixture(scope="module")
def page(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from .conftest import start_server, stop_server

    tmp = tmp_path_factory.mktemp("units")
    srv: Server = start_server(tmp / "data", tmp / "server.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium_path), headless=True,
                                        args=chromium_args(None))
            pg = browser.new_page()
            pg.goto(srv.url + "/")
            pg.wait_for_selector("body[data-ready=true]", state="attached", timeout=15_000)
            yield pg
            browser.close()
    finally:
        stop_server(srv)


def test_wake_word_rules_match_the_server(page: Any) -> None:
    results = page.evaluate("""async (words) => {
        const v = await import('/js/validate.js');
        return words.map((w) => v.validateWakeWord(w));
    }""", WAKE_WORDS)
    for word, js in zip(WAKE_WORDS, results, strict=True):
        try:
            expected = parse_wake_word(word).text
        except InvalidWakeWordError:
            expected = None
        assert js["ok"] == (expected is not None), (word, js)
        if expected is not None:
            assert js["text"] == expected, (word, js["text"], expected)
        else:
            assert js["message"], word


def test_resampler_keeps_speech_band_and_drops_aliases(page: Any) -> None:
    out = page.evaluate("""async () => {
        const a = await import('/js/audio.js');
        const tone = (f, rate, s) => Float32Array.from({length: Math.round(rate * s)},
            (_, i) => 0.5 * Math.sin(2 * Math.PI * f * i / rate));
        const rms = (x) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
        const res = {};
        for (const rate of [48000, 44100, 22050]) {
            const pass = a.resample(tone(1000, rate, 1), rate);
            const stop = a.resample(tone(9000, rate, 1), rate);
            // Streaming in odd-sized blocks gives the same samples as one call.
            const r = new a.Resampler(rate);
            const parts = [];
            const x = tone(1000, rate, 1);
            for (let i = 0; i < x.length; i += 777) parts.push(...r.push(x.subarray(i, i + 777)));
            parts.push(...r.flush());
            const diffs = parts.slice(0, pass.length).map((v, i) => Math.abs(v - pass[i]));
            res[rate] = {len: pass.length, pass: rms(pass.subarray(800, 15200)),
                         stop: rms(stop.subarray(800, 15200)), streamLen: parts.length,
                         maxDiff: Math.max(...diffs)};
        }
        return res;
    }""")
    for rate, r in out.items():
        assert abs(r["len"] - 16000) <= 1, (rate, r)
        assert abs(r["pass"] - 0.5 / np.sqrt(2)) < 0.01, (rate, r)
        assert r["stop"] < 0.01, (rate, r)
        assert r["streamLen"] == r["len"] and r["maxDiff"] < 1e-5, (rate, r)


def test_wav_encoding_and_clip_checks(page: Any) -> None:
    out = page.evaluate("""async () => {
        const a = await import('/js/audio.js');
        const x = Float32Array.from({length: 16000}, (_, i) => (i < 4000 || i > 12000)
            ? 0.001 * Math.sin(i) : 0.3 * Math.sin(2 * Math.PI * 300 * i / 16000));
        const wav = new Uint8Array(await a.encodeWav(x).arrayBuffer());
        const loud = Float32Array.from({length: 16000}, (_, i) => (i % 2 ? 1 : -1));
        return {wav: Array.from(wav), ok: a.analyzeClip(x),
                silent: a.analyzeClip(new Float32Array(16000)), clipped: a.analyzeClip(loud),
                limits: [a.MAX_CLIP_SECONDS, a.MAX_SPEECH_SECONDS],
                long: a.analyzeClip(new Float32Array(16000 * 16).fill(0.2)),
                chatty: a.analyzeClip(new Float32Array(16000 * 6).fill(0.2)),
                quietRoom: a.analyzeClip(Float32Array.from({length: 16000 * 12},
                    (_, i) => (i < 96000 || i > 112000) ? 0.001 * Math.sin(i)
                        : 0.3 * Math.sin(2 * Math.PI * 300 * i / 16000)))};
    }""")
    with wave.open(io.BytesIO(bytes(out["wav"]))) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (
            1, 2, 16000, 16000)
        pcm = np.frombuffer(w.readframes(16000), "<i2")
    assert abs(int(pcm[4000:12000].max()) - round(0.3 * 32767)) <= 2
    assert out["ok"]["problems"] == []
    assert [p["reason"] for p in out["silent"]["problems"]] == ["silent"]
    assert [p["reason"] for p in out["clipped"]["problems"]] == ["clipped"]
    assert "too_long" in [p["reason"] for p in out["long"]["problems"]]
    assert out["limits"] == [MAX_RECORDING_SECONDS, MAX_SPEECH_SECONDS]  # the server's rules
    # 15 s files are fine; speech spread over more than 5 s is not.
    assert [p["reason"] for p in out["chatty"]["problems"]] == ["speech_too_long"]
    assert "lasts 6.0 s" in out["chatty"]["problems"][0]["message"]
    assert out["quietRoom"]["problems"] == [], out["quietRoom"]  # 1 s of speech in 12 s


def test_numbers_in_plain_words(page: Any) -> None:
    out = page.evaluate("""async () => {
        const f = await import('/js/format.js');
        return [f.faInWords(0.5), f.faInWords(2), f.faInWords(0.1), f.faInWords(0.01),
                f.faInWords(0, 0.07), f.frrInWords(0.05), f.frrInWords(0.25), f.faInWords(1)];
    }""")
    assert out == ["about 1 false wake every 2 hours", "about 2 false wakes per hour",
                   "about 1 false wake every 10 hours", "about 1 false wake every 4 days",
                   "no false wakes in 4 minutes of held-out audio",
                   "misses about 5 in 100 times you say it",
                   "misses about 3 in 10 times you say it", "about 1 false wake per hour"]


HELDOUT_METRICS = {
    "heldout": {"fa_per_hour": 0.4762, "hours": 2.1, "events": 1, "in_sample": False,
                "by_kind": {"speech": {"fa_per_hour": 1.0, "hours": 1.0, "events": 1},
                            "music": {"fa_per_hour": 0.0, "hours": 0.6, "events": 0},
                            "noise": {"fa_per_hour": 0.0, "hours": 0.5, "events": 0}}},
    "calibration": {"fa_per_hour": 0.4, "hours": 2.5, "events": 1, "in_sample": True},
    "rejects": {"overall": {"frr": 0.06, "rejected": 9, "count": 150},
                "tts_heldout": {"frr": 0.0667, "rejected": 8, "count": 120},
                "user_heldout": {"frr": 0.0333, "rejected": 1, "count": 30}},
}


def test_heldout_figures_in_words_name_the_audio(page: Any) -> None:
    out = page.evaluate("""async (metrics) => {
        const f = await import('/js/format.js');
        const fig = {fa_per_hour: 0.4762, heldout_hours: 2.1, enough_heldout_audio: true};
        const short = {fa_per_hour: 0.0, heldout_hours: 0.2, enough_heldout_audio: false};
        const old = {fa_per_hour: null, heldout_hours: null, enough_heldout_audio: false};
        return [f.falseWakesInWords(fig, metrics), f.falseWakesInWords(short, metrics),
                f.falseWakesInWords(old, {}),
                f.falseWakesInWords({...fig, fa_per_hour: 0}, metrics),
                f.heldoutPositivesWords(metrics), f.heldoutAudioWords(metrics)];
    }""", HELDOUT_METRICS)
    assert out == [
        "about 1 false wake every 2 hours on 2.1 h of held-out speech, music and noise",
        "too little held-out audio to estimate false wakes",
        "not measured on held-out audio (this model was trained before the held-out split)",
        "no false wakes in 2.1 h of held-out speech, music and noise",
        "150 held-out clips: TTS voices held out of training and your untouched recording",
        "2.1 h of held-out speech, music and noise"]


def test_result_cards_show_heldout_figures(page: Any) -> None:
    out = page.evaluate("""async (metrics) => {
        const job = await import('/js/job.js');
        const read = () => ['res-fa', 'res-fa-words', 'res-frr-words', 'res-summary',
                            'res-threshold-words']
            .map((id) => document.getElementById(id).textContent);
        const fig = {fa_per_hour: 0.4762, frr: 0.06, heldout_hours: 2.1,
                     enough_heldout_audio: true, calibration_fa_per_hour: 0.4};
        job.renderMetricCards({figures: fig, metrics, threshold: 0.73, target: 0.5});
        const enough = read();
        job.renderMetricCards({figures: {...fig, heldout_hours: 0.2,
                                         enough_heldout_audio: false},
                               metrics, threshold: 0.73, target: 0.5});
        return [enough, read()];
    }""", HELDOUT_METRICS)
    enough, short = out
    assert enough[0] == "0.48"
    assert enough[1] == ("about 1 false wake every 2 hours on 2.1 h of held-out speech, "
                         "music and noise")
    assert "150 held-out clips" in enough[2] and "your untouched recording" in enough[2]
    assert "2.1 h of held-out speech, music and noise" in enough[3]
    assert "on the calibration audio" in enough[4]
    assert short[0] == "—" and short[1] == "too little held-out audio to estimate false wakes"
    assert "too little held-out audio" in short[3]
    for text in enough + short:
        assert "test audio" not in text


def test_job_view_lists_time_per_phase(page: Any) -> None:
    out = page.evaluate("""async () => {
        const job = await import('/js/job.js');
        const box = document.getElementById('job-timings-box');
        job.renderTimings({"Checking recordings": 0.42, "Training classifier": 104.6});
        const shown = [!box.hidden, [...document.querySelectorAll('#job-timings > *')]
            .map(e => e.textContent)];
        job.renderTimings({});
        return [...shown, box.hidden];
    }""")
    assert out == [True, ["Checking recordings", "0.4s", "Training classifier", "1m 45s"], True]
