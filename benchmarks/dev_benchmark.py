"""Development benchmark: train from text + 3 clips, measure FRR at fixed FA/h on real speech.

For each word, 3 enrolment clips are drawn with a fixed seed from ``shared/dev-data``; every
other clip of that word is a held-out positive. False accepts are counted on continuous
negative audio never used in training, by kind:

- speech: the ``corpus/bass`` real-speech source plus the dev-data clips of the other words
  and the not-wake-word clips, concatenated into long streams. ``corpus/bass`` is a held-out
  source of the product's negative store (never used for training, mining or the
  threshold); the benchmark takes half of its files (``corpus/bass#1/2``, by a stable hash)
  out of the model's store altogether with ``exclude_negative_sources`` and leaves the other
  half in the model's held-out split, so a model measures itself on English speech as in
  the product (``--bass-in-heldout none``: all of it out, as runs 1-11 did);
- music: OpenClonk's soundtrack (Debian ``openclonk-data``, 26 min of real recorded music),
  which ``wakebuilder corpus fetch`` refuses (``corpus/reserved.py``), so no model trains on
  it; this script fetches it into its own ``--out`` folder.

Two conditions for positives: as recorded, and mixed with real noise or generated music at
10 dB SNR. Each model's own figures (``heldout_fa_per_hour`` on its negative store's held-out
split, and the calibration figure) are printed next to the FA/h measured here at the model's
own threshold: on all the evaluation audio (``self_fa_per_hour``, what a user gets), and on
the part the model never had in any split (``unseen_fa_per_hour``: without the half of
``corpus/bass`` in its held-out split), which is what the agreement column compares.
``--train-seeds 0 1 2`` trains each word with several seeds; a last table pools each word's
seeds (own held-out events over own listening hours, unseen events over unseen hours) and
compares those, on three times the hours of one seed (``per_word`` in the JSON).

Training runs through the ``wakebuilder train`` CLI in a subprocess (wall time and peak RSS
measured); scoring uses the exported ONNX head and the same detector semantics as live use.

    python benchmarks/dev_benchmark.py --data-dir data --out benchmarks/out --train-seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from wakebuilder.audio.format import SAMPLE_RATE
from wakebuilder.audio.io import LOCAL_LIMITS, decode_audio, iter_audio
from wakebuilder.augment.level import active_mask, power
from wakebuilder.augment.music import generate_music
from wakebuilder.corpus import apt
from wakebuilder.corpus.reserved import BENCHMARK_PACKAGES
from wakebuilder.detection.config import DetectorConfig
from wakebuilder.detection.detector import frame_scores
from wakebuilder.detection.evaluate import (
    choose_threshold,
    count_events,
    fa_per_hour,
    frr,
    hours_of,
    smoothed_scores,
)
from wakebuilder.detection.model import WakeModel
from wakebuilder.features.frontend import get_frontend
from wakebuilder.modelstore.manifest import ModelManifest
from wakebuilder.negstore.kinds import file_part

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "dev-data"
WORDS = {"snowboy": DEV / "picovoice" / "snowboy", "view glass": DEV / "picovoice" / "view_glass",
         "athena": DEV / "precise" / "athena", "amelia": DEV / "precise" / "amelia",
         "computer": DEV / "precise" / "computer"}
OTHER_NEGATIVES = [DEV / "precise" / "not-wake-words" / "en"]
NOISES = DEV / "precise" / "noises"
EVAL_SOURCE = "corpus/bass"
MUSIC_SOURCE = "music/openclonk"
MODEL_EXCLUDES = {"half": f"{EVAL_SOURCE}#1/2", "none": EVAL_SOURCE}
"""``--bass-in-heldout``: what of ``corpus/bass`` the model's store excludes (``half``: part 1
of 2 by file, part 0 stays in the model's held-out split; ``none``: all of it)."""
TARGETS = (0.1, 0.5, 1.0)
SEGMENT_S = 600.0


def concat_pieces(files: list[Path],
                  rng: np.random.Generator) -> list[tuple[np.ndarray, list[int]]]:
    """Files back to back with 0.2-0.8 s pauses over a faint noise floor, in <= 10 min pieces;
    each piece with the sample offsets where its files start."""
    pieces, cur, starts, n = [], [], [], 0
    for f in files:
        x = decode_audio(f)
        gap = rng.normal(0, 3e-4, int(rng.uniform(0.2, 0.8) * SAMPLE_RATE)).astype(np.float32)
        starts.append(n)
        cur += [x, gap]
        n += len(x) + len(gap)
        if n > SEGMENT_S * SAMPLE_RATE:
            pieces.append((np.concatenate(cur), starts))
            cur, starts, n = [], [], 0
    if cur:
        pieces.append((np.concatenate(cur), starts))
    return pieces


