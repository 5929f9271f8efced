"""The record endpoints: each record judged on save, findings in the answer, scoping, bad input.

hank (handler of the Gulou Roads Bureau) keeps records about acme (Gulou); globex (Minhou) is
outside his jurisdiction, and he records about it all the same. ivan inspects the whole portal,
irene only Minhou.
"""

import datetime as dt

import pytest
from django.utils import timezone

from compliance.models import (
    AccountabilityCase,
    AssetUse,
    CaseSource,
    Declaration,
    Finding,
    Gift,
    Interaction,
    Rule,
)
from notifications.models import Notification

pytestmark = pytest.mark.django_db

MODELS = {
    "interactions": Interaction,
    "gifts": Gift,
    "asset-uses": AssetUse,
    "declarations": Declaration,
}


def url(kind: str, pk: int | None = None) -> str:
    return f"/api/v1/{kind}/" + (f"{pk}/" if pk else "")


def yesterday() -> str:
    return (timezone.now() - dt.timedelta(days=1)).isoformat()


def clean_payload(kind: str, cast) -> dict:
    today = timezone.localdate().isoformat()
    return {
        "interactions": {"kind": "meeting", "occurred_at": yesterday(), "description": "Talks"},
        "gifts": {
            "direction": "received",
            "kind": "goods",
            "value_cny": "50.00",
            "received_at": yesterday(),
        },
        "asset-uses": {"asset": "equipment", "start": today, "end": today, "returned": True},
        "declarations": {"relation": "part_time_role", "remunerated": False},
    }[kind] | {"enterprise": cast.acme.pk}


