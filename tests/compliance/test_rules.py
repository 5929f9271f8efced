"""Every rule of the engine from a table of passing and failing fact records, without a database.

Each row names a rule, a fact record and what the rule must say about it: nothing (passes), or
the (severity, message id) pairs it returns. The registry test makes sure every list item is
either registered here or documented as having no machine-checkable signal.
"""

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from compliance import rules
from compliance.rules import (
    INFO,
    VIOLATION,
    WARNING,
    AssetUseFacts,
    DeclarationFacts,
    GiftFacts,
    InteractionFacts,
    RequestHistoryFacts,
    Thresholds,
)

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
LIMITS = dataclasses.replace(Thresholds.defaults(), meal_per_capita_cap=Decimal("120"))
UNSET = Thresholds()  # every threshold unset
THREE_TRANSFERS = dataclasses.replace(LIMITS, transfer_threshold=Decimal("3"))  # a locality's own
ALL_CODES = (
    [f"P{n:02d}" for n in range(1, 12)]
    + [f"N{n:02d}" for n in range(1, 17)]
    + [f"E{n:02d}" for n in range(1, 7)]
)


def meeting(**changes) -> InteractionFacts:
    return dataclasses.replace(InteractionFacts(kind="meeting", occurred_at=NOW), **changes)


def meal(**changes) -> InteractionFacts:
    base = meeting(
        kind="meal",
        payer="enterprise",
        amount_total=Decimal("300"),
        headcount=3,
        approval_ref="GW-2026-17",
        managed=True,
    )
    return dataclasses.replace(base, **changes)


def gift(**changes) -> GiftFacts:
    base = GiftFacts(
        direction="received",
        kind="goods",
        value_cny=Decimal("50"),
        received_at=NOW - dt.timedelta(days=2),
        now=NOW,
    )
    return dataclasses.replace(base, **changes)


def asset(**changes) -> AssetUseFacts:
    base = AssetUseFacts(
        asset="vehicle", start=NOW.date(), today=NOW.date(), has_activity=True, returned=True
    )
    return dataclasses.replace(base, **changes)


def declaration(**changes) -> DeclarationFacts:
    return dataclasses.replace(DeclarationFacts(relation="part_time_role"), **changes)


def history(**changes) -> RequestHistoryFacts:
    return dataclasses.replace(RequestHistoryFacts(reference="QQ20260000001"), **changes)


LONG_AGO = NOW - dt.timedelta(days=40)

