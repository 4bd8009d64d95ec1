"""Learning from use, end to end: capture false wakes over the real WebSocket, label them,
improve, and measure before/after on negative audio that was NOT played during capture.

1. Train a dev-benchmark word (``dev_benchmark.train``: text + 3 clips, ``corpus/bass``
   excluded from the training negatives), or take ``--model``.
2. Split the benchmark's held-out negative audio into two halves of the same kinds, by piece
   (the dev benchmark's pieces of at most 10 min of whole files, and its embedding cache):
   ``played`` and ``unseen`` (speech: ``corpus/bass`` plus the dev-data clips of other words and
   the not-wake-word clips; music: OpenClonk's soundtrack, by track, which no model trains on).
3. Start ``wakebuilder serve`` on a scratch data directory (the trained model, and links to
   the real negative store and negative audio, read only) and stream the ``played`` half
   through ``WS /api/test/ws/{id}?capture=1`` as fast as the server accepts it (4 s of audio,
   then a ``config`` message whose ``config_ack`` comes once that audio is scored: never
   dropped, not paced in real time).
4. Label every captured detection ``false_wake`` (``POST .../captures/{id}/label``), start
   ``POST /api/models/{id}/improve`` and wait for the job.
5. Score both versions, each at its own calibrated threshold, on the ``unseen`` half (FA/h per
   kind) and on the word's held-out recordings, clean and at 10 dB SNR (FRR), with the
   benchmark's detector semantics; the ``played`` half is reported too, for reference.

    python benchmarks/improve_benchmark.py --word snowboy --data-dir data --out benchmarks/out
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import websockets
from dev_benchmark import (
    EVAL_SOURCE,
    NOISES,
    OTHER_NEGATIVES,
    WORDS,
    concat_stream,
    eval_embeddings,
    music_embeddings,
    positive_peaks,
    train,
)
from loadkit import free_port, wait_listening

from wakebuilder.audio.format import FRAME_SAMPLES, SAMPLE_RATE, to_int16
from wakebuilder.audio.io import LOCAL_LIMITS, decode_audio, iter_audio
from wakebuilder.augment.music import generate_music
from wakebuilder.corpus import apt
from wakebuilder.corpus.reserved import BENCHMARK_PACKAGES
from wakebuilder.detection.detector import frame_scores
from wakebuilder.detection.evaluate import count_events, fa_per_hour, frr, smoothed_scores
from wakebuilder.detection.model import WakeModel
from wakebuilder.modelstore.manifest import ModelManifest

REPO = Path(__file__).resolve().parents[1]
MESSAGE_S = 2.0
"""Audio per WebSocket message (the server's largest)."""
TURN_S = 4.0
"""Audio sent before waiting for the server (its queue holds 4 s)."""


def halves(n: int, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """(played, unseen) indices: ``range(n)`` shuffled and split in two."""
    order = rng.permutation(n)
    return sorted(order[:n // 2].tolist()), sorted(order[n // 2:].tolist())


def negative_audio(args: argparse.Namespace, word_folder: Path) -> dict[str, Any]:
    """The held-out negative audio as the dev benchmark cuts it (``concat_stream`` pieces of
    at most 10 min; music by track), each piece with its embeddings (the dev benchmark's
    cache), split by piece into ``played`` and ``unseen`` halves of each kind:
    ``{"played"|"unseen": {kind: [(audio, embeddings)]}}``."""
    bass = sorted((args.data_dir / "negative" / "corpus" / "bass").rglob("*.flac"))
    if not bass:
        sys.exit("corpus/bass is missing: run `wakebuilder corpus fetch` first")
    cache = args.out / "eval_cache"
    sources = [("corpus_bass", bass)] + [
        (f"dev_{folder.name}", sorted(folder.glob("*.wav")))
        for folder in [*WORDS.values(), *OTHER_NEGATIVES] if folder != word_folder]
    speech: list[tuple[np.ndarray, np.ndarray]] = []
    for name, files in sources:
        embs = eval_embeddings(name, files, cache)
        audio = concat_stream(files, np.random.default_rng(0))  # the cache's own pieces
        if len(audio) != len(embs) or any(abs(len(a) // FRAME_SAMPLES - len(e)) > 1
                                          for a, e in zip(audio, embs, strict=True)):
            sys.exit(f"{cache / name}.npz does not match the audio: delete it to rebuild")
        speech += list(zip(audio, embs, strict=True))
    music_embs = music_embeddings(args.out, cache)
    (package,) = BENCHMARK_PACKAGES
    tracks = sorted((apt.fetch_packages([package], args.out / "eval_music").root
                     / "usr/share/games/openclonk").rglob("*.ogg"))
    unbounded = LOCAL_LIMITS.with_max_seconds(None)
    music = [(np.concatenate(list(iter_audio(t, t.name, unbounded))), e)
             for t, e in zip(tracks, music_embs, strict=True)]
    rng = np.random.default_rng(args.seed)
    out: dict[str, Any] = {"played": {}, "unseen": {}}
    for kind, pieces in (("speech", speech), ("music", music)):
        played, unseen = halves(len(pieces), rng)
        out["played"][kind] = [pieces[i] for i in played]
        out["unseen"][kind] = [pieces[i] for i in unseen]
    return out


def hours(pieces: list[tuple[np.ndarray, np.ndarray]]) -> float:
    return sum(len(audio) for audio, _ in pieces) / SAMPLE_RATE / 3600


async def stream_with_capture(url: str, pieces: list[np.ndarray]) -> dict[str, int]:
    """Stream every piece (a reset between pieces) with capture on; counts of messages."""
    counts: dict[str, int] = {}
    msg_bytes = int(MESSAGE_S * SAMPLE_RATE) * 2
    turn_bytes = int(TURN_S * SAMPLE_RATE) * 2
    async with websockets.connect(f"{url}?capture=1", max_size=2**22) as ws:

        async def until(kind: str) -> None:
            while True:
                msg = json.loads(await ws.recv())
                counts[msg["type"]] = counts.get(msg["type"], 0) + 1
                if msg["type"] == "error":
                    raise RuntimeError(f"server error: {msg}")
                if msg["type"] == kind:
                    return

        await until("ready")
        for piece in pieces:
            pcm = to_int16(piece).tobytes()
            for t in range(0, len(pcm), turn_bytes):
                turn = pcm[t:t + turn_bytes]
                for i in range(0, len(turn), msg_bytes):
                    await ws.send(turn[i:i + msg_bytes])
                await ws.send('{"type": "config"}')
                await until("config_ack")
            await ws.send(to_int16(np.zeros(SAMPLE_RATE, np.float32)).tobytes())
            await ws.send('{"type": "reset"}')  # written clips first: pending ones are flushed
            await until("reset_ack")
    return counts


def scratch_data_dir(data_dir: Path, model_dir: Path) -> Path:
    """A data directory holding a copy of the model and links to the real negative store and
    negative audio (read only: the improve job writes models, jobs and captures here)."""
    root = Path(tempfile.mkdtemp(prefix="wakebuilder-improve-bench-"))
    (root / "cache").mkdir()
    os.symlink((data_dir / "cache" / "negatives").resolve(), root / "cache" / "negatives")
    os.symlink((data_dir / "negative").resolve(), root / "negative")
    if (data_dir / "voices").is_dir():
        os.symlink((data_dir / "voices").resolve(), root / "voices")
    shutil.copytree(model_dir, root / "models" / model_dir.name)
    return root


def measure(model_dir: Path, negatives: dict[str, list[tuple[np.ndarray, np.ndarray]]],
            heldout: list[Path], backgrounds: list[np.ndarray]) -> dict[str, Any]:
    """FA/h per kind (on the pieces' embeddings) and FRR clean / 10 dB of one model at its
    own threshold."""
    manifest = ModelManifest.model_validate_json(
        (model_dir / f"{model_dir.name}.json").read_text())
    model = WakeModel(model_dir / f"{model_dir.name}.onnx")
    det = manifest.detector
    row: dict[str, Any] = {"model_id": manifest.id, "threshold": manifest.threshold}
    every = []
    for kind, pieces in negatives.items():
        scored = [smoothed_scores(frame_scores(emb, model.score), det) for _, emb in pieces]
        every += scored
        row[f"fa_{kind}"] = round(fa_per_hour(scored, manifest.threshold, det), 3)
        row[f"events_{kind}"] = sum(count_events(s, manifest.threshold, det.refractory_ms)
                                    for s in scored)
    row["fa_all"] = round(fa_per_hour(every, manifest.threshold, det), 3)
    clean = positive_peaks(model, det, heldout, backgrounds=None, seed=1)
    noisy = positive_peaks(model, det, heldout, backgrounds=backgrounds, seed=2)
    row["frr_clean"] = round(frr(clean, manifest.threshold), 4)
    row["frr_noisy"] = round(frr(noisy, manifest.threshold), 4)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--word", default="snowboy", choices=sorted(WORDS))
    ap.add_argument("--data-dir", type=Path, default=REPO / "data")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    ap.add_argument("--model", type=Path, default=None,
                    help="an already trained model directory of --word (skips training)")
    ap.add_argument("--seed", type=int, default=0, help="enrolment clips and the split")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--improve", default="{}", help="improve options (JSON)")
    ap.add_argument("--train-config", default="{}",
                    help="training options when the script trains the model (JSON), e.g. "
                         "'{\"target_fa_per_hour\": 2}' for a model that false-wakes more")
    args = ap.parse_args()
    args.out, args.data_dir = args.out.resolve(), args.data_dir.resolve()
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    t0 = time.perf_counter()
    folder = WORDS[args.word]
    files = sorted(folder.glob("*.wav"))
    order = np.random.default_rng(args.seed).permutation(len(files))
    enrol, heldout = [files[i] for i in order[:3]], [files[i] for i in order[3:]]
    train_wall = None
    if args.model is None:
        model_dir, train_wall, _ = train(args.word, enrol, args.out / "improve_models",
                                         args.data_dir, args.seed,
                                         json.loads(args.train_config), args.threads)
        print(f"trained {model_dir.name} in {train_wall:.0f} s", flush=True)
    else:
        model_dir = args.model.resolve()
    negatives = negative_audio(args, folder)
    for name, kinds in negatives.items():
        print(name, {k: round(hours(v), 3) for k, v in kinds.items()}, "h", flush=True)
    rng = np.random.default_rng(123)
    backgrounds = [decode_audio(p) for p in sorted(NOISES.glob("*.wav"))]
    backgrounds += [generate_music(30 * SAMPLE_RATE, rng) for _ in range(3)]

    data = scratch_data_dir(args.data_dir, model_dir)
    port = free_port()
    # one config message per 4 s of audio is far more than a live client sends
    env = {**os.environ, "WAKEBUILDER_WS_IDLE_TIMEOUT_S": "0",
           "WAKEBUILDER_WS_CONTROL_RATE": "1000", "WAKEBUILDER_CAPTURE_MAX_CLIPS": "5000",
           "WAKEBUILDER_CAPTURE_MAX_MB": "1000"}
    log = (args.out / "improve_server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "wakebuilder.cli.main", "serve", "--port",
                             str(port), "--data-dir", str(data), "--log-level", "warning"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    result: dict[str, Any] = {"command": command, "word": args.word, "model": model_dir.name,
                              "eval_source": EVAL_SOURCE, "train_seconds": train_wall}
    try:
        wait_listening(port, proc)
        base = f"http://127.0.0.1:{port}"
        played = [audio for kind in negatives["played"].values() for audio, _ in kind]
        t1 = time.perf_counter()
        counts = asyncio.run(stream_with_capture(
            f"ws://127.0.0.1:{port}/api/test/ws/{model_dir.name}", played))
        result["capture_seconds"] = round(time.perf_counter() - t1, 1)
        result["messages"] = counts
        with httpx.Client(base_url=base, timeout=120) as http:
            caps = http.get(f"/api/models/{model_dir.name}/captures").json()["captures"]
            detections = [c for c in caps if c["kind"] == "detection"]
            result["captured"] = {k: sum(c["kind"] == k for c in caps)
                                  for k in ("detection", "near_miss")}
            for c in detections:
                http.post(f"/api/models/{model_dir.name}/captures/{c['id']}/label",
                          json={"label": "false_wake"}).raise_for_status()
            if not detections:
                sys.exit("no false wake was captured on the played half: nothing to improve")
            t2 = time.perf_counter()
            job = http.post(f"/api/models/{model_dir.name}/improve",
                            json=json.loads(args.improve))
            job.raise_for_status()
            job_id = job.json()["job_id"]
            while True:
                status = http.get(f"/api/train/status/{job_id}").json()
                if status["status"] in ("completed", "failed", "cancelled"):
                    break
                time.sleep(2.0)
            result["improve_seconds"] = round(time.perf_counter() - t2, 1)
            result["improve_status"] = status["status"]
            if status["status"] != "completed":
                result["improve_error"] = status.get("error")
                print(json.dumps(result, indent=2))
                sys.exit(f"improve job {status['status']}: {status.get('error')}")
            new_dir = data / "models" / status["model_id"]
            stats = http.get(f"/api/models/{status['model_id']}").json()["data_stats"]
            result["improvement"] = stats["improvement"]
            result["improve_phase_seconds"] = stats.get("phase_seconds")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    for name in ("unseen", "played"):
        result[f"before_{name}"] = measure(model_dir, negatives[name], heldout, backgrounds)
        result[f"after_{name}"] = measure(new_dir, negatives[name], heldout, backgrounds)
    result["hours"] = {n: {k: round(hours(v), 3) for k, v in kinds.items()}
                       for n, kinds in negatives.items()}
    result["total_seconds"] = round(time.perf_counter() - t0, 1)
    (args.out / f"improve_benchmark_{args.word}.json").write_text(json.dumps(result, indent=2))
    b, a = result["before_unseen"], result["after_unseen"]
    print(json.dumps(result, indent=2))
    print(f"\ncommand: {command}")
    print("| version | threshold | unseen FA/h speech / music / all | played FA/h all | "
          "FRR clean / 10 dB |")
    print("|---|---|---|---|---|")
    for label, u, p in (("before", b, result["before_played"]),
                        ("after", a, result["after_played"])):
        print(f"| {label} ({u['model_id']}) | {u['threshold']:.4f} | {u['fa_speech']} / "
              f"{u['fa_music']} / {u['fa_all']} | {p['fa_all']} | "
              f"{100 * u['frr_clean']:.1f} / {100 * u['frr_noisy']:.1f} % |")
    shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