def concat_stream(files: list[Path], rng: np.random.Generator) -> list[np.ndarray]:
    """Files back to back with 0.2-0.8 s pauses over a faint noise floor, in <= 10 min pieces."""
    return [audio for audio, _ in concat_pieces(files, rng)]


def eval_embeddings(name: str, files: list[Path], cache: Path) -> list[np.ndarray]:
    """Embedding streams of held-out negative audio (cached as .npy)."""
    path = cache / f"{name.replace('/', '_')}.npz"
    if path.exists():
        data = np.load(path)
        return [data[k] for k in sorted(data.files, key=int)]
    fe = get_frontend(2)
    streams = [fe.embed_stream(p) for p in concat_stream(files, np.random.default_rng(0))]
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{str(i): s for i, s in enumerate(streams)})
    return streams


def music_embeddings(out: Path, cache: Path) -> list[np.ndarray]:
    """Embedding streams of the benchmark's own held-out music (fetched once into ``out``)."""
    path = cache / "music_openclonk.npz"
    if path.exists():
        data = np.load(path)
        return [data[k] for k in sorted(data.files, key=int)]
    (package,) = BENCHMARK_PACKAGES
    tree = apt.fetch_packages([package], out / "eval_music")
    tracks = sorted((tree.root / "usr/share/games/openclonk").rglob("*.ogg"))
    if not tracks:
        sys.exit(f"{package} holds no music under usr/share/games/openclonk")
    fe = get_frontend(2)
    unbounded = LOCAL_LIMITS.with_max_seconds(None)
    streams = [fe.embed_stream(np.concatenate(list(iter_audio(t, t.name, unbounded))))
               for t in tracks]
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{str(i): s for i, s in enumerate(streams)})
    return streams


def eval_negatives(data_dir: Path, out: Path) -> dict[str, list[np.ndarray]]:
    """The benchmark's negative embedding streams by source: all of ``corpus/bass``, the
    dev-data folders (each word's folder is a negative for the other words) and the held-out
    music (under ``music/openclonk``), cached in ``out/eval_cache``."""
    bass = sorted((data_dir / "negative" / "corpus" / "bass").rglob("*.flac"))
    if not bass:
        sys.exit("corpus/bass is missing: run `wakebuilder corpus fetch` first")
    cache = out / "eval_cache"
    streams = {EVAL_SOURCE: eval_embeddings("corpus_bass", bass, cache)}
    for folder in [*WORDS.values(), *OTHER_NEGATIVES]:
        streams[folder.name] = eval_embeddings(f"dev_{folder.name}",
                                               sorted(folder.glob("*.wav")), cache)
    streams[MUSIC_SOURCE] = music_embeddings(out, cache)
    return streams


def noise_backgrounds() -> list[np.ndarray]:
    """The 10 dB condition's backgrounds: the real noise recordings and three generated
    music pieces (seed 123)."""
    rng = np.random.default_rng(123)
    backgrounds = [decode_audio(p) for p in sorted(NOISES.glob("*.wav"))]
    return backgrounds + [generate_music(30 * SAMPLE_RATE, rng) for _ in range(3)]


def enrolment_split(word: str, seed: int, enrol: int) -> tuple[list[Path], list[Path]]:
    """(enrolment clips, held-out clips) of a word, drawn with ``seed``."""
    files = sorted(WORDS[word].glob("*.wav"))
    order = np.random.default_rng(seed).permutation(len(files))
    return [files[i] for i in order[:enrol]], [files[i] for i in order[enrol:]]


def own_figures(manifest: ModelManifest) -> dict[str, object]:
    """What the model reports about itself (held-out and in-sample calibration FA/h)."""
    m = manifest.metrics
    heldout = getattr(m, "heldout", None)
    calibration = getattr(m, "calibration", None)
    return {
        "own_heldout_fa_per_hour": getattr(heldout, "fa_per_hour", None),
        "own_heldout_hours": getattr(heldout, "hours", None),
        "own_heldout_events": getattr(heldout, "events", None),
        "own_heldout_by_kind": {k: v.fa_per_hour for k, v in
                                (getattr(heldout, "by_kind", None) or {}).items()},
        "own_calibration_fa_per_hour": getattr(calibration, "fa_per_hour", None),
        "own_calibration_hours": getattr(calibration, "hours", None),
    }


