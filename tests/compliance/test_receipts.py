"""Receipts of confidential reports: grouped, no look-alike characters, as strong as before,
and found however a person types them (compliance/receipts.py)."""

import re

import pytest

from compliance import receipts
from compliance.models import new_receipt

RECEIPT = "7KQ3M-WX9PA-HT4NB-ZR2CD-EF5GJ-SV6Y8"


def test_a_receipt_is_six_groups_of_five_without_look_alikes():
    for _ in range(200):
        receipt = new_receipt()
        assert re.fullmatch(r"[A-Z2-9]{5}(-[A-Z2-9]{5}){5}", receipt), receipt
        assert not set(receipt) & set("01OILU")


def test_receipts_are_at_least_as_strong_as_the_old_ones_and_differ():
    assert receipts.BITS >= receipts.OLD_BITS == 144
    assert len({new_receipt() for _ in range(1000)}) == 1000
    # Every symbol of the alphabet turns up: the choice is not stuck on a subset.
    seen = set("".join(new_receipt() for _ in range(200)).replace("-", ""))
    assert seen == set(receipts.ALPHABET)


@pytest.mark.parametrize(
    "typed",
    [
        RECEIPT,
        RECEIPT.lower(),
        RECEIPT.replace("-", ""),
        RECEIPT.replace("-", " "),
        "  " + RECEIPT.lower().replace("-", " - ") + "\n",
        "7KQ3MWX9PA-HT4-NBZR2CDEF5GJ--SV6Y8",  # dashes missing, extra and misplaced
        # Full-width, as a Chinese input method types it.
        "７ＫＱ３Ｍ－ＷＸ９ＰＡ－ＨＴ４ＮＢ－ＺＲ２ＣＤ－ＥＦ５ＧＪ－ＳＶ６Ｙ８",
        "7KQ3M–WX9PA—HT4NB-ZR2CD-EF5GJ-SV6Y8",  # typographic dashes
    ],
)
def test_case_spaces_and_dashes_do_not_matter(typed):
    assert receipts.normalise(typed) == RECEIPT


@pytest.mark.parametrize(
    "typed",
    [
        "",
        RECEIPT[:-1],  # a character short
        RECEIPT + "2",  # one too many
        RECEIPT.replace("7", "O"),  # not in the alphabet
        RECEIPT.replace("K", "1"),
        "x" * 500,
    ],
)
def test_what_cannot_be_a_receipt_normalises_to_nothing(typed):
    assert receipts.normalise(typed) is None


def test_an_old_receipt_is_a_candidate_exactly_as_issued():
    old = "Ab3_-xY9zQ0pL1mN2oP4qR5s"  # secrets.token_urlsafe(18): 24 characters
    assert receipts.candidates(old) == [old]
    assert receipts.candidates(f" {old} ") == [old]
    # Old receipts are case-sensitive: another case is another receipt.
    assert old.lower() not in receipts.candidates(old)
    assert receipts.candidates("not a receipt") == []