# (rule, facts, limits, expected [(severity, message id)]); an empty list means "passes".
TABLE = [
    # P01 public events need an approval; an internal celebration is not one
    ("P01", meeting(kind="public_event", public=True, approval_ref="A-1"), LIMITS, []),
    ("P01", meeting(kind="public_event", public=True), LIMITS, [(WARNING, "p01.no_approval")]),
    ("P01", meeting(kind="celebration", public=True), LIMITS, [(WARNING, "p01.no_approval")]),
    # P02 a work meal paid by the enterprise: within the cap, no alcohol
    ("P02", meal(), LIMITS, []),
    ("P02", meal(payer="self"), LIMITS, []),
    ("P02", meal(amount_total=Decimal("600")), LIMITS, [(WARNING, "p02.over_cap")]),
    ("P02", meal(alcohol=True), LIMITS, [(WARNING, "p02.alcohol")]),
    ("P02", meal(headcount=None), LIMITS, [(WARNING, "p02.no_amount")]),
    ("P02", meal(), UNSET, [(WARNING, "threshold_unset")]),
    ("P02", meal(alcohol=True), UNSET, [(WARNING, "p02.alcohol"), (WARNING, "threshold_unset")]),
    # P03 a ride in an enterprise vehicle: not dispatched specially, tied to an activity
    ("P03", asset(), LIMITS, []),
    ("P03", asset(asset="money"), LIMITS, []),
    ("P03", asset(dedicated=True), LIMITS, [(WARNING, "p03.dedicated")]),
    ("P03", asset(has_activity=False), LIMITS, [(WARNING, "p03.no_activity")]),
    # P05 a site visit filed before it began (unfiled is N15)
    ("P05", meeting(kind="site_visit", filing="on_time"), LIMITS, []),
    ("P05", meeting(kind="site_visit", filing="none"), LIMITS, []),
    ("P05", meeting(kind="site_visit", filing="late"), LIMITS, [(WARNING, "p05.late")]),
    # P06 office meetings are service given (info)
    ("P06", meeting(), LIMITS, []),
    ("P06", meeting(kind="office_meeting"), LIMITS, [(INFO, "p06.office_meeting")]),
    # P08 promoting one enterprise outside a public campaign
    ("P08", meeting(kind="promotion", public=True), LIMITS, []),
    ("P08", meeting(kind="promotion"), LIMITS, [(WARNING, "p08.single_enterprise")]),
    # P09 lectures need an approval
    ("P09", meeting(kind="training", approval_ref="PX-9"), LIMITS, []),
    ("P09", meeting(kind="training"), LIMITS, [(WARNING, "p09.no_approval")]),
    # P10 souvenirs: under the cap and registered
    ("P10", gift(kind="souvenir", value_cny=Decimal("80"), registered_at=NOW), LIMITS, []),
    (
        "P10",
        gift(kind="souvenir", value_cny=Decimal("800"), registered_at=NOW),
        LIMITS,
        [(WARNING, "p10.over_cap")],
    ),
    ("P10", gift(kind="souvenir"), LIMITS, [(WARNING, "p10.unregistered")]),
    (
        "P10",
        gift(kind="souvenir", registered_at=NOW),
        UNSET,
        [(WARNING, "threshold_unset")],
    ),
    # P11 a private meal is split, not paid by the enterprise
    ("P11", meal(payer="split", approval_ref=""), LIMITS, []),
    ("P11", meal(approval_ref=""), LIMITS, [(WARNING, "p11.enterprise_paid")]),
    ("P11", meal(approval_ref="", filing="on_time"), LIMITS, []),
    # N01 gifts: money of any value; goods over the thresholds registered and surrendered
    ("N01", gift(), LIMITS, []),
    ("N01", gift(kind="cash", value_cny=Decimal("1")), LIMITS, [(VIOLATION, "n01.monetary")]),
    ("N01", gift(kind="e_red_packet"), LIMITS, [(VIOLATION, "n01.monetary")]),
    ("N01", gift(kind="cash", refused=True), LIMITS, []),
    ("N01", gift(direction="given", kind="cash"), LIMITS, []),
    ("N01", gift(value_cny=Decimal("150")), LIMITS, [(INFO, "n01.register_by")]),
    ("N01", gift(value_cny=Decimal("150"), registered_at=NOW), LIMITS, []),
    (
        "N01",
        gift(value_cny=Decimal("150"), received_at=LONG_AGO),
        LIMITS,
        [(VIOLATION, "n01.not_registered")],
    ),
    (
        "N01",
        gift(value_cny=Decimal("500"), registered_at=NOW),
        LIMITS,
        [(WARNING, "n01.surrender_by")],
    ),
    (
        "N01",
        gift(value_cny=Decimal("500"), received_at=LONG_AGO, registered_at=LONG_AGO),
        LIMITS,
        [(VIOLATION, "n01.not_surrendered")],
    ),
    (
        "N01",
        gift(value_cny=Decimal("500"), registered_at=NOW, surrendered_at=NOW),
        LIMITS,
        [],
    ),
    (
        "N01",
        gift(value_cny=Decimal("500")),
        dataclasses.replace(LIMITS, gift_register_days=None),
        [(WARNING, "threshold_unset")],
    ),
    # N02 a meal paid by an enterprise the official oversees, outside the work-meal conditions
    ("N02", meal(), LIMITS, []),
    ("N02", meal(alcohol=True), LIMITS, [(VIOLATION, "n02.enterprise_paid")]),
    ("N02", meal(approval_ref=""), LIMITS, [(VIOLATION, "n02.enterprise_paid")]),
    ("N02", meal(alcohol=True, managed=False), LIMITS, []),
    ("N02", meal(), UNSET, [(WARNING, "threshold_unset")]),
    # N03 entertainment, travel or a private club arranged or paid by the enterprise
    ("N03", meeting(kind="entertainment", payer="self"), LIMITS, []),
    (
        "N03",
        meeting(kind="entertainment", payer="enterprise"),
        LIMITS,
        [(VIOLATION, "n03.entertainment")],
    ),
    ("N03", meeting(venue_type="private_club"), LIMITS, [(VIOLATION, "n03.entertainment")]),
    ("N03", meeting(kind="travel", payer="official_unit"), LIMITS, []),
    # N05 borrowing: money and housing never; vehicles outside P03; others returned in time
    ("N05", asset(), LIMITS, []),
    ("N05", asset(asset="money"), LIMITS, [(VIOLATION, "n05.borrowed")]),
    ("N05", asset(asset="housing", returned=False), LIMITS, [(VIOLATION, "n05.borrowed")]),
    ("N05", asset(dedicated=True), LIMITS, [(VIOLATION, "n05.borrowed")]),
    (
        "N05",
        asset(asset="equipment", returned=False, start=NOW.date() - dt.timedelta(days=3)),
        LIMITS,
        [(VIOLATION, "n05.not_returned")],
    ),
    ("N05", asset(asset="equipment", returned=True), LIMITS, []),
    ("N05", asset(asset="money"), UNSET, [(WARNING, "threshold_unset")]),
    # N06 paid roles without approval; shares in an enterprise the official oversees
    ("N06", declaration(remunerated=True, approved=True), LIMITS, []),
    ("N06", declaration(remunerated=True), LIMITS, [(VIOLATION, "n06.paid_role")]),
    ("N06", declaration(relation="shareholding"), LIMITS, []),
    (
        "N06",
        declaration(relation="shareholding", managed=True),
        LIMITS,
        [(VIOLATION, "n06.shares")],
    ),
    # N07 loans: no rate is recorded, so the rule says it cannot judge
    ("N07", declaration(), LIMITS, []),
    ("N07", declaration(relation="loan"), LIMITS, [(WARNING, "n07.no_rate")]),
    # N11 request history: transfers reaching the threshold (RULES.md: two or more), more
    # rejected reviews than the threshold; breaches
    ("N11", history(transfers=1, rejected_reviews=2), LIMITS, []),
    ("N11", history(transfers=2), LIMITS, [(VIOLATION, "n11.repeated_transfer")]),
    ("N11", history(transfers=2), THREE_TRANSFERS, []),
    ("N11", history(transfers=3), THREE_TRANSFERS, [(VIOLATION, "n11.repeated_transfer")]),
    ("N11", history(transfers=3), LIMITS, [(VIOLATION, "n11.repeated_transfer")]),
    ("N11", history(rejected_reviews=3), LIMITS, [(VIOLATION, "n11.repeated_dissatisfaction")]),
    ("N11", history(answer_breached=True), LIMITS, [(VIOLATION, "n11.answer_breach")]),
    (
        "N11",
        history(transfers=5),
        UNSET,
        [(WARNING, "threshold_unset"), (WARNING, "threshold_unset")],
    ),
    # N13 internal celebrations
    ("N13", meeting(kind="celebration", public=True, approval_ref="A"), LIMITS, []),
    ("N13", meeting(kind="celebration"), LIMITS, [(VIOLATION, "n13.celebration")]),
    # N15 site visits without a filing
    ("N15", meeting(kind="site_visit", filing="on_time"), LIMITS, []),
    ("N15", meeting(kind="site_visit"), LIMITS, [(VIOLATION, "n15.unfiled")]),
    ("N15", meeting(kind="call"), LIMITS, []),
    # N16 relatives in an enterprise the official oversees
    ("N16", declaration(relation="relative_employed"), LIMITS, []),
    (
        "N16",
        declaration(relation="relative_owner", managed=True),
        LIMITS,
        [(VIOLATION, "n16.relative")],
    ),
    # E01 the enterprise's side of a gift beyond reciprocity (refused or not)
    ("E01", gift(), LIMITS, []),
    ("E01", gift(kind="gift_card", refused=True), LIMITS, [(VIOLATION, "e01.gift")]),
    ("E01", gift(value_cny=Decimal("900")), LIMITS, [(VIOLATION, "e01.gift")]),
    ("E01", gift(value_cny=Decimal("900")), UNSET, [(WARNING, "threshold_unset")]),
    # E02 the enterprise paying for meals, trips or entertainment
    ("E02", meal(), LIMITS, []),
    ("E02", meal(alcohol=True), LIMITS, [(VIOLATION, "e02.paid")]),
    ("E02", meeting(kind="travel", payer="enterprise"), LIMITS, [(VIOLATION, "e02.paid")]),
    # E04 "hunting" officials through clubs or entertainment
    ("E04", meeting(), LIMITS, []),
    ("E04", meeting(venue_type="Private_Club "), LIMITS, [(VIOLATION, "e04.hunting")]),
]


