"""Offline text-to-speech: engines (piper, espeak-ng, flite), phrase lists, hard negatives.

Entry points: :func:`load_engines` finds the engines that work here, :func:`synthesize_many`
spreads clips over their voices, :func:`hard_negative_phrases` lists confusable texts.
"""

from wakebuilder.synthesis.confusables import (
    hard_negative_phrases,
    is_acceptable,
    is_homophone,
    phonemes,
)
from wakebuilder.synthesis.engine import StubEngine, TtsEngine
from wakebuilder.synthesis.generate import SynthClip, SynthesisResult, synthesize_many
from wakebuilder.synthesis.phrases import general_phrases, prosody_variants
from wakebuilder.synthesis.registry import EngineSet, load_engines

__all__ = ["EngineSet", "StubEngine", "SynthClip", "SynthesisResult", "TtsEngine",
           "general_phrases", "hard_negative_phrases", "is_acceptable", "is_homophone",
           "load_engines", "phonemes", "prosody_variants", "synthesize_many"]
