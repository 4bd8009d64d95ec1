"""espeak-ng in-process through ``espeakng-loader`` (ctypes): many voices, about 1 ms a clip.

libespeak-ng keeps global state (current voice, parameters, one synthesis callback), so
every call goes through one process-wide lock. Its waveform generator also carries state from
one clip to the next (pitch-flutter phase, wave phase, echo, filters) and seeds its noise
from the clock (the Klatt voices use the C library's ``rand()``), so before each clip that
state is restored to its just-initialised values and both noise generators are seeded from
the clip's rng: a clip then depends only on its text, voice, parameters and seed, not on
what was spoken before it. Voices load after that restore, so what a voice sets stays set.
The pitch-flutter phase a clip starts at, which used to be wherever the previous clip left
it, is drawn from the seed.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import numpy as np

from wakebuilder.audio.format import Samples
from wakebuilder.errors import EngineUnavailableError, SynthesisError
from wakebuilder.synthesis.engine import finish_clip
from wakebuilder.synthesis.native_state import StaticState

ENGLISH_VOICES = ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
                  "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
"""The English voices as espeak_SetVoiceByName accepts them (``en`` is British English)."""
OTHER_LANGUAGES = ("de", "fr", "es", "it", "pt", "nl", "pl", "ru", "sv", "hi", "cmn", "tr")
"""Non-English voices, useful for general negatives only."""
OTHER_VARIANTS = ("m1", "m3", "f2", "f4")
RATE_WPM = (120, 220)
MIN_RATE_WPM = 80
"""espeak's slowest rate."""
PITCH = (25, 75)
PITCH_RANGE = (30, 90)
_RATE, _PITCH, _RANGE = 1, 3, 4
_SYNC_OUTPUT = 2
_UTF8 = 1
_GENERATOR_STATE = (
    # wavegen.c: running state of the harmonic generator, flutter, echo and breath
    "Flutter_ix.", "cycle_count.", "h_switch_sign.", "amplitude2.", "maxh.", "maxh2.", "agc.",
    "wavephase", "phaseinc", "cycle_samples", "hswitch", "hspect", "harm_inc", "peaks",
    "peak_height", "peak_harmonic", "rbreath", "voicing", "glottal_flag", "glottal_reduce",
    "modulation_type", "amp_ix", "amp_inc", "samplecount", "samplecount_start", "end_wave",
    "nsamples", "echo_buf", "echo_complete.", "n_samples.",
    # voices.c: a voice's "intonation" keyword, which loading another voice does not reset
    "option_tone_flags",
    # klatt.c: Klatt and speechPlayer filter state
    "kt_globals", "kt_frame", "klattp", "klattp1", "klattp_inc", "skew.", "vwave.", "nlast.",
    "time_count.", "glotlast.", "vlast.", "voice.", "noise.", "prev_fr.", "sample_count")
"""Static variables of libespeak-ng 1.52 restored before every clip (see the module doc)."""
_FLUTTER_STEPS = 368
"""Entries of wavegen.c's pitch-flutter table (Flutter_ix counts 64 per entry)."""
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)


