import pytest

from wakebuilder.errors import InvalidWakeWordError
from wakebuilder.wakeword import is_valid_id, parse_wake_word, slugify


def test_normalises_spaces_and_case() -> None:
    ww = parse_wake_word("  Hey   Jarvis ")
    assert ww.text == "hey jarvis"
    assert ww.slug == "hey_jarvis"
    assert ww.words == ["hey", "jarvis"]


@pytest.mark.parametrize("text", ["o'neil", "jean-luc", "café noir", "привет дом"])
def test_accepts_letters_apostrophes_hyphens_any_script(text: str) -> None:
    ww = parse_wake_word(text)
    assert is_valid_id(ww.slug)


@pytest.mark.parametrize("text,reason", [
    ("", "empty"), ("a", "2 to 40"), ("hey 2 jarvis", "only letters"),
    ("one two three four five", "1 to 4 words"), ("x" * 41, "2 to 40"),
    ("hey/../jarvis", "only letters"), ("'-'", "letters"),
])
def test_rejects_bad_text(text: str, reason: str) -> None:
    with pytest.raises(InvalidWakeWordError) as info:
        parse_wake_word(text)
    assert reason in info.value.details["reason"]
    assert info.value.code == "validation_error"


def test_slug_of_non_latin_script_is_a_valid_id() -> None:
    assert is_valid_id(slugify("привет"))
    assert not is_valid_id("../etc")
    assert not is_valid_id("A" * 10)
    assert not is_valid_id("a" * 65)
