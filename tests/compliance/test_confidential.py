"""Confidential reports: filing (logged in or not, throttled), following by receipt, reading
(inspectors of the region alone, 404 for everyone else on every path), and anonymity that
leaves no identity anywhere in the database or the logs."""

import pytest
from django.urls import reverse

from compliance import receipts
from compliance.models import (
    AccountabilityCase,
    CaseSource,
    ConfidentialReport,
    ReportStatus,
)
from notifications.models import Notification
from tests.compliance.inspection_helpers import (
    NOT_READERS,
    READERS,
    REPORT_TEXT,
    page_client,
    report_about_acme,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_throttles")]

URL = "/api/v1/reports/confidential/"


def detail_url(report) -> str:
    return f"{URL}{report.pk}/"


def body(cast, **overrides) -> dict:
    return {
        "kind": "petty_extortion",
        "text": REPORT_TEXT,
        "enterprise": cast.acme.pk,
        "official_name": "Hank",
        "department": cast.roads.pk,
        "anonymous": True,
        **overrides,
    }


# --- filing ------------------------------------------------------------------------------------


def test_anyone_may_file_without_logging_in_and_gets_a_receipt(cast, api):
    response = api(None).post(URL, body(cast), format="json")
    assert response.status_code == 201
    assert set(response.json()) == {"receipt"}
    report = ConfidentialReport.objects.get()
    assert report.receipt_digest == receipts.digest(response.json()["receipt"])
    assert (report.reporter, report.anonymous, report.region) == (None, True, "gulou")
    assert report.status == ReportStatus.RECEIVED


def test_a_logged_in_reporter_is_kept_and_may_not_be_anonymous_while_logged_in(cast, api):
    assert api(cast.alice).post(URL, body(cast, anonymous=False), format="json").status_code == 201
    refused = api(cast.alice).post(URL, body(cast, anonymous=True), format="json")
    assert refused.status_code == 400
    assert list(refused.json()) == ["anonymous"]  # the message says to log out first
    (named,) = ConfidentialReport.objects.all()
    assert (named.reporter, named.anonymous) == (cast.alice, False)


def test_without_a_login_a_report_is_anonymous_whatever_the_body_says(cast, api):
    api(None).post(URL, body(cast, anonymous=False), format="json")
    assert ConfidentialReport.objects.get().anonymous is True


@pytest.mark.parametrize(
    ("enterprise", "department", "region"),
    [("acme", "land", "gulou"), (None, "land", "minhou"), (None, None, "")],
)
def test_the_region_is_the_enterprises_else_the_departments_else_city_wide(
    cast, api, enterprise, department, region
):
    data = body(
        cast,
        enterprise=cast[enterprise].pk if enterprise else None,
        department=cast[department].pk if department else None,
    )
    assert api(None).post(URL, data, format="json").status_code == 201
    assert ConfidentialReport.objects.get().region == region


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "bribery"}, "kind"),
        ({"kind": None}, "kind"),
        ({"text": ""}, "text"),
        ({"text": "x" * 10001}, "text"),
        ({"enterprise": 999999}, "enterprise"),
        ({"enterprise": "acme"}, "enterprise"),
        ({"department": 10**30}, "department"),
        ({"anonymous": "perhaps"}, "anonymous"),
        ({"official_name": "x" * 101}, "official_name"),
    ],
)
def test_bad_input_is_a_400_and_stores_nothing(cast, api, change, field):
    response = api(None).post(URL, body(cast, **change), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not ConfidentialReport.objects.exists()
    assert not Notification.objects.exists()


def test_a_missing_anonymous_flag_is_a_400(cast, api):
    data = body(cast)
    del data["anonymous"]
    assert api(None).post(URL, data, format="json").status_code == 400


def test_the_regions_inspectors_are_told_without_the_reporters_identity(cast, api, people):
    api(cast.alice).post(URL, body(cast, anonymous=False), format="json")
    told = set(
        Notification.objects.filter(kind="report_received").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"ivan", "gina"}  # irene covers Minhou only
    for note in Notification.objects.all():
        assert "alice" not in (note.subject + note.body).lower()


# --- following by receipt -----------------------------------------------------------------------


def test_the_receipt_tells_the_status_and_nothing_else(cast, api):
    receipt = api(None).post(URL, body(cast), format="json").json()["receipt"]
    response = api(None).get(f"{URL}status/{receipt}/")
    assert response.status_code == 200
    assert set(response.json()) == {"status", "updated_at", "additions"}
    assert response.json()["additions"] == []
    assert response.json()["status"] == "received"


@pytest.mark.parametrize("receipt", ["not-a-receipt", "x" * 40])
def test_an_unknown_receipt_is_a_404(cast, api, receipt):
    report_about_acme(cast)
    assert api(None).get(f"{URL}status/{receipt}/").status_code == 404


# Throttling and anonymity (no identity in any table, log or cache key): test_anonymity.py.


# --- reading: the region's inspectors, and nobody else ------------------------------------------


def _every_path(report) -> list[tuple[str, str]]:
    """(kind, url) of every way to reach the report: API, pages, admin."""
    admin = f"/admin/compliance/confidentialreport/{report.pk}"
    return [
        ("api-detail", detail_url(report)),
        ("page-detail", reverse("inspector:report", args=[report.pk])),
        ("admin-change", f"{admin}/change/"),
        ("admin-history", f"{admin}/history/"),
        ("admin-delete", f"{admin}/delete/"),
    ]


@pytest.mark.parametrize("name", NOT_READERS)
def test_everyone_but_the_regions_inspectors_gets_404_on_every_path(cast, people, name, api):
    report = report_about_acme(cast, by=cast.alice, anonymous=False)
    user = people[name]
    client = page_client(user)
    for kind, url in _every_path(report):
        response = client.get(url)
        if user is None and kind.startswith("page"):
            # Console pages ask a visitor to log in first, whatever the id: nothing is told.
            assert response.status_code == 302 and "/accounts/login/" in response.url, kind
        elif kind.startswith("admin") and not (user and user.is_staff):
            # The admin lets no one but staff in at all: the same login redirect for any id.
            assert response.status_code == 302 and "/admin/login/" in response.url, kind
        else:
            assert response.status_code == 404, (kind, response.status_code)
    assert api(user).get(detail_url(report)).status_code == 404
    assert api(user).get(URL).status_code in (404, 200)
    if name != "irene":  # an inspector of another region has a list: without this report
        assert api(user).get(URL).status_code == 404
        if user is not None:
            assert client.get(reverse("inspector:reports")).status_code == 404
        expected = 404 if user and user.is_staff else 302
        assert client.get("/admin/compliance/confidentialreport/").status_code == expected
    else:
        assert api(user).get(URL).json()["count"] == 0
        assert REPORT_TEXT not in client.get(reverse("inspector:reports")).content.decode()
    for action in ("move", "open-case"):
        assert api(user).post(f"{detail_url(report)}{action}/", {}).status_code == 404
    report.refresh_from_db()
    assert report.status == ReportStatus.RECEIVED


@pytest.mark.parametrize("name", NOT_READERS)
def test_the_report_is_not_on_any_console_page_or_search(cast, people, name):
    report_about_acme(cast)
    user = people[name]
    client = page_client(user)
    for url in (
        reverse("inspector:alerts"),
        reverse("inspector:search") + "?go=1&text=red+packet",
        reverse("inspector:cases"),
        "/admin/",
    ):
        response = client.get(url)
        assert REPORT_TEXT not in response.content.decode()
        assert "confidentialreport" not in response.content.decode()


def test_the_superuser_does_not_see_the_model_in_the_admin_index(cast, people):
    report_about_acme(cast)
    response = page_client(people["root"]).get("/admin/")
    assert response.status_code == 200
    assert "confidentialreport" not in response.content.decode()
    assert (
        page_client(people["root"]).get("/admin/compliance/confidentialreport/").status_code == 404
    )


@pytest.mark.parametrize("name", READERS)
def test_the_regions_inspectors_read_it_everywhere(cast, people, name, api):
    report = report_about_acme(cast)
    user = people[name]
    user.is_staff = True
    user.save()
    response = api(user).get(detail_url(report))
    assert response.status_code == 200
    assert response.json()["text"] == REPORT_TEXT
    assert response.json()["reporter"] is None
    assert "receipt" not in response.json()
    assert [row["id"] for row in api(user).get(URL).json()["results"]] == [report.pk]
    client = page_client(user)
    assert REPORT_TEXT in client.get(reverse("inspector:report", args=[report.pk])).content.decode()
    assert (
        client.get(f"/admin/compliance/confidentialreport/{report.pk}/change/").status_code == 200
    )


def test_a_city_wide_report_is_for_the_inspectors_at_the_top(cast, people, api):
    report = report_about_acme(cast, enterprise=None, department=None)
    assert report.region == ""
    city_inspector = UserFactory(role="inspector", department=cast.city)
    assert api(city_inspector).get(detail_url(report)).status_code == 200
    assert api(people["ivan"]).get(detail_url(report)).status_code == 200
    assert api(people["gina"]).get(detail_url(report)).status_code == 404


# --- moving the status and opening a case -------------------------------------------------------


def test_the_status_moves_forward_only(cast, people, api):
    report = report_about_acme(cast)
    client = api(people["gina"])
    moved = client.post(f"{detail_url(report)}move/", {"status": "in_review"}, format="json")
    assert (moved.status_code, moved.json()["status"]) == (200, "in_review")
    back = client.post(f"{detail_url(report)}move/", {"status": "received"}, format="json")
    assert back.status_code == 409
    assert back.json()["code"] == "invalid_transition"
    bad = client.post(f"{detail_url(report)}move/", {"status": "lost"}, format="json")
    assert bad.status_code == 400
    receipt = report.receipt
    assert api(None).get(f"{URL}status/{receipt}/").json()["status"] == "in_review"


def test_an_inspector_opens_a_case_from_a_report(cast, people, api):
    report = report_about_acme(cast)
    response = api(people["gina"]).post(
        f"{detail_url(report)}open-case/", {"official": cast.hank.pk}, format="json"
    )
    assert response.status_code == 201
    case = AccountabilityCase.objects.get()
    assert (case.source, case.report, case.official, case.region) == (
        CaseSource.REPORT,
        report,
        cast.hank,
        "gulou",
    )
    assert REPORT_TEXT not in case.cause  # admins read cases; the report's words are not there
    told = Notification.objects.filter(kind="case_opened")
    assert {note.recipient.username for note in told} == {"ivan"}  # gina opened it herself
    assert all(REPORT_TEXT not in note.body for note in told)
    report.refresh_from_db()
    assert report.status == ReportStatus.IN_REVIEW


def test_a_closed_report_opens_no_case(cast, people, api):
    report = report_about_acme(cast)
    client = api(people["gina"])
    client.post(f"{detail_url(report)}move/", {"status": "closed"}, format="json")
    response = client.post(f"{detail_url(report)}open-case/", {}, format="json")
    assert response.status_code == 409
    assert not AccountabilityCase.objects.exists()
