"""The access log: each read of a confidential report or a case file leaves a row (reader,
target, id, through what), and only administrators read the log, in a read-only admin."""

import pytest
from django.urls import reverse

from compliance.models import AccessLog
from tests.compliance.inspection_helpers import breach_case, page_client, report_about_acme

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_throttles")]


def rows() -> list[tuple[str, str, int, str]]:
    return list(
        AccessLog.objects.order_by("id").values_list(
            "reader__username", "target", "object_id", "via"
        )
    )


@pytest.fixture
def staff_gina(people):
    people["gina"].is_staff = True
    people["gina"].save()
    return people["gina"]


@pytest.mark.parametrize(
    ("via", "read"),
    [
        ("api", lambda api, client, pk: api.get(f"/api/v1/reports/confidential/{pk}/")),
        ("page", lambda api, client, pk: client.get(reverse("inspector:report", args=[pk]))),
        (
            "admin",
            lambda api, client, pk: client.get(
                reverse("admin:compliance_confidentialreport_change", args=[pk])
            ),
        ),
    ],
)
def test_reading_a_report_is_logged(cast, api, staff_gina, via, read):
    report = report_about_acme(cast)
    assert not AccessLog.objects.exists()  # filing is no read
    response = read(api(staff_gina), page_client(staff_gina), report.pk)
    assert response.status_code == 200
    assert rows() == [("gina", "report", report.pk, via)]


@pytest.mark.parametrize(
    ("via", "read"),
    [
        ("api", lambda api, client, pk: api.get(f"/api/v1/accountability-cases/{pk}/")),
        ("page", lambda api, client, pk: client.get(reverse("inspector:case", args=[pk]))),
        (
            "admin",
            lambda api, client, pk: client.get(
                reverse("admin:compliance_accountabilitycase_change", args=[pk])
            ),
        ),
    ],
)
def test_reading_a_case_file_is_logged(cast, api, staff_gina, via, read):
    case = breach_case(cast)
    response = read(api(staff_gina), page_client(staff_gina), case.pk)
    assert response.status_code == 200
    assert rows() == [("gina", "case", case.pk, via)]


def test_the_api_list_logs_each_report_it_returns(cast, api, people):
    first, second = report_about_acme(cast), report_about_acme(cast)
    api(people["gina"]).get("/api/v1/reports/confidential/")
    assert sorted(rows()) == [
        ("gina", "report", first.pk, "api"),
        ("gina", "report", second.pk, "api"),
    ]


def test_a_refused_read_logs_nothing(cast, api, people):
    report, case = report_about_acme(cast), breach_case(cast)
    api(people["irene"]).get(f"/api/v1/reports/confidential/{report.pk}/")
    api(people["irene"]).get(f"/api/v1/accountability-cases/{case.pk}/")
    api(people["hank"]).get(f"/api/v1/reports/confidential/{report.pk}/")
    assert rows() == []


def test_administrators_read_the_log_in_the_admin_and_cannot_change_it(cast, api, people):
    report = report_about_acme(cast)
    api(people["gina"]).get(f"/api/v1/reports/confidential/{report.pk}/")
    entry = AccessLog.objects.get()
    client = page_client(people["root"])
    changelist = client.get(reverse("admin:compliance_accesslog_changelist"))
    assert changelist.status_code == 200
    assert "Gina" in changelist.content.decode()
    change = reverse("admin:compliance_accesslog_change", args=[entry.pk])
    client.post(change, {"via": "forged"})
    assert (
        client.post(
            reverse("admin:compliance_accesslog_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    entry.refresh_from_db()
    assert entry.via == "api"


def test_inspectors_do_not_read_the_log(people, staff_gina):
    client = page_client(staff_gina)
    assert client.get(reverse("admin:compliance_accesslog_changelist")).status_code == 403
