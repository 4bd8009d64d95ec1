"""Step 3: synthesised speech: positive clips of the wake word and hard-negative phrases,
in many TTS voices."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from wakebuilder.pipeline.state import JobState
from wakebuilder.synthesis.confusables import hard_negative_phrases
from wakebuilder.synthesis.generate import SynthClip, synthesize_many
from wakebuilder.synthesis.phrases import prosody_variants
from wakebuilder.synthesis.registry import load_engines


def synthesize(state: JobState, text: str, voices_dir: Path) -> tuple[list[SynthClip],
                                                                      list[SynthClip]]:
    """Positive and hard-negative TTS clips (empty lists when disabled)."""
    cfg, plan, rng = state.cfg, state.plan, state.rng
    engines = load_engines(voices_dir, threads=1)
    state.stats["tts_engines_unavailable"] = dict(engines.unavailable)
    n_pos = int(cfg.target_positive_samples * plan.tts_positive_share) \
        if cfg.use_tts_positives else 0
    phrases = hard_negative_phrases(text, max_phrases=plan.max_hard_negative_phrases, rng=rng,
                                    close_words=cfg.close_word_negatives) \
        if cfg.use_hard_negatives else []
    n_hard = int(cfg.target_positive_samples * cfg.hard_negative_ratio
                 * plan.hard_negative_tts_share) if phrases else 0
    state.stats["hard_negative_phrases"] = phrases[:plan.max_hard_negative_phrases]
    total = max(n_pos + n_hard, 1)
    weights = {k: v for k, v in plan.engine_weights.items() if k in engines.engines}

    def prog(base: int) -> Callable[[int, int], None]:
        return lambda done, _n: state.report("Synthesizing speech", (base + done) / total,
                                             f"{base + done}/{total} clips")

    pos = synthesize_many(prosody_variants(text), engines, n_pos, rng, weights=weights,
                          should_cancel=state.should_cancel, progress=prog(0),
                          workers=state.threads,
                          duration_scale=plan.tts_duration_scale) if n_pos else None
    hard = synthesize_many(phrases, engines, n_hard, rng, weights=weights,
                           should_cancel=state.should_cancel, progress=prog(n_pos),
                           workers=state.threads,
                           duration_scale=plan.tts_duration_scale) if n_hard else None
    state.stats["tts_positive_counts"] = pos.counts if pos else {}
    state.stats["tts_hard_negative_counts"] = hard.counts if hard else {}
    failures = {k: (pos.failures if pos else {}).get(k, 0)
                + (hard.failures if hard else {}).get(k, 0) for k in engines.engines}
    state.stats["tts_failures"] = {k: v for k, v in failures.items() if v}
    return (pos.clips if pos else []), (hard.clips if hard else [])
