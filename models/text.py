"""Text preprocessing shared by training, evaluation and serving, and language detection.

Every stage calls :func:`clean_text` so that the model sees the same string at training and
serving time.
"""

from __future__ import annotations

import re
import unicodedata

# Literal special-token strings typed by a user must be read as text, not as control tokens:
# the tokenizer would otherwise match "<s>" to id 0 (its vocabulary holds the specials as pieces).
# The angle brackets become single angle quotation marks, which normalisation leaves alone.
_SPECIALS = re.compile(r"</?(?:s|pad|unk|mask)>", re.IGNORECASE)
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_LATIN = re.compile(r"[A-Za-z]")
# What detect_language answers.
LANGUAGES = ("ko", "en", "mixed")


def _neutralise(match: re.Match[str]) -> str:
    return match.group(0).replace("<", "\u2039").replace(">", "\u203a")


def clean_text(text: str) -> str:
    """NFC-normalise, strip, and neutralise literal special tokens.

    NFC matters for Korean pasted from macOS: decomposed syllables would otherwise be read as
    separate jamo and roughly double the token count.
    """
    text = unicodedata.normalize("NFC", text).strip()
    return _SPECIALS.sub(_neutralise, text)


def detect_language(text: str) -> str:
    """Return ``ko``, ``en`` or ``mixed`` from the Hangul and Latin letters the text holds.

    Mixed means both scripts appear with at least two letters each (a Korean review with an
    English word, or an English one with a Korean phrase); text with no Hangul is ``en``.
    """
    hangul = len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    if hangul >= 2 and latin >= 2:
        return "mixed"
    return "ko" if hangul > latin else "en"


# Unicode categories that show nothing: control, format, surrogate, private use, unassigned, separators.
_INVISIBLE_CATEGORIES = ("C", "Z")


def first_surrogate(text: str) -> str | None:
    """The first unpaired surrogate in ``text`` (JSON can carry one as ``\\ud800``), else ``None``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return text[e.start]
    return None


def has_visible_characters(text: str) -> bool:
    """Whether ``text`` holds a character that shows (a letter, digit, mark, punctuation or symbol)."""
    return any(not unicodedata.category(c).startswith(_INVISIBLE_CATEGORIES) for c in text)