def agreement(own: object, measured: float) -> str:
    """'ok' when the model's own held-out FA/h is within 2x (or 0.5 FA/h) of the measured."""
    if not isinstance(own, int | float):
        return "n/a"
    if abs(own - measured) <= 0.5 or (own > 0 and measured > 0
                                      and max(own, measured) / min(own, measured) <= 2):
        return "ok"
    return "off"


def word_agreement(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per word, the seeds pooled: the model's own held-out events over its listening hours,
    against the unseen events over the unseen hours (each seed's model at its own threshold).
    Pooling three seeds triples the hours each side is counted on, where one seed's 0-2
    events decide the per-seed comparison."""
    out = []
    for word in dict.fromkeys(str(r["word"]) for r in rows):
        mine = [r for r in rows if r["word"] == word]
        own_h = sum(float(r["own_heldout_hours"] or 0) for r in mine)
        own_e = sum(int(r["own_heldout_events"] or 0) for r in mine)
        un_h = sum(float(r["unseen_hours"]) for r in mine)
        un_e = sum(int(r["unseen_fa_events"]) for r in mine)
        own = round(own_e / own_h, 3) if own_h else None
        unseen = round(un_e / un_h, 3) if un_h else 0.0
        out.append({"word": word, "seeds": [r["train_seed"] for r in mine],
                    "own_heldout_events": own_e, "own_heldout_hours": round(own_h, 2),
                    "own_heldout_fa_per_hour": own, "unseen_fa_events": un_e,
                    "unseen_hours": round(un_h, 2), "unseen_fa_per_hour": unseen,
                    "agree": agreement(own, unseen)})
    return out


def stream_scores(model: WakeModel, emb: np.ndarray) -> np.ndarray:
    return frame_scores(emb, model.score)


def mix_at_snr(clip: np.ndarray, background: np.ndarray, snr_db: float) -> np.ndarray:
    fg = power(clip, active_mask(clip))
    bg = power(background) or 1e-12
    return background * np.float32(np.sqrt(fg / 10 ** (snr_db / 10) / bg))


def positive_stream_scores(model: WakeModel, files: list[Path], *,
                           backgrounds: list[np.ndarray] | None, seed: int) -> list[np.ndarray]:
    """Raw frame scores of each clip played in a 1.5 s lead + clip + 1.0 s tail stream."""
    rng = np.random.default_rng(seed)
    fe = get_frontend(2)
    out = []
    for i, f in enumerate(files):
        clip = decode_audio(f)
        lead, tail = int(1.5 * SAMPLE_RATE), SAMPLE_RATE
        n = lead + len(clip) + tail
        stream = rng.normal(0, 3e-4, n).astype(np.float32)
        stream[lead:lead + len(clip)] += clip
        if backgrounds:
            bg = backgrounds[i % len(backgrounds)]
            start = int(rng.integers(0, max(1, len(bg) - n)))
            piece = np.resize(bg[start:start + n], n)
            stream = stream + mix_at_snr(clip, piece, 10.0)
            peak = float(np.max(np.abs(stream)))
            if peak > 0.99:
                stream *= np.float32(0.99 / peak)
        out.append(stream_scores(model, fe.embed_stream(stream)))
    return out


def positive_peaks(model: WakeModel, det: DetectorConfig, files: list[Path], *,
                   backgrounds: list[np.ndarray] | None, seed: int) -> np.ndarray:
    """Peak smoothed score of each clip played in a 1.5 s lead + clip + 1.0 s tail stream."""
    streams = positive_stream_scores(model, files, backgrounds=backgrounds, seed=seed)
    return np.asarray([float(np.max(smoothed_scores(s, det))) for s in streams])


def train(word: str, clips: list[Path], out: Path, data_dir: Path, seed: int,
          extra: dict[str, object], threads: int = 2,
          exclude: str = MODEL_EXCLUDES["half"]) -> tuple[Path, float, float]:
    """Train through the CLI; returns (model dir, wall seconds, peak RSS MiB of the child)."""
    cfg = {"exclude_negative_sources": [exclude], **extra}
    cmd = [sys.executable, "-m", "wakebuilder.cli.main", "train", "--wake-word", word,
           "--out", str(out), "--data-dir", str(data_dir), "--seed", str(seed), "--json",
           "--threads", str(threads),
           "--config", json.dumps(cfg)]
    for c in clips:
        cmd += ["--recording", str(c)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"training {word!r} failed:\n{proc.stderr[-3000:]}")
    manifest = json.loads(proc.stdout)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return out / manifest["id"], wall, rss


def evaluate_word(word: str, folder: Path, enrol: list[Path], heldout: list[Path],
                  train_seed: int, args: argparse.Namespace, extra: dict[str, object],
                  neg_streams: dict[str, list[np.ndarray]], backgrounds: list[np.ndarray],
                  unseen_bass: list[np.ndarray] | None = None) -> dict[str, object]:
    """Train one word with one seed and measure it on the benchmark's held-out audio.

    ``neg_streams``: :func:`eval_negatives`; ``unseen_bass``: the streams of the
    ``corpus/bass`` files the model's store excluded (None: it excluded all of them)."""
    model_dir, wall, rss = train(word, enrol, args.out / "models", args.data_dir,
                                 train_seed, extra, args.threads,
                                 MODEL_EXCLUDES[args.bass_in_heldout])
    manifest = ModelManifest.model_validate_json(
        (model_dir / f"{model_dir.name}.json").read_text())
    model = WakeModel(model_dir / f"{model_dir.name}.onnx")
    det = manifest.detector
    scored = {name: [smoothed_scores(stream_scores(model, e), det) for e in streams]
              for name, streams in neg_streams.items()
              if name != folder.name}  # each stream scored once, by source
    by_kind = {"speech": [s for name, ss in scored.items() if name != MUSIC_SOURCE
                          for s in ss],
               "music": scored[MUSIC_SOURCE]}
    negs = [s for streams in by_kind.values() for s in streams]
    hours = hours_of(negs)
    clean = positive_peaks(model, det, heldout, backgrounds=None, seed=1)
    noisy = positive_peaks(model, det, heldout, backgrounds=backgrounds, seed=2)
    self_fa = round(fa_per_hour(negs, manifest.threshold, det), 3)
    if unseen_bass is None:
        unseen = negs
    else:  # the audio the model never had in any split
        unseen = [*(smoothed_scores(stream_scores(model, e), det) for e in unseen_bass),
                  *(s for name, ss in scored.items() if name != EVAL_SOURCE for s in ss)]
    unseen_fa = round(fa_per_hour(unseen, manifest.threshold, det), 3)
    row: dict[str, object] = {
        "word": word, "train_seed": train_seed, "enrolment": [p.name for p in enrol],
        "heldout": len(heldout), "eval_hours": round(hours, 3),
        "eval_hours_by_kind": {k: round(hours_of(v), 3)
                               for k, v in by_kind.items()},
        "train_wall_s": round(wall, 1), "train_peak_rss_mib": round(rss),
        "model_id": manifest.id, "self_threshold": manifest.threshold,
        "self_fa_per_hour": self_fa,
        "self_fa_per_hour_by_kind": {k: round(fa_per_hour(v, manifest.threshold, det), 3)
                                     for k, v in by_kind.items()},
        "self_fa_events_by_source": {
            name: sum(count_events(x, manifest.threshold, det.refractory_ms) for x in ss)
            for name, ss in scored.items()},
        "self_frr_clean": round(frr(clean, manifest.threshold), 4),
        "self_frr_noisy": round(frr(noisy, manifest.threshold), 4),
        "target_fa_per_hour": manifest.target_fa_per_hour,
        "model_excludes": MODEL_EXCLUDES[args.bass_in_heldout],
        "unseen_fa_per_hour": unseen_fa,
        "unseen_hours": round(hours_of(unseen), 3),
        "unseen_fa_events": sum(count_events(x, manifest.threshold, det.refractory_ms)
                                for x in unseen),
        **own_figures(manifest),
    }
    row["own_vs_measured"] = agreement(row["own_heldout_fa_per_hour"], unseen_fa)
    for target in TARGETS:
        t = choose_threshold(negs, target, det)
        row[f"frr_clean@{target}"] = round(frr(clean, t), 4)
        row[f"frr_noisy@{target}"] = round(frr(noisy, t), 4)
        row[f"fa@{target}"] = round(fa_per_hour(negs, t, det), 3)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--words", nargs="+", default=["snowboy", "view glass", "athena"])
    ap.add_argument("--data-dir", type=Path, default=REPO / "data")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    ap.add_argument("--seed", type=int, default=0, help="picks the enrolment clips")
    ap.add_argument("--train-seed", type=int, default=None,
                    help="training seed (default: --seed)")
    ap.add_argument("--train-seeds", type=int, nargs="+", default=None,
                    help="several training seeds (overrides --train-seed)")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads of the training job")
    ap.add_argument("--enrol", type=int, default=3)
    ap.add_argument("--config", default="{}", help="extra training options (JSON)")
    ap.add_argument("--bass-in-heldout", choices=sorted(MODEL_EXCLUDES), default="half",
                    help="half: half of corpus/bass's files stay in the model's held-out split "
                         "(the agreement is measured on the other half and the rest); none: "
                         "the model's store excludes all of corpus/bass (runs 1-11)")
    args = ap.parse_args()
    extra = json.loads(args.config)
    command = "python " + " ".join(shlex.quote(a) for a in sys.argv)

    neg_streams = eval_negatives(args.data_dir, args.out)
    negative_dir = args.data_dir / "negative"
    unseen_bass = None if args.bass_in_heldout == "none" else eval_embeddings(
        "corpus_bass_part1of2",
        [f for f in sorted((negative_dir / "corpus" / "bass").rglob("*.flac"))
         if file_part(EVAL_SOURCE, f.relative_to(negative_dir).as_posix(), 2) == 1],
        args.out / "eval_cache")
    backgrounds = noise_backgrounds()

    seeds = args.train_seeds or [args.seed if args.train_seed is None else args.train_seed]
    results = []
    for word in args.words:
        enrol, heldout = enrolment_split(word, args.seed, args.enrol)
        for train_seed in seeds:
            row = evaluate_word(word, WORDS[word], enrol, heldout, train_seed, args, extra,
                                neg_streams, backgrounds, unseen_bass)
            results.append(row)
            print(json.dumps(row), flush=True)

    pooled = word_agreement(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dev_benchmark.json").write_text(json.dumps(
        {"command": command, "results": results, "per_word": pooled}, indent=2))
    print(f"\ncommand: {command}")
    head = ("| word | seed | FRR clean @0.1/0.5/1 FA/h | FRR 10 dB @0.1/0.5/1 | self thr | "
            "self FA/h speech/music/all (target) | unseen FA/h (h) | own held-out FA/h (h) | "
            "own calib. FA/h | "
            "self FRR clean/noisy | train s | RSS MiB |")
    print(head)
    print("|" + "---|" * 12)
    for r in results:
        c = "/".join(f"{100 * float(r[f'frr_clean@{t}']):.1f}" for t in TARGETS)
        n = "/".join(f"{100 * float(r[f'frr_noisy@{t}']):.1f}" for t in TARGETS)
        kinds = r["self_fa_per_hour_by_kind"]
        assert isinstance(kinds, dict)
        print(f"| {r['word']} | {r['train_seed']} | {c} | {n} | "
              f"{float(r['self_threshold']):.4f} | {kinds['speech']}/{kinds['music']}/"
              f"{r['self_fa_per_hour']} ({r['target_fa_per_hour']}) | "
              f"{r['unseen_fa_per_hour']} ({r['unseen_hours']} h) | "
              f"{r['own_heldout_fa_per_hour']} ({r['own_heldout_hours']} h, "
              f"{r['own_vs_measured']}) | {r['own_calibration_fa_per_hour']} | "
              f"{100 * float(r['self_frr_clean']):.1f}/{100 * float(r['self_frr_noisy']):.1f} | "
              f"{r['train_wall_s']} | {r['train_peak_rss_mib']} |")
    print("\n| word | seeds | own held-out FA/h (events / h) | unseen FA/h (events / h) | "
          "agree |\n|---|---|---|---|---|")
    for w in pooled:
        print(f"| {w['word']} | {' '.join(map(str, w['seeds']))} | {w['own_heldout_fa_per_hour']}"
              f" ({w['own_heldout_events']} / {w['own_heldout_hours']} h) | "
              f"{w['unseen_fa_per_hour']} ({w['unseen_fa_events']} / {w['unseen_hours']} h) | "
              f"{w['agree']} |")

if __name__ == "__main__":
    main()
