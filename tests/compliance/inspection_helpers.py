"""Shared data for the inspectors' side: reports and cases built as the services build them,
and the list of everyone who must not reach a confidential report (fixtures: conftest.py)."""

import re

from django.test import Client

from compliance.models import AccountabilityCase, CaseSource, CaseStatus, ReportKind
from inspection import confidential

REPORT_TEXT = "The handler asked for a red packet before stamping the permit (unique-report-text)."

# Everyone who must get 404 for a report about acme (region gulou): each role's insider and
# outsider, the reported official himself (hank), the reporter herself (alice), the admin, a
# superuser, the other region's inspector, and a logged-out visitor.
NOT_READERS = ["alice", "mallory", "liam", "olga", "hank", "hilda", "hugo", "leona", "lars"]
NOT_READERS += ["irene", "ada", "root", None]
READERS = ["ivan", "gina"]  # the city-wide inspector and Gulou's own


def report_about_acme(cast, **kwargs):
    """A report naming acme and the Roads Bureau, filed anonymously by default."""
    values = {
        "by": None,
        "kind": ReportKind.PETTY_EXTORTION,
        "text": REPORT_TEXT,
        "anonymous": True,
        "enterprise": cast.acme,
        "official_name": "Hank",
        "department": cast.roads,
    }
    return confidential.file_report(**{**values, **kwargs})


def receipt_shown(page: str) -> str:
    """The receipt a filing page shows: the only place it is ever read (only its digest is
    stored)."""
    found = re.search(r'id="receipt">([^<]+)</p>', page)
    assert found, "no receipt on the page"
    return found.group(1)


def breach_case(cast, request=None, **kwargs) -> AccountabilityCase:
    """A case as the deadline sweep opens it: acme's request breached in the Roads Bureau."""
    values = {
        "source": CaseSource.BREACH,
        "status": CaseStatus.OPEN,
        "request": request,
        "department": cast.roads,
        "official": cast.hank,
        "region": "gulou",
        "cause": "Answer deadline passed",
        "rule": "answer breach",
    }
    return AccountabilityCase.objects.create(**{**values, **kwargs})


def page_client(user) -> Client:
    # Pages follow the browser's language (zh-hans when it says none); these tests read English.
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


# --- what the permission table's rows of the inspectors' URLs point at (tests/test_permissions.py)


def _report_target(world, persona) -> dict:
    world.report = report_about_acme(world.cast)
    return {"pk": world.report.pk}


def _receipt_target(world, persona) -> dict:
    world.report = report_about_acme(world.cast)
    return {"receipt": world.report.receipt}


def _evidence_target(world, persona) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    pdf = SimpleUploadedFile("a.pdf", b"%PDF-1.4\n%%EOF\n")
    world.report = report_about_acme(world.cast, files=[pdf])
    return {"pk": world.report.pk, "evidence_id": world.report.evidence.get().pk}


PERMISSION_TARGETS = {
    "report": _report_target,  # an anonymous report about acme (region gulou)
    "evidence": _evidence_target,  # a file sent with that report
    "receipt": _receipt_target,
    "case": lambda world, persona: {"pk": breach_case(world.cast).pk},  # region gulou
    "official": lambda world, persona: {"pk": world.cast.hank.pk},
}
