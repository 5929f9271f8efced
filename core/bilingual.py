"""Texts kept in two languages: which one a reader sees.

Names are stored as a Chinese and an English field (`pick` chooses). Texts stored before each
language had its own field were "中文 / English" in one string: migrations split them, and pages
showing a row not yet split show the reader's half (`in_language`). Nothing new is stored that way.
"""

import re

from django.utils.translation import get_language

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
SEPARATOR = " / "


def pick(chinese: str, english: str = "") -> str:
    """The English text on an English page when there is one; else the Chinese."""
    if english and (get_language() or "").startswith("en"):
        return english
    return chinese


def split(text: str) -> tuple[str, str] | None:
    """(Chinese, English) of "中文 / English"; None when `text` is not such a pair (the Chinese
    half has Chinese in it, the English half none)."""
    chinese, separator, english = text.partition(SEPARATOR)
    if not separator or not _HAN.search(chinese) or _HAN.search(english) or not english.strip():
        return None
    return chinese.strip(), english.strip()


def in_language(text: str) -> str:
    """The active language's half of a stored pair; any other text as it is."""
    pair = split(text)
    if pair is None:
        return text
    return pair[1] if (get_language() or "").startswith("en") else pair[0]
