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


# --- stored as a keyed digest only -----------------------------------------------------------


def _typings(receipt: str) -> list[str]:
    """The ways a person may type a receipt back: any case, any grouping, full-width."""
    plain = receipt.replace("-", "")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in receipt)
    return [
        receipt,
        receipt.lower(),
        plain,
        " ".join(plain[i : i + 3] for i in range(0, len(plain), 3)),
        full_width,
    ]


@pytest.mark.django_db
def test_a_report_is_found_by_its_receipt_however_typed_though_only_its_digest_is_kept(cast):
    from inspection import selectors
    from tests.compliance.inspection_helpers import report_about_acme

    report = report_about_acme(cast)
    receipt = report.receipt  # shown once, at filing
    for typed in _typings(receipt):
        assert selectors.report_status(typed).pk == report.pk, typed
    other = receipt[:-1] + ("3" if receipt[-1] == "2" else "2")  # one symbol off
    assert not selectors.reports_by_receipt(other).exists()
    assert report.receipt_hint == receipt[:5]


@pytest.mark.django_db
def test_the_database_row_does_not_hold_the_receipt(cast):
    from django.db import connection

    from compliance.models import ConfidentialReport
    from tests.compliance.inspection_helpers import report_about_acme

    receipt = report_about_acme(cast).receipt
    table = ConfidentialReport._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # every column, as an insider would read it
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert receipt not in stored
    assert receipt.replace("-", "") not in stored
    assert receipt.lower() not in stored.lower()
    # Read back from the database, a report has no receipt to give away.
    assert ConfidentialReport.objects.get().receipt is None


def test_the_digest_depends_on_the_key(settings):
    before = receipts.digest(RECEIPT)
    settings.RECEIPT_KEY = "another key"
    assert receipts.digest(RECEIPT) != before
    assert len(before) == 64


# Serialized rollback: the flush after a test that commits must not make the content types anew
# (SQLite numbers them on), or the next test that restores the serialized data collides with them.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_data_migration_hashes_the_receipts_that_were_stored():
    """Receipts stored in plain text before the digest still open their reports after it."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from inspection import selectors

    before, after = (
        ("compliance", "0007_alter_casedecision_measure_and_more"),
        (
            "compliance",
            "0008_receipt_digest",
        ),
    )
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    try:
        old_apps = executor.loader.project_state([before]).apps
        old_report = old_apps.get_model("compliance", "ConfidentialReport")
        issued = [RECEIPT, "Ab3_-xYz0123456789abcdEF"]  # the current format, and an old one
        for receipt in issued:
            old_report.objects.create(receipt=receipt, kind="other", text="x", anonymous=True)
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([after])
        assert selectors.report_status(RECEIPT.lower().replace("-", " ")) is not None
        assert selectors.report_status(issued[1]) is not None
    finally:
        call_command("migrate", verbosity=0)
