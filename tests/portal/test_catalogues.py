"""The Chinese catalogue is complete and compiled: no page falls back to English in zh-hans."""

from pathlib import Path

import polib
import pytest

LOCALE = Path(__file__).resolve().parents[2] / "locale"


@pytest.fixture(scope="module")
def zh_po():
    return polib.pofile(str(LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"))


def test_every_message_has_a_chinese_translation(zh_po):
    missing = [entry.msgid for entry in zh_po.untranslated_entries()]
    assert missing == []


def test_no_guessed_translation_is_left_for_review(zh_po):
    # makemessages marks a guess from a similar string "fuzzy"; a guess is often wrong.
    assert [entry.msgid for entry in zh_po.fuzzy_entries()] == []


def test_compiled_catalogue_matches_the_source(zh_po):
    """The .mo the server reads says what the .po says (someone forgot compilemessages)."""
    mo = polib.mofile(str(LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.mo"))
    compiled = {(entry.msgctxt, entry.msgid): entry.msgstr or entry.msgstr_plural for entry in mo}
    source = {
        (entry.msgctxt, entry.msgid): entry.msgstr or entry.msgstr_plural
        for entry in zh_po.translated_entries()
    }
    assert compiled == source
