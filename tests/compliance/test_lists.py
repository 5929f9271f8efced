"""The lists as data: seeded on migrate, versioned, retirable, aliased; thresholds; the public page
and the rules API."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from compliance.lists import retire_rule, revise_rule, set_threshold
from compliance.models import Finding, ListAlias, Rule, RuleVersion, Threshold
from compliance.services import load_thresholds, record_interaction

pytestmark = pytest.mark.django_db

NAMED_LISTS = {"八个不准", "七项规范", "七个准许", "六要六不准", "八个不得"}


def celebration(cast):
    return record_interaction(
        by=cast.hank,
        enterprise=cast.acme,
        kind="celebration",
        occurred_at=timezone.now() - dt.timedelta(hours=1),
    )


def test_the_33_items_are_seeded_as_version_1():
    rules = Rule.objects.all()
    assert rules.count() == 33
    assert {r.code[0] for r in rules} == {"P", "N", "E"}
    assert rules.filter(list="positive").count() == 11
    assert rules.filter(party="enterprise").count() == 6
    assert set(RuleVersion.objects.values_list("number", flat=True)) == {1}
    n13 = RuleVersion.objects.get(rule__code="N13")
    assert (n13.category_zh, n13.category_en) == ("庆典活动", "Celebrations")
    assert "internal celebrations" in n13.text_en and n13.signal


def test_the_named_lists_map_onto_codes():
    assert set(ListAlias.objects.values_list("name", flat=True)) == NAMED_LISTS
    eight = ListAlias.objects.filter(name="八个不准").order_by("position")
    assert [a.position for a in eight] == list(range(1, 9))


def test_thresholds_carry_the_defaults_and_the_meal_cap_is_unset():
    limits = load_thresholds()
    assert limits.meal_per_capita_cap is None
    assert (limits.gift_register_min, limits.gift_surrender_min) == (100, 200)
    assert (limits.souvenir_cap, limits.transfer_threshold) == (600, 2)


def test_editing_an_item_adds_a_version_and_findings_keep_theirs(cast):
    rule = Rule.objects.get(code="N13")
    before = celebration(cast).findings[0]
    version = revise_rule(rule, by=cast.ada, text_en="Do not attend internal celebrations.")
    assert version.number == 2
    assert RuleVersion.objects.get(rule=rule, number=1).text_en.startswith("Generally")
    after = celebration(cast).findings[0]
    before.refresh_from_db()
    assert (before.rule_version.number, after.rule_version.number) == (1, 2)
    assert revise_rule(rule, by=cast.ada, text_en="Do not attend internal celebrations.") is None


def test_a_retired_item_is_not_judged_or_listed(api, cast):
    retire_rule(Rule.objects.get(code="N13"), by=cast.ada)
    assert celebration(cast).findings == []
    codes = [row["code"] for row in api(None).get("/api/v1/rules/").json()["results"]]
    assert "N13" not in codes and len(codes) == 32


def test_the_rules_api_lists_active_items_in_the_readers_language(api):
    response = api(None).get("/api/v1/rules/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    rows = {row["code"]: row for row in response.json()["results"]}
    assert len(rows) == 33
    assert rows["N01"]["list"] == "negative" and rows["E01"]["party"] == "enterprise"
    assert rows["N01"]["category"] == "Gifts and cash"
    assert rows["N01"]["text_zh"].startswith("不得索取")
    chinese = api(None).get("/api/v1/rules/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert chinese["results"][0]["category"] == rows[chinese["results"][0]["code"]]["category_zh"]


def test_an_unset_threshold_says_so_and_a_set_one_judges(api, cast):
    payload = {
        "enterprise": cast.acme.pk,
        "kind": "meal",
        "occurred_at": (timezone.now() - dt.timedelta(hours=2)).isoformat(),
        "payer": "enterprise",
        "amount_total": "200",
        "headcount": 2,
        "approval_ref": "JD-2026-3",
    }
    cast.hank.language = "en"
    cast.hank.save()
    findings = api(cast.hank).post("/api/v1/interactions/", payload, format="json").json()
    unset = [f for f in findings["findings"] if f["rule"] == "P02"]
    assert len(unset) == 1 and "not set" in unset[0]["message"]
    set_threshold("meal_per_capita_cap", Decimal("120"), by=cast.ada)
    findings = api(cast.hank).post("/api/v1/interactions/", payload, format="json").json()
    assert findings["findings"] == []
    payload["amount_total"] = "500"
    findings = api(cast.hank).post("/api/v1/interactions/", payload, format="json").json()
    assert {f["rule"] for f in findings["findings"]} == {"P02", "N02", "E02"}


@pytest.mark.parametrize("value", ["-1", "abc"])
def test_a_threshold_is_a_non_negative_number(cast, value):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        set_threshold("souvenir_cap", value, by=cast.ada)
    assert Threshold.objects.get(key="souvenir_cap").value == 600


def test_the_admin_edit_of_an_item_saves_a_new_version(client, cast):
    rule = Rule.objects.get(code="P06")
    version = RuleVersion.objects.get(rule=rule)
    cast.ada.is_superuser = True  # the portal's administrator, with the admin's permissions
    cast.ada.save()
    client.force_login(cast.ada)
    response = client.post(
        f"/admin/compliance/rule/{rule.pk}/change/",
        {
            "list": rule.list,
            "party": rule.party,
            "opens_case": "on",
            "category_zh": version.category_zh,
            "category_en": version.category_en,
            "text_zh": version.text_zh,
            "text_en": "May invite enterprise staff to the office.",
            "signal": version.signal,
            "versions-TOTAL_FORMS": "1",
            "versions-INITIAL_FORMS": "1",
            "versions-MIN_NUM_FORMS": "0",
            "versions-MAX_NUM_FORMS": "1000",
            "versions-0-id": version.pk,
            "versions-0-rule": rule.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(rule.versions.order_by("number").values_list("number", "text_en")) == [
        (1, version.text_en),
        (2, "May invite enterprise staff to the office."),
    ]
    assert Rule.objects.get(pk=rule.pk).opens_case


def test_versions_cannot_be_edited_in_the_admin(client, cast):
    version = RuleVersion.objects.first()
    cast.ada.is_superuser = True
    cast.ada.save()
    client.force_login(cast.ada)
    response = client.post(
        f"/admin/compliance/ruleversion/{version.pk}/change/", {"text_en": "changed"}
    )
    assert response.status_code == 403
    assert RuleVersion.objects.get(pk=version.pk).text_en != "changed"


@pytest.mark.parametrize(
    ("language", "shown", "other"),
    [("en", "Gifts and cash", "礼品礼金"), ("zh-hans", "礼品礼金", "Gifts and cash")],
)
def test_the_public_page_shows_the_lists_in_the_page_language(client, language, shown, other):
    """One language at a time: the items in the reader's language only; the names a locality
    gives its own lists (八个不准) are proper nouns and stay as written."""
    response = client.get("/lists/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    page = response.content.decode()
    assert shown in page and other not in page
    assert "八个不准" in page


def test_findings_are_stored_with_the_text_in_the_portals_language(cast):
    finding = celebration(cast).findings[0]
    assert Finding.objects.get(pk=finding.pk).message_id == "n13.celebration"
    assert finding.message