class EspeakLibrary:
    """The loaded libespeak-ng, its lock and its synthesis buffer (one per process)."""

    _instance: EspeakLibrary | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        try:
            import espeakng_loader
            self.data_path = Path(espeakng_loader.get_data_path())
            self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except (ImportError, OSError) as exc:
            raise EngineUnavailableError(f"espeak-ng library not loadable: {exc}") from exc
        self.lock = threading.RLock()
        self._chunks: list[np.ndarray] = []
        self.lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint,
                                          ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                          ctypes.c_void_p, ctypes.c_void_p]
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p),
                                                   ctypes.c_int, ctypes.c_int]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        library_path = Path(espeakng_loader.get_library_path())
        self.sample_rate = int(self.lib.espeak_Initialize(_SYNC_OUTPUT, 0,
                                                          str(self.data_path).encode(), 0))
        if self.sample_rate <= 0:
            raise EngineUnavailableError(f"espeak_Initialize failed ({self.sample_rate})")
        self._callback = _CALLBACK(self._collect)  # keep a reference: C holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)
        self._fresh = StaticState.capture(self.lib, library_path, "espeak_Synth",
                                          _GENERATOR_STATE)
        self._seed = getattr(self.lib, "espeak_ng_SetRandSeed", None)
        if self._seed is not None:
            self._seed.argtypes = [ctypes.c_long]
        try:  # the Klatt voices' noise comes from the C library's rand()
            self._srand = ctypes.CDLL(None).srand
            self._srand.argtypes = [ctypes.c_uint]
        except (OSError, AttributeError):
            self._srand = None

    @property
    def deterministic(self) -> bool:
        """True when every clip depends only on its text, voice, parameters and seed."""
        return None not in (self._fresh, self._seed, self._srand)

    @classmethod
    def get(cls) -> EspeakLibrary:
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def _collect(self, wav: ctypes._Pointer[ctypes.c_short], n: int, _events: int) -> int:
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    def variants(self) -> list[str]:
        folder = self.data_path / "voices" / "!v"
        return sorted(p.name for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []

    def synthesize(self, text: str, voice: str, *, rate: int, pitch: int,
                   pitch_range: int, seed: int = 0) -> np.ndarray:
        """Raw int16 samples at ``self.sample_rate``; ``seed`` seeds espeak's noise."""
        data = text.encode("utf-8")
        with self.lock:
            if self._fresh is not None:
                self._fresh.restore()
                # a clip used to start wherever the last one left the pitch flutter; keep
                # that variety, drawn from the seed
                self._fresh.set_int("Flutter_ix.", 64 * (seed % _FLUTTER_STEPS))
            if self._seed is not None:
                self._seed(seed)
            if self._srand is not None:
                self._srand(seed)
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise SynthesisError(f"espeak-ng has no voice {voice!r}", {"voice": voice})
            for param, value in ((_RATE, rate), (_PITCH, pitch), (_RANGE, pitch_range)):
                self.lib.espeak_SetParameter(param, value, 0)
            self._chunks = []
            self.lib.espeak_Synth(data, len(data) + 1, 0, 0, 0, _UTF8, None, None)
            self.lib.espeak_Synchronize()
            chunks, self._chunks = self._chunks, []
        if not chunks:
            raise SynthesisError("espeak-ng produced no audio", {"voice": voice})
        return np.concatenate(chunks)

    def text_to_ipa(self, text: str, voice: str = "en-us") -> list[list[str]]:
        """IPA phonemes of each word (stress marks kept), e.g. ``[["h", "ˈeɪ"], ...]``."""
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        pointer = ctypes.c_void_p(ctypes.addressof(buf))
        mode = 0x02 | (ord(" ") << 8)  # IPA, phonemes separated by a space
        words: list[list[str]] = []
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise SynthesisError(f"espeak-ng has no voice {voice!r}", {"voice": voice})
            while pointer.value:
                raw = self.lib.espeak_TextToPhonemes(ctypes.byref(pointer), _UTF8, mode)
                clause = raw.decode("utf-8", "replace") if raw else ""
                words += [w.split() for w in clause.split("  ") if w.strip()]
        return words


class EspeakEngine:
    """espeak-ng voices: 8 English accents x every variant, plus a few other languages."""

    name = "espeak"

    def __init__(self, *, other_languages: bool = True) -> None:
        self._lib = EspeakLibrary.get()
        variants = self._lib.variants()
        voices = [v for v in ENGLISH_VOICES if self._voice_works(v)]
        if not voices:
            raise EngineUnavailableError("espeak-ng has none of its English voices")
        self._voices = voices + [f"{v}+{var}" for v in voices for var in variants]
        if other_languages:
            for lang in (v for v in OTHER_LANGUAGES if self._voice_works(v)):
                self._voices += [lang] + [f"{lang}+{var}" for var in OTHER_VARIANTS
                                          if var in variants]

    def _voice_works(self, voice: str) -> bool:
        with self._lib.lock:
            return int(self._lib.lib.espeak_SetVoiceByName(voice.encode())) == 0

    def voices(self) -> list[str]:
        return list(self._voices)

    def language(self, voice: str) -> str:
        return voice.split("+", 1)[0]

    def synthesize(self, text: str, *, voice: str, rng: np.random.Generator,
                   duration_scale: float = 1.0) -> Samples:
        rate = max(MIN_RATE_WPM, round(int(rng.integers(*RATE_WPM)) / duration_scale))
        raw = self._lib.synthesize(text, voice, rate=rate,
                                   pitch=int(rng.integers(*PITCH)),
                                   pitch_range=int(rng.integers(*PITCH_RANGE)),
                                   seed=int(rng.integers(2**31 - 1)))
        return finish_clip(raw.astype(np.float32) / 32768.0, self._lib.sample_rate, rng)
