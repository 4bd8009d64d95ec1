"""Synthesise many clips spread evenly over engines and voices, counting failures."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from wakebuilder.audio.format import Samples
from wakebuilder.errors import CancelledError, SynthesisError, WakeBuilderError
from wakebuilder.synthesis.engine import is_english
from wakebuilder.synthesis.registry import EngineSet

MAX_FAILURE_FRACTION = 0.5


@dataclass
class SynthClip:
    """One synthesised clip and where it came from (the voice is the split key)."""

    samples: Samples
    text: str
    engine: str
    voice: str


@dataclass
class SynthesisResult:
    clips: list[SynthClip] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedClip:
    engine: str
    voice: str
    text: str
    seed: int


def _apportion(n: int, weights: dict[str, float]) -> dict[str, int]:
    """Split ``n`` by weight with the largest-remainder method."""
    total = sum(weights.values())
    exact = {k: n * w / total for k, w in weights.items()}
    shares = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: shares[k] - exact[k])[: n - sum(shares.values())]:
        shares[k] += 1
    return shares


def _cycle(items: list[str], rng: np.random.Generator) -> Iterator[str]:
    """Every item once in random order, then again in a new order, forever."""
    while True:
        for i in rng.permutation(len(items)):
            yield items[i]


def plan_clips(texts: list[str], engines: EngineSet, n: int, rng: np.random.Generator, *,
               weights: dict[str, float] | None = None,
               english_only: bool = True) -> list[PlannedClip]:
    """Decide engine, voice, text and seed of every clip, interleaving engines.

    Clips are split between engines by ``weights`` (default: equal), and within an engine
    voices are used in turn, so every voice gets the same number of clips, plus or minus one.
    """
    voices = {name: [v for v in eng.voices()
                     if not english_only or is_english(eng.language(v))]
              for name, eng in engines.engines.items()}
    wanted = {name: (1.0 if weights is None else float(weights.get(name, 0.0)))
              for name, vs in voices.items() if vs}
    wanted = {k: w for k, w in wanted.items() if w > 0}
    if n <= 0 or not texts or not wanted:
        return []
    texts_cycle = _cycle(list(texts), rng)
    timeline: list[tuple[float, PlannedClip]] = []
    for name, count in _apportion(n, wanted).items():
        voice_cycle = _cycle(voices[name], rng)
        for k in range(count):
            clip = PlannedClip(name, next(voice_cycle), next(texts_cycle),
                               int(rng.integers(2**63 - 1)))
            timeline.append(((k + 0.5) / count, clip))
    timeline.sort(key=lambda item: item[0])
    return [clip for _, clip in timeline]


def synthesize_many(texts: list[str], engines: EngineSet, n: int, rng: np.random.Generator, *,
                    weights: dict[str, float] | None = None,
                    should_cancel: Callable[[], bool] | None = None,
                    progress: Callable[[int, int], None] | None = None,
                    english_only: bool = True, workers: int = 1,
                    duration_scale: float = 1.0) -> SynthesisResult:
    """Synthesise ``n`` clips of ``texts`` spread over engines and voices.

    Failed clips are counted per engine (first message kept in ``errors``); when more than
    half of the attempts fail, :class:`SynthesisError` is raised with the counts. ``workers``
    > 1 runs clips in threads (Piper and flite run in parallel; espeak is serialised); each
    clip is drawn from its own seed and results come back in plan order, so the output
    depends only on ``rng`` and the requests, not on ``workers`` or thread timing.
    ``duration_scale`` slows every clip down by that factor (the engines' own pace at 1.0).
    Raises :class:`CancelledError` as soon as ``should_cancel()`` returns True.
    """
    if not engines.engines:
        raise SynthesisError("no text-to-speech engine is available",
                             {"unavailable": dict(engines.unavailable)})
    plan = plan_clips(texts, engines, n, rng, weights=weights, english_only=english_only)
    result = SynthesisResult()
    stop = threading.Event()

    def run(item: PlannedClip) -> Samples | Exception | None:
        if stop.is_set():
            return None
        try:
            return engines.engines[item.engine].synthesize(
                item.text, voice=item.voice, rng=np.random.default_rng(item.seed),
                duration_scale=duration_scale)
        except (WakeBuilderError, OSError, ValueError, LookupError, RuntimeError) as exc:
            return exc

    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        outputs = pool.map(run, plan) if workers > 1 else map(run, plan)
        for done, (item, out) in enumerate(zip(plan, outputs, strict=True), start=1):
            if should_cancel is not None and should_cancel():
                stop.set()
                raise CancelledError("speech synthesis was cancelled",
                                     {"done": done - 1, "total": len(plan)})
            if isinstance(out, np.ndarray):
                result.clips.append(SynthClip(out, item.text, item.engine, item.voice))
                result.counts[item.engine] = result.counts.get(item.engine, 0) + 1
            else:
                result.failures[item.engine] = result.failures.get(item.engine, 0) + 1
                result.errors.setdefault(item.engine, str(out))
            if progress is not None:
                progress(done, len(plan))
    failed = sum(result.failures.values())
    if plan and failed > MAX_FAILURE_FRACTION * len(plan):
        raise SynthesisError(f"{failed} of {len(plan)} synthesised clips failed",
                             {"counts": result.counts, "failures": result.failures,
                              "errors": result.errors})
    return result