@pytest.mark.parametrize("kind", list(MODELS))
def test_a_clean_record_is_stored_with_no_finding(api, cast, kind):
    response = api(cast.hank).post(url(kind), clean_payload(kind, cast), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["findings"] == []
    record = MODELS[kind].objects.get(pk=body["id"])
    assert (record.official, record.department, record.region) == (cast.hank, cast.roads, "gulou")


# Each negative item with a signal, and a record that breaks it.
VIOLATIONS = [
    ("N01", "gifts", {"direction": "received", "kind": "cash", "value_cny": "200"}),
    ("E01", "gifts", {"direction": "received", "kind": "gift_card", "refused": True}),
    (
        "N02",
        "interactions",
        {
            "kind": "meal",
            "payer": "enterprise",
            "amount_total": "300",
            "headcount": 3,
            "alcohol": True,
        },
    ),
    ("E02", "interactions", {"kind": "travel", "payer": "enterprise"}),
    ("N03", "interactions", {"kind": "entertainment", "payer": "enterprise"}),
    ("E04", "interactions", {"kind": "meeting", "venue_type": "private_club"}),
    ("N13", "interactions", {"kind": "celebration", "public": False}),
    ("N15", "interactions", {"kind": "site_visit"}),
    ("N05", "asset-uses", {"asset": "money"}),
    ("N06", "declarations", {"relation": "part_time_role", "remunerated": True}),
    ("N16", "declarations", {"relation": "relative_owner"}),
]


def _complete(kind: str, data: dict, cast) -> dict:
    base = {"enterprise": cast.acme.pk}
    if kind == "interactions":
        base["occurred_at"] = yesterday()
    if kind == "gifts":
        base |= {"value_cny": "100", "received_at": yesterday()}
    if kind == "asset-uses":
        base["start"] = timezone.localdate().isoformat()
    return base | data


@pytest.mark.parametrize(("code", "kind", "data"), VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
def test_each_negative_item_with_a_signal_gives_its_violation(api, cast, code, kind, data):
    response = api(cast.hank).post(url(kind), _complete(kind, data, cast), format="json")
    assert response.status_code == 201, response.json()
    found = {(f["rule"], f["severity"]) for f in response.json()["findings"]}
    assert (code, "violation") in found
    listed = {f["rule"]: f["list"] for f in response.json()["findings"]}
    assert listed[code] == "negative"
    stored = Finding.objects.get(rule_code=code, severity="violation")
    assert stored.rule_version.rule.code == code and stored.rule_version.number == 1
    assert (stored.official, stored.region) == (cast.hank, "gulou")


def test_a_violation_alerts_the_inspectors_of_the_region_only(api, cast):
    api(cast.hank).post(
        url("interactions"),
        _complete("interactions", {"kind": "celebration"}, cast),
        format="json",
    )
    told = set(
        Notification.objects.filter(kind="finding_violation").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"ivan"}  # irene inspects Minhou, not Gulou
    assert not AccountabilityCase.objects.exists()  # N13 does not open cases unless configured


def test_a_rule_configured_to_open_cases_opens_one_for_the_violation(api, cast):
    Rule.objects.filter(code="N13").update(opens_case=True)
    response = api(cast.hank).post(
        url("interactions"),
        _complete("interactions", {"kind": "celebration"}, cast),
        format="json",
    )
    finding = Finding.objects.get(rule_code="N13")
    case = AccountabilityCase.objects.get()
    assert (case.source, case.finding, case.official, case.region) == (
        CaseSource.FINDING,
        finding,
        cast.hank,
        "gulou",
    )
    assert response.json()["findings"][0]["rule"] == "N13"
    assert Notification.objects.filter(kind="case_opened", recipient=cast.ivan).exists()


def test_a_loan_declaration_says_the_rate_cannot_be_judged(api, cast):
    response = api(cast.hank).post(
        url("declarations"), {"enterprise": cast.acme.pk, "relation": "loan"}, format="json"
    )
    (finding,) = response.json()["findings"]
    assert (finding["rule"], finding["severity"]) == ("N07", "warning")


def test_the_message_is_in_the_callers_language(api, cast):
    cast.hank.language = "en"
    cast.hank.save()
    response = api(cast.hank).post(
        url("interactions"),
        _complete("interactions", {"kind": "celebration"}, cast),
        format="json",
    )
    assert response.json()["findings"][0]["message"] == (
        "Attended an enterprise's internal celebration."
    )


# --- bad input: 400 and nothing stored ----------------------------------------------------------

TOMORROW = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
BAD = [
    ("gifts", {"kind": "goods", "direction": "received", "value_cny": "-5"}, "value_cny"),
    ("gifts", {"kind": "goods", "direction": "received", "received_at": TOMORROW}, "received_at"),
    ("gifts", {"kind": "diamonds", "direction": "received"}, "kind"),
    ("interactions", {"kind": "karaoke"}, "kind"),
    ("interactions", {"kind": "meal", "amount_total": "-1"}, "amount_total"),
    ("interactions", {"kind": "meeting", "occurred_at": TOMORROW}, "occurred_at"),
    ("asset-uses", {"asset": "yacht"}, "asset"),
    ("asset-uses", {"asset": "equipment", "end": "2000-01-01"}, "end"),
    ("declarations", {"relation": "cousin"}, "relation"),
    ("declarations", {"relation": "loan", "enterprise": 999999}, "enterprise"),
]


@pytest.mark.parametrize(("kind", "data", "field"), BAD, ids=[f"{b[0]}-{b[2]}" for b in BAD])
def test_bad_input_is_a_400_and_stores_nothing(api, cast, kind, data, field):
    response = api(cast.hank).post(url(kind), _complete(kind, data, cast), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not MODELS[kind].objects.exists()
    assert not Finding.objects.exists()


@pytest.mark.parametrize("kind", list(MODELS))
def test_another_regions_enterprise_is_recorded_too(api, cast, kind):
    """API.md: records name any enterprise of the portal, whatever the official's jurisdiction."""
    payload = clean_payload(kind, cast) | {"enterprise": cast.globex.pk}
    response = api(cast.hank).post(url(kind), payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 201, response.json()
    record = MODELS[kind].objects.get()
    assert (record.enterprise, record.region) == (cast.globex, "minhou")


@pytest.mark.parametrize("who", ["alice", "ivan", "ada"])
@pytest.mark.parametrize("kind", list(MODELS))
def test_only_officials_who_serve_enterprises_keep_records(api, cast, who, kind):
    response = api(cast[who]).post(url(kind), clean_payload(kind, cast), format="json")
    assert response.status_code == 403
    assert not MODELS[kind].objects.exists()


def test_anonymous_is_a_401(api, cast):
    assert api(None).post(url("gifts"), {}, format="json").status_code == 401
    assert api(None).get(url("gifts")).status_code == 401


# --- reading: officials their own, inspectors their region --------------------------------------


@pytest.mark.parametrize(
    ("who", "sees"),
    [("hank", True), ("hilda", False), ("liam", False), ("ivan", True), ("irene", False)],
)
def test_records_are_read_by_their_official_and_the_regions_inspectors(api, cast, who, sees):
    created = api(cast.hank).post(
        url("interactions"), clean_payload("interactions", cast), format="json"
    )
    pk = created.json()["id"]
    listed = api(cast[who]).get(url("interactions")).json()
    assert (pk in [row["id"] for row in listed["results"]]) is sees
    assert api(cast[who]).get(url("interactions", pk)).status_code == (200 if sees else 404)


def test_an_entrepreneur_may_not_read_officials_records(api, cast):
    assert api(cast.alice).get(url("interactions")).status_code == 403


def test_a_site_visit_inside_a_filed_window_is_not_n15(api, cast):
    start = timezone.now() + dt.timedelta(hours=1)
    filed = api(cast.hank).post(
        "/api/v1/visit-filings/",
        {
            "enterprise": cast.acme.pk,
            "planned_start": start.isoformat(),
            "planned_end": (start + dt.timedelta(hours=2)).isoformat(),
            "purpose": "service",
        },
        format="json",
    )
    assert filed.status_code == 201
    import time_machine

    with time_machine.travel(start + dt.timedelta(minutes=90)):
        response = api(cast.hank).post(
            url("interactions"),
            {
                "enterprise": cast.acme.pk,
                "kind": "site_visit",
                "occurred_at": (start + dt.timedelta(minutes=30)).isoformat(),
            },
            format="json",
        )
    assert response.status_code == 201
    assert response.json()["findings"] == []
    assert response.json()["visit_filing"] == filed.json()["id"]


# --- the pages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(MODELS))
def test_each_record_form_renders_for_an_official(client, cast, kind):
    client.force_login(cast.hank)
    response = client.get(f"/records/{kind}/new/")
    assert response.status_code == 200
    assert "Acme Valves" in response.content.decode()  # the enterprises he may record


def test_the_page_shows_the_findings_right_after_saving(client, cast):
    client.force_login(cast.hank)
    response = client.post(
        "/records/interactions/new/",
        {
            "enterprise": cast.acme.pk,
            "kind": "celebration",
            "occurred_at": timezone.localtime(timezone.now() - dt.timedelta(hours=3)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
        },
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "N13" in page and 'class="badge late"' in page
    listing = client.get("/records/?kind=interactions").content.decode()
    assert "N13" in listing


def test_bad_input_on_the_page_is_shown_next_to_the_field_and_stores_nothing(client, cast):
    client.force_login(cast.hank)
    response = client.post(
        "/records/gifts/new/",
        {
            "enterprise": cast.globex.pk,
            "direction": "received",
            "kind": "goods",
            "value_cny": "-3",
            "received_at": "2026-01-01T10:00",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="err-id_value_cny"' in page
    assert not Gift.objects.exists()
    response = client.post(
        "/records/gifts/new/",
        {
            "enterprise": 999999,  # no such enterprise (another region's is fine: API.md)
            "direction": "received",
            "kind": "goods",
            "value_cny": "3",
            "received_at": "2026-01-01T10:00",
        },
    )
    assert response.status_code == 400
    assert 'id="err-id_enterprise"' in response.content.decode()
    assert not Gift.objects.exists()


def test_record_pages_are_scoped(client, cast):
    judged = api_record(cast)
    client.force_login(cast.alice)
    assert client.get("/records/interactions/new/").status_code == 403
    assert client.get("/records/").status_code == 403
    client.force_login(cast.irene)
    assert client.get(f"/records/interactions/{judged.record.pk}/").status_code == 404
    client.force_login(cast.ivan)
    assert client.get(f"/records/interactions/{judged.record.pk}/").status_code == 200
    assert client.get("/records/nonsense/new/").status_code == 404


def api_record(cast):
    from compliance.services import record_interaction

    return record_interaction(
        by=cast.hank,
        enterprise=cast.acme,
        kind="meeting",
        occurred_at=timezone.now() - dt.timedelta(hours=1),
    )
