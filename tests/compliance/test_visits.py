"""Visit filings (入企报备): quiet days and the whitelist refuse, urgent exempt reasons let through
(recorded for inspectors), overlapping filings form joint visits, and who sees what.

Time is fixed at Monday 2026-11-16 09:00 in Shanghai; acme keeps Wednesdays quiet.
"""

import datetime as dt

import pytest
import time_machine

from compliance.models import VisitFiling
from compliance.visits import days_touched, group_joint_visits
from tests.conftest import at

pytestmark = pytest.mark.django_db

NOW = at("2026-11-16 09:00")  # a Monday
URL = "/api/v1/visit-filings/"


@pytest.fixture(autouse=True)
def _monday():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def acme(cast):
    cast.acme.quiet_days = [3]  # Wednesdays
    cast.acme.save()
    return cast.acme


def filing(enterprise, start: str, end: str, purpose="service", **extra) -> dict:
    return {
        "enterprise": enterprise.pk,
        "planned_start": at(start).isoformat(),
        "planned_end": at(end).isoformat(),
        "purpose": purpose,
        **extra,
    }


def test_a_visit_on_an_ordinary_day_is_filed(api, cast, acme):
    response = api(cast.hank).post(URL, filing(acme, "2026-11-17 09:00", "2026-11-17 11:00"))
    assert response.status_code == 201
    assert response.json()["joint_with"] == []
    stored = VisitFiling.objects.get()
    assert (stored.official, stored.region, stored.exemption) == (cast.hank, "gulou", "")


def test_a_visit_on_a_quiet_day_is_refused_with_the_reason(api, cast, acme):
    response = api(cast.hank).post(URL, filing(acme, "2026-11-18 09:00", "2026-11-18 11:00"))
    assert response.status_code == 409
    assert response.json()["code"] == "quiet_day"
    assert "2026-11-18" in response.json()["detail"]
    assert not VisitFiling.objects.exists()


def test_every_day_the_window_touches_counts_in_shanghai_time(api, cast, acme):
    # Tuesday 23:00 to Wednesday 01:00 in Shanghai: it touches the quiet Wednesday.
    response = api(cast.hank).post(URL, filing(acme, "2026-11-17 23:00", "2026-11-18 01:00"))
    assert response.json()["code"] == "quiet_day"
    # Thursday 07:00 in Shanghai is still Wednesday in UTC: not a quiet day here.
    response = api(cast.hank).post(URL, filing(acme, "2026-11-19 07:00", "2026-11-19 08:00"))
    assert response.status_code == 201


def test_days_touched_end_exclusive():
    assert days_touched(at("2026-11-17 22:00"), at("2026-11-18 00:00")) == [dt.date(2026, 11, 17)]


@pytest.mark.parametrize("purpose", ["inspection", "enforcement"])
def test_a_whitelisted_enterprises_inspection_is_refused(api, cast, acme, purpose):
    acme.whitelisted = True
    acme.save()
    response = api(cast.hank).post(
        URL, filing(acme, "2026-11-17 09:00", "2026-11-17 11:00", purpose=purpose)
    )
    assert response.status_code == 409
    assert response.json()["code"] == "whitelisted"
    assert not VisitFiling.objects.exists()


def test_a_whitelisted_enterprise_may_still_be_served(api, cast, acme):
    acme.whitelisted = True
    acme.save()
    response = api(cast.hank).post(
        URL, filing(acme, "2026-11-17 09:00", "2026-11-17 11:00", purpose="service")
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("whitelisted", "start", "end", "exemption"),
    [
        (False, "2026-11-18 09:00", "2026-11-18 11:00", "quiet_day"),
        (True, "2026-11-17 09:00", "2026-11-17 11:00", "whitelisted"),
    ],
)
def test_urgent_with_an_exempt_reason_goes_ahead_and_the_exemption_is_recorded(
    api, cast, acme, whitelisted, start, end, exemption
):
    acme.whitelisted = whitelisted
    acme.save()
    payload = filing(acme, start, end, purpose="inspection", urgent=True, reason="safety")
    response = api(cast.hank).post(URL, payload)
    assert response.status_code == 201
    assert response.json()["exemption"] == exemption
    # The inspectors of the region see it, exemption and reason included.
    seen = api(cast.ivan).get(URL).json()["results"]
    assert [(row["exemption"], row["reason"]) for row in seen] == [(exemption, "safety")]
    assert api(cast.irene).get(URL).json()["count"] == 0


def test_urgent_without_a_reason_is_a_400(api, cast, acme):
    payload = filing(acme, "2026-11-18 09:00", "2026-11-18 11:00", urgent=True)
    response = api(cast.hank).post(URL, payload)
    assert response.status_code == 400 and "reason" in response.json()
    assert not VisitFiling.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"planned_end": at("2026-11-17 08:00").isoformat()}, "planned_end"),
        ({"planned_end": at("2026-12-30 08:00").isoformat()}, "planned_end"),
        ({"purpose": "tea"}, "purpose"),
        ({"reason": "boredom", "urgent": True}, "reason"),
    ],
)
def test_bad_filings_are_a_400(api, cast, acme, change, field):
    payload = filing(acme, "2026-11-17 09:00", "2026-11-17 11:00") | change
    response = api(cast.hank).post(URL, payload)
    assert response.status_code == 400 and field in response.json()


