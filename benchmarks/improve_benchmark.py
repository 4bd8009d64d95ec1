"""Learning from use, end to end: capture false wakes over the real WebSocket, label them,
improve, and measure before/after on negative audio that was NOT played during capture.

1. Train a dev-benchmark word (``dev_benchmark.train``: text + 3 clips, ``corpus/bass``
   excluded from the training negatives), or take ``--model``.
2. Split the benchmark's held-out negative audio (its pieces and embedding cache) into two
   halves of the same kinds, by units of about 30 s (whole files of speech, stretches of a
   music track; ``--split-seed``): ``played`` and ``unseen`` (speech: ``corpus/bass`` plus the
   dev-data clips of other words and the not-wake-word clips; music: OpenClonk's soundtrack,
   which no model trains on).
3. Fold 1: start ``wakebuilder serve`` on a scratch data directory (a copy of the model, and
   links to the real negative store and negative audio, read only) and stream half A through
   ``WS /api/test/ws/{id}?capture=1`` as fast as the server accepts it (4 s of audio, then a
   ``config`` message whose ``config_ack`` comes once that audio is scored: never dropped,
   not paced in real time).
4. Label every captured detection ``false_wake`` (``POST .../captures/{id}/label``), start
   ``POST /api/models/{id}/improve`` and wait for the job.
5. Score both versions, each at its own calibrated threshold, on half B, which was not played
   (false accepts and FA/h per kind), and on the word's held-out recordings, clean and at
   10 dB SNR (FRR), with the benchmark's detector semantics; the played half is reported too.
6. Fold 2 (``--folds 2``, the default): the same from a fresh copy of the original model with
   the halves swapped, so that every false accept of the original model is unseen in one fold.

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
from dataclasses import dataclass
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
    concat_pieces,
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
UNIT_S = 30.0
"""The split's unit: whole files (speech) or a stretch of a track (music) of about 30 s."""
CONTEXT_FRAMES = 8
"""Embeddings dropped at the start of a measured unit: their mel context (0.76 s) reaches
into the audio before the unit, which may belong to the other half."""


