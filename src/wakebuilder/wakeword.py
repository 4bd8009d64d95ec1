"""Wake-word text rules: letters of any script, spaces, apostrophes and hyphens."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from wakebuilder.errors import InvalidWakeWordError

MIN_CHARS, MAX_CHARS, MAX_WORDS = 2, 40, 4
MODEL_ID_RE = re.compile(r"^[a-z0-9_]{1,64}$")


@dataclass(frozen=True)
class WakeWord:
    """A validated wake word: display ``text`` and the base of its model id."""

    text: str
    slug: str

    @property
    def words(self) -> list[str]:
        return self.text.split()


def _allowed(ch: str) -> bool:
    return ch in " '-’" or unicodedata.category(ch).startswith(("L", "M"))


def slugify(text: str) -> str:
    """Turn text into a model-id-safe slug (``[a-z0-9_]``), transliterating accents."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    if not slug:  # a non-Latin script: fall back to code points
        slug = "ww_" + "_".join(f"{ord(c):x}" for c in text if not c.isspace())
    return slug[:48]


def parse_wake_word(raw: str) -> WakeWord:
    """Validate and normalise a wake word (trim, collapse spaces, lower case)."""
    text = " ".join(unicodedata.normalize("NFC", raw or "").split()).lower().replace("’", "'")
    if not text:
        raise InvalidWakeWordError(raw, "empty")
    bad = sorted({c for c in text if not _allowed(c)})
    if bad:
        raise InvalidWakeWordError(raw, f"only letters, spaces, apostrophes and hyphens are "
                                   f"allowed (found {''.join(bad)!r})")
    if not any(unicodedata.category(c).startswith("L") for c in text):
        raise InvalidWakeWordError(raw, "must contain letters")
    if not MIN_CHARS <= len(text) <= MAX_CHARS:
        raise InvalidWakeWordError(raw, f"must be {MIN_CHARS} to {MAX_CHARS} characters long")
    if len(text.split()) > MAX_WORDS:
        raise InvalidWakeWordError(raw, f"must be 1 to {MAX_WORDS} words")
    return WakeWord(text=text, slug=slugify(text))


def is_valid_id(value: str) -> bool:
    """True if ``value`` is a valid model or job id (``[a-z0-9_]{1,64}``)."""
    return bool(MODEL_ID_RE.fullmatch(value or ""))
