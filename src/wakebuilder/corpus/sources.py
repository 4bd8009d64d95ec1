"""Registry of Debian packages holding real recorded audio: human speech (see REAL-SPEECH.md),
music and sound effects (game soundtracks), each with its licence."""

from __future__ import annotations

from pathlib import PurePosixPath

from wakebuilder.corpus.extract_files import glob_extractor
from wakebuilder.corpus.extract_games import drascula_extractor, extract_bass, extract_fotaq
from wakebuilder.corpus.model import CorpusSource

_GAME_TERMS = ("Freeware game licence accepted in Debian main: free use, redistribution and "
               "modification; the game itself may not be sold. No restriction on use.")
_ASTERISK = "usr/share/asterisk/sounds"


def _not_silence(rel: PurePosixPath) -> bool:
    return "silence" not in rel.parts[:-1]


def _music(sid: str, package: str, base: str, patterns: tuple[str, ...], licence: str,
           summary: str, description: str, kind: str = "music") -> CorpusSource:
    return CorpusSource(
        id=sid, packages=(package,), licence=licence, licence_summary=summary,
        languages=(), description=description, kind=kind,
        extractor=glob_extractor(base, patterns, long_files=kind == "music"))


def _asterisk(lang: str, voice: str, licence: str, who: str) -> CorpusSource:
    return CorpusSource(
        id=f"asterisk-{lang}", packages=(f"asterisk-core-sounds-{lang}-wav",),
        licence=licence,
        licence_summary=f"Creative Commons {licence[3:]}, voice {who}; attribution "
                        "required when redistributing derived clips.",
        languages=(lang,), description=f"Asterisk PBX prompts, {who} ({voice}), 8 kHz",
        extractor=glob_extractor(f"{_ASTERISK}/{voice}", ("**/*.wav",), _not_silence))


