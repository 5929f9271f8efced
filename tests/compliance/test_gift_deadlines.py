"""Gift deadlines: a gift kept unregistered turns into the N01 violation once its deadline passes
(the hourly judging), and the official records a registration or surrender made later.

hank (handler, Gulou) records gifts from acme (Gulou); ivan inspects the whole portal, irene
only Minhou. The seeded thresholds: register over 100 CNY, surrender over 200, within 30 days.
Time is moved with time_machine, never slept.
"""

import datetime as dt

import pytest
from django.utils import timezone

from compliance.models import AccountabilityCase, Finding, Gift, Rule
from compliance.services import judge_lapsed_gifts
from compliance.tasks import judge_gift_deadlines
from notifications.models import Notification
from portal.celery import app
from tests.conftest import at

pytestmark = pytest.mark.django_db

RECEIVED = at("2026-03-02 10:00")
DEADLINE = RECEIVED + dt.timedelta(days=30)


def outcome_url(pk: int) -> str:
    return f"/api/v1/gifts/{pk}/outcome/"


@pytest.fixture
def clock(time_machine):
    time_machine.move_to(RECEIVED + dt.timedelta(hours=1), tick=False)
    return time_machine


def keep_gift(api, cast, value="150", kind="goods") -> dict:
    response = api(cast.hank).post(
        "/api/v1/gifts/",
        {
            "enterprise": cast.acme.pk,
            "direction": "received",
            "kind": kind,
            "value_cny": value,
            "received_at": RECEIVED.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def found(gift_id: int) -> list[tuple[str, str, str]]:
    return sorted(
        Finding.objects.filter(gift_id=gift_id).values_list("rule_code", "severity", "message_id")
    )


def violations(gift_id: int) -> list[str]:
    return sorted(
        Finding.objects.filter(gift_id=gift_id, severity="violation").values_list(
            "message_id", flat=True
        )
    )


def judge_now() -> int:
    return judge_lapsed_gifts(now=timezone.now())


# --- the periodic judging ------------------------------------------------------------------------


def test_a_gift_over_the_threshold_saved_unregistered_is_info(api, cast, clock):
    body = keep_gift(api, cast)
    assert [(f["rule"], f["severity"]) for f in body["findings"]] == [("N01", "info")]
    assert found(body["id"]) == [("N01", "info", "n01.register_by")]


def test_after_the_deadline_the_periodic_judging_finds_exactly_one_violation(api, cast, clock):
    gift = keep_gift(api, cast)
    clock.move_to(DEADLINE - dt.timedelta(minutes=1), tick=False)
    assert judge_now() == 0  # still within the deadline
    clock.move_to(DEADLINE + dt.timedelta(hours=1), tick=False)

    assert judge_now() == 1
    assert judge_now() == 0  # run twice: still one
    assert violations(gift["id"]) == ["n01.not_registered"]
    finding = Finding.objects.get(gift_id=gift["id"], severity="violation")
    assert (finding.rule_code, finding.official, finding.region) == ("N01", cast.hank, "gulou")
    assert finding.rule_version.rule.code == "N01"
    assert finding.created_at == timezone.now()
    told = set(
        Notification.objects.filter(kind="finding_violation").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"ivan"}  # irene inspects Minhou, not Gulou
    assert not AccountabilityCase.objects.exists()  # N01 opens no case unless configured


def test_the_task_runs_the_judging_and_beat_schedules_it_hourly(api, cast, clock):
    gift = keep_gift(api, cast)
    clock.move_to(DEADLINE + dt.timedelta(days=1), tick=False)
    assert judge_gift_deadlines.delay().get() == "1 gift deadline findings stored."
    assert judge_gift_deadlines.delay().get() == "0 gift deadline findings stored."
    assert violations(gift["id"]) == ["n01.not_registered"]
    entries = [
        entry
        for entry in app.conf.beat_schedule.values()
        if entry["task"] == "compliance.tasks.judge_gift_deadlines"
    ]
    assert len(entries) == 1 and entries[0]["schedule"] == 3600.0


def test_a_lapsed_surrender_is_its_own_cause(api, cast, clock):
    gift = keep_gift(api, cast, value="250")  # over both thresholds; E01 at once
    assert violations(gift["id"]) == ["e01.gift"]
    clock.shift(dt.timedelta(days=5))
    response = api(cast.hank).post(
        outcome_url(gift["id"]), {"registered_at": timezone.now().isoformat()}, format="json"
    )
    assert response.status_code == 200, response.json()
    clock.move_to(DEADLINE + dt.timedelta(hours=1), tick=False)
    assert judge_now() == 1
    assert judge_now() == 0
    assert violations(gift["id"]) == ["e01.gift", "n01.not_surrendered"]


def test_a_violation_configured_to_open_cases_opens_one(api, cast, clock):
    Rule.objects.filter(code="N01").update(opens_case=True)
    gift = keep_gift(api, cast)
    clock.move_to(DEADLINE + dt.timedelta(hours=1), tick=False)
    judge_now()
    judge_now()
    case = AccountabilityCase.objects.get()
    assert case.finding == Finding.objects.get(gift_id=gift["id"], severity="violation")
    assert Notification.objects.filter(kind="case_opened", recipient=cast.ivan).exists()


@pytest.mark.parametrize(
    "changes",
    [{"refused": True}, {"direction": "given"}, {"value_cny": "100"}, {"kind": "souvenir"}],
    ids=["refused", "given", "at-the-threshold", "souvenir"],
)
def test_gifts_with_no_deadline_to_miss_are_left_alone(api, cast, clock, changes):
    gift = keep_gift(api, cast)
    Gift.objects.filter(pk=gift["id"]).update(**changes)
    clock.move_to(DEADLINE + dt.timedelta(days=3), tick=False)
    assert judge_now() == 0
    assert violations(gift["id"]) == []


# --- recording a registration or surrender later -------------------------------------------------


def test_registering_within_the_deadline_means_no_violation_ever(api, cast, clock):
    gift = keep_gift(api, cast)
    clock.shift(dt.timedelta(days=10))
    registered = timezone.now() - dt.timedelta(hours=2)
    response = api(cast.hank).post(
        outcome_url(gift["id"]), {"registered_at": registered.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["id"] == gift["id"] and body["registered_at"] is not None
    assert [(f["rule"], f["severity"]) for f in body["findings"]] == [("N01", "info")]
    assert Gift.objects.get(pk=gift["id"]).registered_at == registered

    clock.move_to(DEADLINE + dt.timedelta(days=40), tick=False)
    assert judge_now() == 0
    assert violations(gift["id"]) == []
    assert not Notification.objects.filter(kind="finding_violation").exists()


def test_registering_late_is_the_violation_and_is_not_found_twice(api, cast, clock):
    gift = keep_gift(api, cast)
    clock.move_to(DEADLINE + dt.timedelta(days=4), tick=False)
    response = api(cast.hank).post(
        outcome_url(gift["id"]), {"registered_at": timezone.now().isoformat()}, format="json"
    )
    assert response.status_code == 200, response.json()
    severities = {(f["rule"], f["severity"]) for f in response.json()["findings"]}
    assert severities == {("N01", "info"), ("N01", "violation")}
    assert violations(gift["id"]) == ["n01.not_registered"]
    assert Notification.objects.filter(kind="finding_violation", recipient=cast.ivan).exists()
    assert judge_now() == 0
    assert violations(gift["id"]) == ["n01.not_registered"]


def test_registering_after_the_periodic_violation_adds_no_second_one(api, cast, clock):
    gift = keep_gift(api, cast)
    clock.move_to(DEADLINE + dt.timedelta(hours=2), tick=False)
    assert judge_now() == 1
    clock.shift(dt.timedelta(days=1))
    response = api(cast.hank).post(
        outcome_url(gift["id"]), {"registered_at": timezone.now().isoformat()}, format="json"
    )
    assert response.status_code == 200
    assert violations(gift["id"]) == ["n01.not_registered"]
    assert len(response.json()["findings"]) == 2  # the info and the one violation


# --- bad input: the status, and nothing changed --------------------------------------------------


def _snapshot(gift_id: int):
    gift = Gift.objects.get(pk=gift_id)
    return gift.registered_at, gift.surrendered_at, found(gift_id), Notification.objects.count()


def _at(now):
    return {"registered_at": now.isoformat()}


BAD = {
    "future": ("hank", lambda now: _at(now + dt.timedelta(days=1)), 400, "registered_at"),
    "before-received": (
        "hank",
        lambda now: {"surrendered_at": (RECEIVED - dt.timedelta(days=1)).isoformat()},
        400,
        "surrendered_at",
    ),
    "garbage": ("hank", lambda now: {"registered_at": "not a time"}, 400, "registered_at"),
    "empty": ("hank", lambda now: {}, 400, "non_field_errors"),
    "outsider-handler": ("hugo", _at, 404, "detail"),
    "outsider-inspector": ("irene", _at, 404, "detail"),
    "outsider-entrepreneur": ("mallory", _at, 403, "detail"),
    "entrepreneur": ("alice", _at, 403, "detail"),
    "inspector-who-reads-it": ("ivan", _at, 403, "detail"),
}


@pytest.mark.parametrize(("who", "payload", "status", "field"), BAD.values(), ids=BAD.keys())
def test_bad_outcomes_change_nothing(api, cast, clock, who, payload, status, field):
    gift = keep_gift(api, cast)
    clock.shift(dt.timedelta(days=2))
    before = _snapshot(gift["id"])
    response = api(cast[who]).post(outcome_url(gift["id"]), payload(timezone.now()), format="json")
    assert response.status_code == status, response.json()
    assert field in response.json()
    assert _snapshot(gift["id"]) == before


def test_a_time_already_recorded_is_not_changed(api, cast, clock):
    gift = keep_gift(api, cast)
    clock.shift(dt.timedelta(days=2))
    first = timezone.now()
    assert (
        api(cast.hank)
        .post(outcome_url(gift["id"]), {"registered_at": first.isoformat()}, format="json")
        .status_code
        == 200
    )
    before = _snapshot(gift["id"])
    clock.shift(dt.timedelta(days=1))
    response = api(cast.hank).post(
        outcome_url(gift["id"]),
        {"registered_at": timezone.now().isoformat(), "surrendered_at": first.isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert "registered_at" in response.json()
    assert _snapshot(gift["id"]) == before  # the surrender, valid on its own, is not kept either
    assert Gift.objects.get(pk=gift["id"]).registered_at == first


def test_an_unknown_gift_is_a_404_and_anonymous_a_401(api, cast, clock):
    assert api(cast.hank).post(outcome_url(999999), {}, format="json").status_code == 404
    gift = keep_gift(api, cast)
    assert api(None).post(outcome_url(gift["id"]), {}, format="json").status_code == 401


# --- the gift's page ---------------------------------------------------------------------------


def test_the_gift_page_offers_its_official_the_form(client, api, cast, clock):
    gift = keep_gift(api, cast)
    page = f"/records/gifts/{gift['id']}/"
    form_url = f"/records/gifts/{gift['id']}/outcome/"
    client.force_login(cast.ivan)
    assert form_url not in client.get(page).content.decode()  # he reads it, may not update it
    client.force_login(cast.hank)
    assert form_url in client.get(page).content.decode()

    clock.shift(dt.timedelta(days=3))
    client.force_login(cast.hank)  # the session of three days ago has expired
    later = timezone.localtime(timezone.now() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(form_url, {"registered_at": later, "surrendered_at": ""})
    assert response.status_code == 400
    assert 'id="err-id_registered_at"' in response.content.decode()
    assert Gift.objects.get(pk=gift["id"]).registered_at is None

    now = timezone.localtime(timezone.now()).strftime("%Y-%m-%dT%H:%M")
    response = client.post(form_url, {"registered_at": now, "surrendered_at": ""}, follow=True)
    assert response.status_code == 200
    assert Gift.objects.get(pk=gift["id"]).registered_at is not None
    assert form_url in response.content.decode()  # the surrender time is still open
    assert 'name="registered_at"' not in response.content.decode()