def test_a_past_visit_cannot_be_filed(api, cast, acme):
    response = api(cast.hank).post(URL, filing(acme, "2026-11-13 09:00", "2026-11-13 11:00"))
    assert response.status_code == 400


def test_another_regions_enterprise_cannot_be_filed_for(api, cast, acme):
    response = api(cast.hank).post(URL, filing(cast.globex, "2026-11-17 09:00", "2026-11-17 11:00"))
    assert response.status_code == 400 and "enterprise" in response.json()


@pytest.mark.parametrize("who", ["alice", "ivan"])
def test_only_officials_who_serve_enterprises_file_visits(api, cast, acme, who):
    response = api(cast[who]).post(URL, filing(acme, "2026-11-17 09:00", "2026-11-17 11:00"))
    assert response.status_code == 403


# --- joint visits --------------------------------------------------------------------------------


def test_overlapping_filings_for_one_enterprise_are_offered_as_a_joint_visit(api, cast, acme):
    first = api(cast.hank).post(URL, filing(acme, "2026-11-17 09:00", "2026-11-17 11:00"))
    second = api(cast.hugo).post(URL, filing(acme, "2026-11-17 10:30", "2026-11-17 12:00"))
    apart = api(cast.hilda).post(URL, filing(acme, "2026-11-17 14:00", "2026-11-17 15:00"))
    assert second.json()["joint_with"] == [first.json()["id"]]
    assert apart.json()["joint_with"] == []
    # A cancelled filing is nobody's joint visit.
    VisitFiling.objects.filter(pk=first.json()["id"]).update(cancelled_at=NOW)
    third = api(cast.hank).post(URL, filing(acme, "2026-11-17 10:00", "2026-11-17 10:45"))
    assert third.json()["joint_with"] == [second.json()["id"]]


def test_grouping_chains_overlaps_per_enterprise(cast):
    def row(pk, enterprise, start, end):
        return VisitFiling(
            pk=pk,
            enterprise=enterprise,
            planned_start=at(start),
            planned_end=at(end),
            cancelled_at=None,
        )

    rows = [
        row(1, cast.acme, "2026-11-17 09:00", "2026-11-17 10:00"),
        row(2, cast.acme, "2026-11-17 09:30", "2026-11-17 11:00"),
        row(3, cast.acme, "2026-11-17 10:30", "2026-11-17 12:00"),  # overlaps 2, not 1
        row(4, cast.globex, "2026-11-17 09:30", "2026-11-17 10:30"),  # another enterprise
        row(5, cast.acme, "2026-11-17 12:00", "2026-11-17 13:00"),  # touches, no overlap
    ]
    groups = group_joint_visits(rows)
    assert [[f.pk for f in g.filings] for g in groups] == [[1, 2, 3], [4], [5]]


def test_the_liaison_sees_the_joint_visit_and_the_enterprise_sees_who_is_coming(client, cast, acme):
    from compliance.visits import file_visit

    file_visit(
        by=cast.hank,
        enterprise=acme,
        planned_start=at("2026-11-17 09:00"),
        planned_end=at("2026-11-17 11:00"),
        purpose="service",
        note="Road permit questions",
    )
    file_visit(
        by=cast.hugo,
        enterprise=acme,
        planned_start=at("2026-11-17 10:00"),
        planned_end=at("2026-11-17 12:00"),
        purpose="research",
    )
    client.force_login(cast.liam)
    page = client.get("/visits/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Joint visit of 2 filings" in page
    assert "Hank" in page and "Hugo" in page
    client.force_login(cast.alice)
    page = client.get("/visits/").content.decode()
    assert "Hank" in page and "Road permit questions" in page
    client.force_login(cast.mallory)
    assert "Hank" not in client.get("/visits/").content.decode()


def test_the_filing_page_shows_a_refusal_with_its_reason(client, cast, acme):
    client.force_login(cast.hank)
    response = client.post(
        "/visits/new/",
        {
            "enterprise": acme.pk,
            "planned_start": "2026-11-18T09:00",
            "planned_end": "2026-11-18T11:00",
            "purpose": "inspection",
        },
    )
    assert response.status_code == 409
    assert "2026-11-18" in response.content.decode()
    assert not VisitFiling.objects.exists()


def test_the_filer_or_the_liaison_may_cancel(client, cast, acme):
    from compliance.visits import file_visit

    filed = file_visit(
        by=cast.hank,
        enterprise=acme,
        planned_start=at("2026-11-17 09:00"),
        planned_end=at("2026-11-17 11:00"),
        purpose="service",
    )
    client.force_login(cast.hilda)
    assert client.post(f"/visits/{filed.filing.pk}/cancel/").status_code == 404
    client.force_login(cast.liam)
    assert client.post(f"/visits/{filed.filing.pk}/cancel/").status_code == 302
    assert VisitFiling.objects.get().cancelled_at is not None