_SOURCES: tuple[CorpusSource, ...] = (
    CorpusSource(
        id="fotaq", packages=("flight-of-the-amazon-queen",),
        licence="Flight-of-the-Amazon-Queen-License", licence_summary=_GAME_TERMS,
        languages=("en",), description="Flight of the Amazon Queen voice acting (MP3 in QTBL)",
        extractor=extract_fotaq),
    CorpusSource(
        id="bass", packages=("beneath-a-steel-sky",),
        licence="Beneath-a-Steel-Sky-License", licence_summary=_GAME_TERMS,
        languages=("en-GB",),
        description="Beneath a Steel Sky voice acting (sky.dsk, RNC-packed u8 11025 Hz)",
        extractor=extract_bass),
    CorpusSource(
        id="drascula-en", packages=("drascula",), licence="Drascula-License",
        licence_summary=_GAME_TERMS, languages=("en",),
        description="Drascula voice acting, English (raw u8 11025 Hz)",
        extractor=drascula_extractor("en")),
    CorpusSource(
        id="drascula-es", packages=("drascula-spanish",), licence="Drascula-License",
        licence_summary=_GAME_TERMS, languages=("es",),
        description="Drascula voice acting, Spanish (raw u8 11025 Hz)",
        extractor=drascula_extractor("es")),
    CorpusSource(
        id="drascula-it", packages=("drascula-italian",), licence="Drascula-License",
        licence_summary=_GAME_TERMS, languages=("it",),
        description="Drascula voice acting, Italian (raw u8 11025 Hz)",
        extractor=drascula_extractor("it")),
    CorpusSource(
        id="fillets-cs", packages=("fillets-ng-data-cs",), licence="GPL-2.0-or-later",
        licence_summary="GNU GPL version 2 or later (Fish Fillets NG data).",
        languages=("cs",), description="Fish Fillets NG dialogue, Czech",
        extractor=glob_extractor("usr/share/games/fillets-ng/sound", ("**/cs/*.ogg",))),
    CorpusSource(
        id="fillets-nl", packages=("fillets-ng-data-nl",), licence="GPL-2.0-or-later",
        licence_summary="GNU GPL version 2 or later (Fish Fillets NG data).",
        languages=("nl",), description="Fish Fillets NG dialogue, Dutch",
        extractor=glob_extractor("usr/share/games/fillets-ng/sound", ("**/nl/*.ogg",))),
    _asterisk("en", "en_US_f_Allison", "CC-BY-SA-3.0", "Allison Smith, en-US"),
    _asterisk("es", "es_MX_f_Allison", "CC-BY-SA-3.0", "Allison Smith, es-MX"),
    _asterisk("fr", "fr_CA_f_June", "CC-BY-SA-3.0", "June Wallack, fr-CA"),
    _asterisk("it", "it_IT_m_Carlo", "CC-BY-3.0", "Carlo Flora, it-IT"),
    _asterisk("ru", "ru_RU_f_IvrvoiceRU", "CC-BY-3.0", "ivrvoice.ru, ru-RU"),
    CorpusSource(
        id="asterisk-it-menardi", packages=("asterisk-prompt-it-menardi-wav",),
        licence="CC-BY-SA-3.0-IT",
        licence_summary="Creative Commons Attribution-ShareAlike 3.0 Italy; the authors "
                        "(Marco Menardi, Paola Dal Zot) ask for visible attribution.",
        languages=("it",), description="Italian Asterisk prompts, Paola Dal Zot, 8 kHz",
        extractor=glob_extractor(f"{_ASTERISK}/it_IT_f_Menardi", ("**/*.wav",),
                                 _not_silence)),
    CorpusSource(
        id="asterisk-fr-armelle", packages=("asterisk-prompt-fr-armelle",),
        licence="BSD-style",
        licence_summary="BSD-style permissive licence (Michel Gutierrez, 2006): keep the "
                        "copyright notice when redistributing.",
        languages=("fr",), description="French Asterisk prompts, Armelle Desjardins, GSM 8 kHz",
        extractor=glob_extractor(_ASTERISK, ("**/*.gsm",), _not_silence)),
    CorpusSource(
        id="asterisk-es-co", packages=("asterisk-prompt-es-co",), licence="GPL-2.0-only",
        licence_summary="GNU GPL version 2 (Avatar Ltda. / July E. Jimenez).",
        languages=("es-CO",), description="Colombian Spanish Asterisk prompts, GSM 8 kHz",
        extractor=glob_extractor(_ASTERISK, ("**/*.gsm",), _not_silence)),
    CorpusSource(
        id="klettres", packages=("klettres-data",), licence="GPL-2.0-or-later",
        licence_summary="GNU GPL version 2 or later (KDE KLettres data).",
        languages=("ar", "cs", "da", "de", "en", "en-GB", "es", "fr", "he", "hu", "id", "it",
                   "lt", "ml", "nb", "nds", "nl", "nn", "pt-BR", "ru", "tn", "uk"),
        description="KLettres spoken letters and syllables (isolated, many languages)",
        extractor=glob_extractor("usr/share/klettres", ("*/alpha/*.ogg", "*/syllab/*.ogg"))),
    CorpusSource(
        id="ktuberling", packages=("ktuberling-data",), licence="GPL-2.0-or-later",
        licence_summary="GNU GPL version 2 or later (KDE KTuberling data).",
        languages=("ca", "da", "de", "el", "en", "es", "fi", "fr", "ga", "gl", "it", "lt",
                   "nds", "nl", "nn", "pt", "ro", "ru", "sl", "sr", "sv", "uk", "wa"),
        description="KTuberling spoken words (one speaker per language)",
        extractor=glob_extractor("usr/share/ktuberling/sounds",
                                 ("*/*.ogg", "*/*.wav", "*/*.opus"))),
    CorpusSource(
        id="gcin", packages=("gcin-voice",), licence="GPL-3.0 OR LGPL-3.0 / CC-BY-3.0",
        licence_summary="Voice set 3: GPL-3 or LGPL-3; voice set 5: CC-BY-3.0 "
                        "(see the package copyright file).",
        languages=("zh",), description="gcin Mandarin syllables (two voice sets)",
        extractor=glob_extractor("usr/share/gcin-voice/ogg", ("*/*.ogg",))),
    CorpusSource(
        id="codec2", packages=("codec2-examples",), licence="LGPL-2.1",
        licence_summary="GNU LGPL 2.1 (codec2 package); amateur-radio test recordings.",
        languages=("en",), description="codec2 example speech recordings, 8/16 kHz",
        extractor=glob_extractor(
            "usr/share/codec2", ("wav/*.wav", "raw/speech_orig_16k.wav"),
            lambda rel: rel.name != "all.wav")),  # all.wav concatenates the others
    CorpusSource(
        id="pocketsphinx", packages=("pocketsphinx-testdata",), licence="BSD-2-Clause",
        licence_summary="BSD (CMU Sphinx); the LibriVox excerpts are public domain.",
        languages=("en",), description="pocketsphinx test utterances (LibriVox, digits)",
        extractor=glob_extractor("usr/share/pocketsphinx/test/data",
                                 ("**/*.wav", "*.raw", "tidigits/*.raw"))),
    # Real recorded music and effects (measured 2026-12-01 with `apt-get download` + PyAV).
    _music("music-warzone2100", "warzone2100-music", "usr/share/games/warzone2100/music",
           ("**/*.opus",), "GPL-2.0-or-later",
           "GNU GPL version 2 or later (Warzone 2100 soundtracks).",
           "Warzone 2100 soundtracks: orchestral, ambient and electronic (3 albums, 4.1 h)"),
    _music("music-supertux", "supertux-data", "usr/share/games/supertux2/music",
           ("**/*.ogg",), "GPL-2.0-or-later / CC-BY-SA",
           "GNU GPL 2+ or Creative Commons BY-SA per track (see the package copyright file).",
           "SuperTux music: chiptune, orchestral, ambient (51 tracks, 1.7 h)"),
    _music("music-xmoto", "xmoto-data", "usr/share/games/xmoto/Textures/Musics",
           ("*.ogg",), "GPL-2.0-or-later", "GNU GPL version 2 or later (X-Moto data).",
           "X-Moto music: rock and electronic (7 tracks, 12 min)"),
    _music("music-frozen-bubble", "frozen-bubble-data", "usr/share/games/frozen-bubble/snd",
           ("*.ogg",), "GPL-2.0-only", "GNU GPL version 2 (Frozen Bubble data).",
           "Frozen Bubble music and jingles (12 min)"),
    _music("music-etr", "extremetuxracer-data", "usr/share/games/etr/music", ("*.ogg",),
           "GPL-2.0-or-later", "GNU GPL version 2 or later (Extreme Tux Racer data).",
           "Extreme Tux Racer music (10 tracks, 10 min)"),
    _music("music-lincity", "lincity-ng-data", "usr/share/games/lincity-ng/music",
           ("**/*.ogg",), "GPL-2.0-or-later",
           "GNU GPL version 2 or later (LinCity-NG data).", "LinCity-NG music (9 min)"),
    _music("effects-lincity", "lincity-ng-data", "usr/share/games/lincity-ng/sounds",
           ("*.wav",), "GPL-2.0-or-later / CC-BY-SA-2.0",
           "GNU GPL 2+ or Creative Commons BY-SA 2.0 (LinCity-NG sound effects).",
           "LinCity-NG city and machine sound effects (141 clips, 8 min)", kind="effects"),
)

SOURCES: dict[str, CorpusSource] = {source.id: source for source in _SOURCES}
"""Every known corpus source by id, in fetch order (speech first, then music and effects)."""


def get_sources(ids: list[str] | None = None, *,
                kinds: list[str] | None = None) -> list[CorpusSource]:
    """The registry entries for ``ids`` (all when ``None``), optionally only of ``kinds``;
    unknown ids raise ``KeyError`` listing the valid ones."""
    if ids is None:
        return [s for s in SOURCES.values() if kinds is None or s.kind in kinds]
    unknown = [i for i in ids if i not in SOURCES]
    if unknown:
        raise KeyError(f"unknown corpus source(s) {unknown}; known: {sorted(SOURCES)}")
    return [SOURCES[i] for i in ids]