@pytest.mark.parametrize(
    ("code", "facts", "limits", "expected"),
    TABLE,
    ids=[f"{row[0]}-{n}" for n, row in enumerate(TABLE)],
)
def test_rule_table(code, facts, limits, expected):
    function = rules.REGISTRY[code].function
    found = function(facts, limits)
    assert [(f.severity, f.message_id) for f in found] == expected
    assert all(f.rule == code for f in found)


@pytest.mark.parametrize("code", sorted(rules.REGISTRY))
def test_every_rule_has_a_passing_and_a_failing_row(code):
    rows = [row for row in TABLE if row[0] == code]
    assert any(not row[3] for row in rows), f"{code} has no passing row"
    assert any(row[3] for row in rows), f"{code} has no failing row"


def test_every_item_is_either_judged_or_documented_as_without_signal():
    judged, documented = set(rules.REGISTRY), set(rules.NO_SIGNAL)
    assert judged.isdisjoint(documented)
    assert judged | documented == set(ALL_CODES)


def test_judge_runs_only_the_rules_for_the_kind_of_facts_and_the_active_codes():
    facts = meeting(kind="celebration")
    assert {f.rule for f in rules.judge(facts, LIMITS)} == {"N13"}
    assert rules.judge(facts, LIMITS, codes={"P01"}) == []
    breached = rules.judge(history(answer_breached=True), LIMITS)
    assert [f.message_id for f in breached] == ["n11.answer_breach"]


def test_a_rule_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="twice"):
        rules.rule("N13", InteractionFacts)(lambda facts, limits: [])


def test_unset_threshold_message_names_the_setting():
    from django.utils import translation

    (finding,) = rules.REGISTRY["P02"].function(meal(), UNSET)
    with translation.override("en"):
        text = rules.render(finding.message_id, finding.params)
    assert "Meal cap per person" in text and "not set" in text


def test_a_message_with_missing_parameters_still_renders():
    assert rules.render("p10.over_cap", {}) != ""
    assert rules.render("no.such.message", {}) == "no.such.message"