def halves(n: int, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """(played, unseen) indices: ``range(n)`` shuffled and split in two."""
    order = rng.permutation(n)
    return sorted(order[:n // 2].tolist()), sorted(order[n // 2:].tolist())


def units(audio: np.ndarray, emb: np.ndarray,
          starts: list[int]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cut one piece and its embeddings into units of about ``UNIT_S`` at the given sample
    offsets (file starts), each ``(audio, embeddings)`` on the same 80 ms frame grid."""
    unit = int(UNIT_S * SAMPLE_RATE)
    cuts, last = [0], 0
    for s in starts:
        if s - last >= unit:
            cuts.append(s // FRAME_SAMPLES)
            last = s
    cuts.append(len(emb))
    return [(audio[a * FRAME_SAMPLES:b * FRAME_SAMPLES], emb[a:b])
            for a, b in zip(cuts, cuts[1:], strict=False) if b - a > 2 * CONTEXT_FRAMES]


def negative_audio(args: argparse.Namespace, word_folder: Path) -> dict[str, Any]:
    """The held-out negative audio of the dev benchmark (its pieces and embedding cache), cut
    into units of about 30 s (whole files of speech; stretches of a music track) and split by
    unit into two halves of each kind, so that the kinds of speech and music that fool a model
    are in both: ``[{kind: [(audio, emb)]}, {kind: [(audio, emb)]}]``."""
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
        pieces = concat_pieces(files, np.random.default_rng(0))  # the cache's own pieces
        if len(pieces) != len(embs) or any(abs(len(a) // FRAME_SAMPLES - len(e)) > 1
                                           for (a, _), e in zip(pieces, embs, strict=True)):
            sys.exit(f"{cache / name}.npz does not match the audio: delete it to rebuild")
        for (audio, starts), emb in zip(pieces, embs, strict=True):
            speech += units(audio, emb, starts)
    music_embs = music_embeddings(args.out, cache)
    (package,) = BENCHMARK_PACKAGES
    tracks = sorted((apt.fetch_packages([package], args.out / "eval_music").root
                     / "usr/share/games/openclonk").rglob("*.ogg"))
    unbounded = LOCAL_LIMITS.with_max_seconds(None)
    music: list[tuple[np.ndarray, np.ndarray]] = []
    for track, emb in zip(tracks, music_embs, strict=True):
        audio = np.concatenate(list(iter_audio(track, track.name, unbounded)))
        music += units(audio, emb, list(range(0, len(audio), int(UNIT_S * SAMPLE_RATE))))
    rng = np.random.default_rng(args.split_seed)
    out: list[dict[str, list[tuple[np.ndarray, np.ndarray]]]] = [{}, {}]
    for kind, pieces in (("speech", speech), ("music", music)):
        for half, index in zip(out, halves(len(pieces), rng), strict=True):
            half[kind] = [pieces[i] for i in index]
    return out


def hours(pieces: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Hours of audio in the pieces (80 ms per embedding), as printed per half; the FA/h
    figures divide by listening hours instead (``fa_per_hour`` -> ``hours_of``: past each
    stream's warm-up)."""
    return sum(len(emb) for _, emb in pieces) * FRAME_SAMPLES / SAMPLE_RATE / 3600


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


@dataclass(frozen=True)
class Scored:
    """One model and its score peaks on the word's held-out clips (clean and at 10 dB SNR):
    computed once per model, measured at any threshold."""

    manifest: ModelManifest
    model: WakeModel
    clean: list[float]
    noisy: list[float]


def load_scored(model_dir: Path, heldout: list[Path], backgrounds: list[np.ndarray]) -> Scored:
    """The model in ``model_dir`` with its held-out peaks."""
    manifest = ModelManifest.model_validate_json(
        (model_dir / f"{model_dir.name}.json").read_text())
    model = WakeModel(model_dir / f"{model_dir.name}.onnx")
    det = manifest.detector
    return Scored(manifest, model,
                  positive_peaks(model, det, heldout, backgrounds=None, seed=1),
                  positive_peaks(model, det, heldout, backgrounds=backgrounds, seed=2))


def measure(scored: Scored, negatives: dict[str, list[tuple[np.ndarray, np.ndarray]]],
            threshold: float | None = None) -> dict[str, Any]:
    """FA/h per kind (on the units' embeddings) and FRR clean / 10 dB of one model at its
    own threshold (or at ``threshold``)."""
    manifest, det = scored.manifest, scored.manifest.detector
    threshold = manifest.threshold if threshold is None else threshold
    row: dict[str, Any] = {"model_id": manifest.id, "threshold": threshold}
    every = []
    for kind, pieces in negatives.items():
        streams = [smoothed_scores(frame_scores(emb[CONTEXT_FRAMES:], scored.model.score), det)
                   for _, emb in pieces]
        every += streams
        row[f"fa_{kind}"] = round(fa_per_hour(streams, threshold, det), 3)
        row[f"events_{kind}"] = sum(count_events(x, threshold, det.refractory_ms)
                                    for x in streams)
    row["fa_all"] = round(fa_per_hour(every, threshold, det), 3)
    row["frr_clean"] = round(frr(scored.clean, threshold), 4)
    row["frr_noisy"] = round(frr(scored.noisy, threshold), 4)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--word", default="snowboy", choices=sorted(WORDS))
    ap.add_argument("--data-dir", type=Path, default=REPO / "data")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    ap.add_argument("--model", type=Path, default=None,
                    help="an already trained model directory of --word (skips training)")
    ap.add_argument("--seed", type=int, default=0, help="enrolment clips and training")
    ap.add_argument("--split-seed", type=int, default=0, help="the split into halves A and B")
    ap.add_argument("--folds", type=int, default=2, choices=(1, 2),
                    help="1: play A, measure on B; 2: also play B (fresh copy of the original "
                         "model), measure on A, so every false accept is unseen once")
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
    halves_ab = negative_audio(args, folder)
    for name, kinds in zip("AB", halves_ab, strict=True):
        print(f"half {name}", {k: round(hours(v), 3) for k, v in kinds.items()}, "h", flush=True)
    rng = np.random.default_rng(123)
    backgrounds = [decode_audio(p) for p in sorted(NOISES.glob("*.wav"))]
    backgrounds += [generate_music(30 * SAMPLE_RATE, rng) for _ in range(3)]
    result: dict[str, Any] = {"command": command, "word": args.word, "model": model_dir.name,
                              "eval_source": EVAL_SOURCE, "train_seconds": train_wall,
                              "hours": [{k: round(hours(v), 3) for k, v in h.items()}
                                        for h in halves_ab], "folds": []}
    original = load_scored(model_dir, heldout, backgrounds)
    for fold in range(args.folds):
        played, unseen = halves_ab[fold], halves_ab[1 - fold]
        row = capture_and_improve(args, model_dir, played, fold)
        if row.get("new_dir") is not None:
            new_dir = Path(row.pop("new_dir"))
            improved = load_scored(new_dir, heldout, backgrounds)
            for name, negatives in (("unseen", unseen), ("played", played)):
                row[f"before_{name}"] = measure(original, negatives)
                row[f"after_{name}"] = measure(improved, negatives)
            # the control: how much of the change the new threshold alone would make
            row["before_at_new_threshold_unseen"] = measure(
                original, unseen, row["after_unseen"]["threshold"])
            for src in (new_dir, new_dir.parents[1] / "captures"):
                kept = args.out / f"fold{fold}" / src.name  # for a look afterwards
                shutil.rmtree(kept, ignore_errors=True)
                shutil.copytree(src, kept)
            shutil.rmtree(new_dir.parents[1], ignore_errors=True)
        result["folds"].append(row)
        print(json.dumps(row, indent=2), flush=True)
    result["total_seconds"] = round(time.perf_counter() - t0, 1)
    (args.out / f"improve_benchmark_{args.word}.json").write_text(json.dumps(result, indent=2))
    print(f"\ncommand: {command}")
    print("| fold: played -> unseen | version | threshold | unseen false accepts speech / music "
          "(FA/h all) | played false accepts | FRR clean / 10 dB |")
    print("|---|---|---|---|---|---|")
    totals = {"before": 0, "after": 0, "before_at_new_threshold": 0}
    for fold, row in enumerate(result["folds"]):
        if "before_unseen" not in row:
            print(f"| {'AB'[fold]} -> {'BA'[fold]} | {row.get('skipped')} | | | | |")
            continue
        for label in ("before", "after", "before_at_new_threshold"):
            u, p = row[f"{label}_unseen"], row.get(f"{label}_played")
            totals[label] += u["events_speech"] + u["events_music"]
            played = p["events_speech"] + p["events_music"] if p else ""
            print(f"| {'AB'[fold]} -> {'BA'[fold]} | {label.replace('_', ' ')} "
                  f"({u['model_id']}) | {u['threshold']:.4f} | {u['events_speech']} / "
                  f"{u['events_music']} ({u['fa_all']}) | {played} | "
                  f"{100 * u['frr_clean']:.1f} / {100 * u['frr_noisy']:.1f} % |")
    print(f"\nunseen false accepts over the folds: {totals['before']} before, "
          f"{totals['after']} after ({totals['before_at_new_threshold']} for the original "
          "model at the new thresholds)")


def capture_and_improve(args: argparse.Namespace, model_dir: Path,
                        played: dict[str, list[tuple[np.ndarray, np.ndarray]]],
                        fold: int) -> dict[str, Any]:
    """One fold: a scratch server with the original model, the ``played`` half streamed with
    capture on, every captured detection labelled a false wake, the improve job run; the
    row has ``new_dir`` (the improved model) or ``skipped`` (nothing was captured)."""
    data = scratch_data_dir(args.data_dir, model_dir)
    port = free_port()
    # one config message per 4 s of audio is far more than a live client sends
    env = {**os.environ, "WAKEBUILDER_WS_IDLE_TIMEOUT_S": "0",
           "WAKEBUILDER_WS_CONTROL_RATE": "1000", "WAKEBUILDER_CAPTURE_MAX_CLIPS": "5000",
           "WAKEBUILDER_CAPTURE_MAX_MB": "1000"}
    log = (args.out / f"improve_server_{fold}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "wakebuilder.cli.main", "serve", "--port",
                             str(port), "--data-dir", str(data), "--log-level", "warning"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    row: dict[str, Any] = {"fold": fold}
    try:
        wait_listening(port, proc)
        audio = [a for kind in played.values() for a, _ in kind]
        t1 = time.perf_counter()
        row["messages"] = asyncio.run(stream_with_capture(
            f"ws://127.0.0.1:{port}/api/test/ws/{model_dir.name}", audio))
        row["capture_seconds"] = round(time.perf_counter() - t1, 1)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            caps = http.get(f"/api/models/{model_dir.name}/captures").json()["captures"]
            detections = [c for c in caps if c["kind"] == "detection"]
            row["captured"] = {k: sum(c["kind"] == k for c in caps)
                               for k in ("detection", "near_miss")}
            for c in detections:
                http.post(f"/api/models/{model_dir.name}/captures/{c['id']}/label",
                          json={"label": "false_wake"}).raise_for_status()
            if not detections:
                row["skipped"] = "no false wake captured on the played half"
                shutil.rmtree(data, ignore_errors=True)
                return row
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
            row["improve_seconds"] = round(time.perf_counter() - t2, 1)
            row["improve_status"] = status["status"]
            if status["status"] != "completed":
                sys.exit(f"improve job {status['status']}: {status.get('error')}")
            stats = http.get(f"/api/models/{status['model_id']}").json()["data_stats"]
            row["improvement"] = stats["improvement"]
            row["improve_phase_seconds"] = stats["improve"].get("phase_seconds")
            row["new_dir"] = str(data / "models" / status["model_id"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return row


if __name__ == "__main__":
    main()
