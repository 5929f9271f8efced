"""The rules engine: each list item with a signal is a pure function of a frozen record of facts.

A rule never touches the database. `compliance.services` loads the facts, runs `judge()` and
stores what it returns. Rules are registered by their code with `@rule(code, FactsType)`; a
rule whose threshold is not set says so in a finding instead of guessing. One module by design:
the whole engine, its facts and its messages read in one place (most of its length is the
message table).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _

INFO, WARNING, VIOLATION = "info", "warning", "violation"

# Example defaults from RULES.md; the meal cap has none on purpose (a locality must set it).
DEFAULT_THRESHOLDS: dict[str, Decimal | None] = {
    "meal_per_capita_cap": None,
    "gift_register_min": Decimal("100"),
    "gift_surrender_min": Decimal("200"),
    "gift_register_days": Decimal("30"),
    "souvenir_cap": Decimal("600"),
    "asset_borrow_max_days": Decimal("0"),
    "transfer_threshold": Decimal("2"),
    "dissatisfaction_threshold": Decimal("2"),
}


@dataclass(frozen=True)
class Thresholds:
    """A locality's settings; None means "not set"."""

    meal_per_capita_cap: Decimal | None = None
    gift_register_min: Decimal | None = None
    gift_surrender_min: Decimal | None = None
    gift_register_days: Decimal | None = None
    souvenir_cap: Decimal | None = None
    asset_borrow_max_days: Decimal | None = None
    transfer_threshold: Decimal | None = None
    dissatisfaction_threshold: Decimal | None = None

    @classmethod
    def defaults(cls) -> "Thresholds":
        return cls(**DEFAULT_THRESHOLDS)


# --- the facts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InteractionFacts:
    kind: str
    occurred_at: dt.datetime
    public: bool = False
    approval_ref: str = ""
    payer: str = ""
    amount_total: Decimal | None = None
    headcount: int | None = None
    alcohol: bool = False
    venue_type: str = ""
    # The official oversees or serves the enterprise (jurisdiction or 包联 link): the
    # "ManagementRelation" of RULES.md.
    managed: bool = False
    # For a site visit: "none" (no filing covers it), "late" (filed after it began), "on_time".
    filing: str = "none"


@dataclass(frozen=True)
class GiftFacts:
    direction: str
    kind: str
    value_cny: Decimal
    received_at: dt.datetime
    now: dt.datetime
    refused: bool = False
    registered_at: dt.datetime | None = None
    surrendered_at: dt.datetime | None = None


@dataclass(frozen=True)
class AssetUseFacts:
    asset: str
    start: dt.date
    today: dt.date
    end: dt.date | None = None
    dedicated: bool = False
    returned: bool = False
    has_activity: bool = False  # tied to a logged official activity (an Interaction)


@dataclass(frozen=True)
class DeclarationFacts:
    relation: str
    remunerated: bool = False
    approved: bool = False
    managed: bool = False


@dataclass(frozen=True)
class RequestHistoryFacts:
    transfers: int = 0
    rejected_reviews: int = 0
    answer_breached: bool = False
    reference: str = ""


Facts = InteractionFacts | GiftFacts | AssetUseFacts | DeclarationFacts | RequestHistoryFacts


@dataclass(frozen=True)
class Finding:
    """What a rule says: its code, how serious, and a message id with its parameters."""

    rule: str
    severity: str
    message_id: str
    params: dict = field(default_factory=dict)


# --- the registry --------------------------------------------------------------------------------

RuleFunction = Callable[[Facts, Thresholds], list[Finding]]


@dataclass(frozen=True)
class RegisteredRule:
    code: str
    facts: type
    function: RuleFunction


REGISTRY: dict[str, RegisteredRule] = {}


def rule(code: str, facts: type):
    """Register a rule function under its list code, for one kind of facts."""

    def register(function: RuleFunction) -> RuleFunction:
        if code in REGISTRY:
            raise ValueError(f"Rule {code} is registered twice.")
        REGISTRY[code] = RegisteredRule(code, facts, function)
        return function

    return register


def judge(facts: Facts, limits: Thresholds, codes=None) -> list[Finding]:
    """Every registered rule for this kind of facts (only `codes`, when given: active items)."""
    found: list[Finding] = []
    for code, registered in sorted(REGISTRY.items()):
        if isinstance(facts, registered.facts) and (codes is None or code in codes):
            found += registered.function(facts, limits)
    return found


# Items listed, citable by inspectors and matched by a confidential report's category, but with
# nothing in the records the portal keeps that a machine could check.
NO_SIGNAL: dict[str, str] = {
    "P04": "no expense records are kept (travel costs and who settled them)",
    "P07": "service help is the request loop itself; informational, not judged",
    "N04": "no expense records are kept (reimbursements by enterprises)",
    "N08": "tender windows and bidder contacts are not recorded; reports of kind "
    "tender_interference",
    "N09": "reports of kind designated_service; free-text notes are not judged",
    "N10": "fees and fines are not recorded; reports of kind arbitrary_inspection/charges",
    "N12": "reports of kind discrimination; no ownership data on enterprises",
    "N14": "reports of kind broken_promise; request categories carry no arrears flag",
    "E03": "benefit transfers show up as N05/N06/N07 findings of the official",
    "E05": "a flag an inspector sets on a case",
    "E06": "a request flagged as malicious by review (not recorded yet)",
}


# --- messages ------------------------------------------------------------------------------------

MESSAGES = {
    "threshold_unset": _(
        "Not judged: the setting “%(setting)s” is not set. An administrator must set it first."
    ),
    "p01.no_approval": _("Attending a public enterprise event needs an approval reference."),
    "p02.over_cap": _(
        "The work meal cost %(per_capita)s CNY per person, above the cap of %(cap)s CNY."
    ),
    "p02.no_amount": _("A work meal paid by the enterprise needs its total and headcount."),
    "p02.alcohol": _("Alcohol or tobacco was served at a work meal paid by the enterprise."),
    "p03.dedicated": _("The enterprise dispatched a vehicle specially (a dedicated pick-up)."),
    "p03.no_activity": _("The ride in an enterprise vehicle is tied to no official activity."),
    "p05.late": _("The visit was filed only after it began."),
    "p06.office_meeting": _("Enterprise staff were received at the office (service given)."),
    "p08.single_enterprise": _(
        "A promotion of a single enterprise's products outside a public campaign."
    ),
    "p09.no_approval": _("A lecture or training at an enterprise needs an approval reference."),
    "p10.over_cap": _("The souvenir is worth %(value)s CNY, above the cap of %(cap)s CNY."),
    "p10.unregistered": _("The souvenir was not registered."),
    "p11.enterprise_paid": _("A private meal was paid by the enterprise instead of split."),
    "n01.monetary": _("A gift of cash, a card, securities or a red packet was accepted."),
    "n01.register_by": _("The gift of %(value)s CNY must be registered by %(deadline)s."),
    "n01.not_registered": _(
        "The gift of %(value)s CNY was not registered within %(days)s days (by %(deadline)s)."
    ),
    "n01.surrender_by": _("The gift of %(value)s CNY must be surrendered by %(deadline)s."),
    "n01.not_surrendered": _(
        "The gift of %(value)s CNY, above %(min)s CNY, was not surrendered by %(deadline)s."
    ),
    "n02.enterprise_paid": _(
        "A meal paid by an enterprise the official oversees, outside the work-meal conditions."
    ),
    "n03.entertainment": _(
        "Travel, entertainment or a private club arranged or paid by the enterprise."
    ),
    "n05.borrowed": _("Borrowed %(asset)s from the enterprise."),
    "n05.not_returned": _("The %(asset)s has been held %(days)s days without being returned."),
    "n06.paid_role": _("A paid part-time role at the enterprise without approval."),
    "n06.shares": _("A shareholding in an enterprise the official oversees."),
    "n07.no_rate": _(
        "A loan with the enterprise is declared; the portal records no interest rate, so an "
        "inspector must judge whether the return is excessive."
    ),
    "n11.repeated_transfer": _(
        "Request %(reference)s was transferred %(count)s times (threshold %(threshold)s)."
    ),
    "n11.repeated_dissatisfaction": _(
        "The answer to request %(reference)s was rejected %(count)s times "
        "(threshold %(threshold)s)."
    ),
    "n11.answer_breach": _("Request %(reference)s was not answered in time."),
    "n13.celebration": _("Attended an enterprise's internal celebration."),
    "n15.unfiled": _("A site visit with no visit filing."),
    "n16.relative": _("A relative works for or owns an enterprise the official oversees."),
    "e01.gift": _("The enterprise offered a gift beyond normal reciprocity."),
    "e02.paid": _("The enterprise paid for an official's meal, trip or entertainment."),
    "e04.hunting": _("The enterprise entertained an official (private club or entertainment)."),
}


class ThresholdKey(TextChoices):
    """The locality's settings the rules read (`compliance.models.Threshold` keeps their values)."""

    MEAL_PER_CAPITA_CAP = "meal_per_capita_cap", _("Meal cap per person (CNY)")
    GIFT_REGISTER_MIN = "gift_register_min", _("Gift registration threshold (CNY)")
    GIFT_SURRENDER_MIN = "gift_surrender_min", _("Gift surrender threshold (CNY)")
    GIFT_REGISTER_DAYS = "gift_register_days", _("Gift registration deadline (days)")
    SOUVENIR_CAP = "souvenir_cap", _("Souvenir cap per person (CNY)")
    ASSET_BORROW_MAX_DAYS = "asset_borrow_max_days", _("Longest loan of an enterprise asset (days)")
    TRANSFER_THRESHOLD = "transfer_threshold", _("Repeated-transfer threshold (transfers)")
    DISSATISFACTION_THRESHOLD = (
        "dissatisfaction_threshold",
        _("Repeated-dissatisfaction threshold (rejected reviews)"),
    )


def render(message_id: str, params: dict) -> str:
    """The message in the active language; an unknown id reads as itself."""
    template = MESSAGES.get(message_id)
    if template is None:
        return message_id
    values = dict(params)
    if values.get("asset") in ASSET_NAMES:
        values["asset"] = ASSET_NAMES[values["asset"]]
    if values.get("setting") in ThresholdKey.values:
        values["setting"] = ThresholdKey(values["setting"]).label
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        return str(template)


def _unset(code: str, setting: str) -> list[Finding]:
    return [Finding(code, WARNING, "threshold_unset", {"setting": setting})]


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


# --- interactions --------------------------------------------------------------------------------

MONETARY_GIFTS = frozenset({"cash", "gift_card", "securities", "e_red_packet"})
PRIVATE_VENUES = frozenset({"private_club", "club", "fitness", "spa", "karaoke"})
ENTERTAINMENT_KINDS = frozenset({"entertainment", "travel", "lodging"})


def _official_business(facts: InteractionFacts) -> bool:
    return bool(facts.approval_ref) or facts.filing != "none"


def _meal_conditions(facts: InteractionFacts, limits: Thresholds) -> tuple[bool | None, list]:
    """Whether a meal paid by the enterprise meets the work-meal conditions (None: unknown)."""
    problems = []
    if facts.alcohol:
        problems.append(Finding("P02", WARNING, "p02.alcohol"))
    if facts.amount_total is None or not facts.headcount:
        problems.append(Finding("P02", WARNING, "p02.no_amount"))
        return False, problems
    cap = limits.meal_per_capita_cap
    if cap is None:
        return (False if problems else None), problems
    per_capita = (facts.amount_total / facts.headcount).quantize(Decimal("0.01"))
    if per_capita > cap:
        problems.append(
            Finding(
                "P02",
                WARNING,
                "p02.over_cap",
                {"per_capita": _money(per_capita), "cap": _money(cap)},
            )
        )
    return not problems, problems


@rule("P01", InteractionFacts)
def p01_public_events(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    attends = facts.kind == "public_event" or (facts.kind == "celebration" and facts.public)
    if attends and not facts.approval_ref:
        return [Finding("P01", WARNING, "p01.no_approval")]
    return []


@rule("P02", InteractionFacts)
def p02_work_meal(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    if facts.kind != "meal" or facts.payer != "enterprise":
        return []
    met, problems = _meal_conditions(facts, limits)
    if met is None:
        return _unset("P02", "meal_per_capita_cap")
    if limits.meal_per_capita_cap is None and not any(
        p.message_id == "p02.no_amount" for p in problems
    ):
        problems = problems + _unset("P02", "meal_per_capita_cap")
    return problems


@rule("P03", AssetUseFacts)
def p03_vehicle(facts: AssetUseFacts, limits: Thresholds) -> list[Finding]:
    if facts.asset != "vehicle":
        return []
    found = []
    if facts.dedicated:
        found.append(Finding("P03", WARNING, "p03.dedicated"))
    if not facts.has_activity:
        found.append(Finding("P03", WARNING, "p03.no_activity"))
    return found


@rule("P05", InteractionFacts)
def p05_filed_visit(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    # An unfiled visit is N15 (a violation); P05 only notes a filing made after the fact.
    if facts.kind == "site_visit" and facts.filing == "late":
        return [Finding("P05", WARNING, "p05.late")]
    return []


@rule("P06", InteractionFacts)
def p06_office_meeting(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    if facts.kind == "office_meeting":
        return [Finding("P06", INFO, "p06.office_meeting")]
    return []


@rule("P08", InteractionFacts)
def p08_promotion(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    # A record names one enterprise: only a public campaign shows that none was singled out.
    if facts.kind == "promotion" and not facts.public:
        return [Finding("P08", WARNING, "p08.single_enterprise")]
    return []


@rule("P09", InteractionFacts)
def p09_lecture(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    # No honorarium cap exists among the settings: only the approval is checked.
    if facts.kind == "training" and not facts.approval_ref:
        return [Finding("P09", WARNING, "p09.no_approval")]
    return []


@rule("P11", InteractionFacts)
def p11_private_meal(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    if facts.kind == "meal" and facts.payer == "enterprise" and not _official_business(facts):
        return [Finding("P11", WARNING, "p11.enterprise_paid")]
    return []


@rule("N02", InteractionFacts)
def n02_meal(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    if facts.kind != "meal" or facts.payer != "enterprise" or not facts.managed:
        return []
    met, _problems = _meal_conditions(facts, limits)
    if met is None:
        return _unset("N02", "meal_per_capita_cap")
    if met and _official_business(facts):
        return []
    return [Finding("N02", VIOLATION, "n02.enterprise_paid")]


def _entertained(facts: InteractionFacts) -> bool:
    by_enterprise = facts.payer == "enterprise" and facts.kind in ENTERTAINMENT_KINDS
    return by_enterprise or facts.venue_type.strip().lower() in PRIVATE_VENUES


@rule("N03", InteractionFacts)
def n03_entertainment(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    return [Finding("N03", VIOLATION, "n03.entertainment")] if _entertained(facts) else []


@rule("N13", InteractionFacts)
def n13_celebration(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    if facts.kind == "celebration" and not facts.public:
        return [Finding("N13", VIOLATION, "n13.celebration")]
    return []


@rule("N15", InteractionFacts)
def n15_unfiled_visit(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    if facts.kind == "site_visit" and facts.filing == "none":
        return [Finding("N15", VIOLATION, "n15.unfiled")]
    return []


@rule("E02", InteractionFacts)
def e02_enterprise_paid(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    if facts.payer != "enterprise":
        return []
    meal_violation = any(f.severity == VIOLATION for f in n02_meal(facts, limits))
    if facts.kind in ENTERTAINMENT_KINDS or meal_violation:
        return [Finding("E02", VIOLATION, "e02.paid")]
    return []


@rule("E04", InteractionFacts)
def e04_hunting(facts: InteractionFacts, limits: Thresholds) -> list[Finding]:
    return [Finding("E04", VIOLATION, "e04.hunting")] if _entertained(facts) else []


# --- gifts ---------------------------------------------------------------------------------------


def _deadline(facts: GiftFacts, days: Decimal) -> dt.datetime:
    return facts.received_at + dt.timedelta(days=int(days))


def _day(moment: dt.datetime) -> str:
    return moment.date().isoformat()


@rule("N01", GiftFacts)
def n01_gifts(facts: GiftFacts, limits: Thresholds) -> list[Finding]:
    if facts.direction != "received" or facts.refused:
        return []
    if facts.kind in MONETARY_GIFTS:
        return [Finding("N01", VIOLATION, "n01.monetary")]
    if facts.kind == "souvenir":
        return []  # P10 judges souvenirs
    found: list[Finding] = []
    register_min, surrender_min = limits.gift_register_min, limits.gift_surrender_min
    if register_min is None:
        found += _unset("N01", "gift_register_min")
    if surrender_min is None:
        found += _unset("N01", "gift_surrender_min")
    if limits.gift_register_days is None:
        return found + _unset("N01", "gift_register_days")
    deadline = _deadline(facts, limits.gift_register_days)
    value = {"value": _money(facts.value_cny), "deadline": _day(deadline)}
    if register_min is not None and facts.value_cny > register_min:
        found += _by_deadline(
            facts.registered_at,
            deadline,
            facts.now,
            Finding("N01", INFO, "n01.register_by", value),
            Finding(
                "N01",
                VIOLATION,
                "n01.not_registered",
                {**value, "days": int(limits.gift_register_days)},
            ),
        )
    if surrender_min is not None and facts.value_cny > surrender_min:
        found += _by_deadline(
            facts.surrendered_at,
            deadline,
            facts.now,
            Finding("N01", WARNING, "n01.surrender_by", value),
            Finding(
                "N01",
                VIOLATION,
                "n01.not_surrendered",
                {**value, "min": _money(surrender_min)},
            ),
        )
    return found


def _by_deadline(done_at, deadline, now, pending: Finding, missed: Finding) -> list[Finding]:
    if done_at is not None:
        return [] if done_at <= deadline else [missed]
    return [pending] if now <= deadline else [missed]


@rule("P10", GiftFacts)
def p10_souvenir(facts: GiftFacts, limits: Thresholds) -> list[Finding]:
    if facts.kind != "souvenir" or facts.refused:
        return []
    found = []
    if limits.souvenir_cap is None:
        found += _unset("P10", "souvenir_cap")
    elif facts.value_cny > limits.souvenir_cap:
        found.append(
            Finding(
                "P10",
                WARNING,
                "p10.over_cap",
                {"value": _money(facts.value_cny), "cap": _money(limits.souvenir_cap)},
            )
        )
    if facts.registered_at is None:
        found.append(Finding("P10", WARNING, "p10.unregistered"))
    return found


@rule("E01", GiftFacts)
def e01_gift(facts: GiftFacts, limits: Thresholds) -> list[Finding]:
    # The enterprise's side of a gift an official received (refused or not: it was offered).
    if facts.direction != "received":
        return []
    if facts.kind in MONETARY_GIFTS:
        return [Finding("E01", VIOLATION, "e01.gift")]
    if facts.kind == "souvenir":
        return []
    if limits.gift_surrender_min is None:
        return _unset("E01", "gift_surrender_min")
    if facts.value_cny > limits.gift_surrender_min:
        return [Finding("E01", VIOLATION, "e01.gift")]
    return []


# --- uses of enterprise assets -------------------------------------------------------------------

ASSET_NAMES = {
    "vehicle": _("a vehicle"),
    "housing": _("housing"),
    "money": _("money"),
    "equipment": _("equipment"),
}


@rule("N05", AssetUseFacts)
def n05_borrowing(facts: AssetUseFacts, limits: Thresholds) -> list[Finding]:
    params = {"asset": facts.asset}
    if facts.asset == "vehicle":
        # A ride within P03's conditions is allowed; outside them it is a borrowed car.
        if facts.dedicated or not facts.has_activity:
            return [Finding("N05", VIOLATION, "n05.borrowed", params)]
        return []
    max_days = limits.asset_borrow_max_days
    if max_days is None:
        return _unset("N05", "asset_borrow_max_days")
    if facts.asset in ("money", "housing") and max_days == 0:
        return [Finding("N05", VIOLATION, "n05.borrowed", params)]
    held = ((facts.end or facts.today) - facts.start).days
    if not facts.returned and held > max_days:
        return [Finding("N05", VIOLATION, "n05.not_returned", {**params, "days": held})]
    return []


# --- declarations --------------------------------------------------------------------------------


@rule("N06", DeclarationFacts)
def n06_roles_and_shares(facts: DeclarationFacts, limits: Thresholds) -> list[Finding]:
    if facts.relation == "part_time_role" and facts.remunerated and not facts.approved:
        return [Finding("N06", VIOLATION, "n06.paid_role")]
    if facts.relation == "shareholding" and facts.managed:
        return [Finding("N06", VIOLATION, "n06.shares")]
    return []


@rule("N07", DeclarationFacts)
def n07_loans(facts: DeclarationFacts, limits: Thresholds) -> list[Finding]:
    # No rate is recorded, so the rule cannot tell a market rate from an excessive one.
    if facts.relation == "loan":
        return [Finding("N07", WARNING, "n07.no_rate")]
    return []


@rule("N16", DeclarationFacts)
def n16_relatives(facts: DeclarationFacts, limits: Thresholds) -> list[Finding]:
    if facts.relation in ("relative_employed", "relative_owner") and facts.managed:
        return [Finding("N16", VIOLATION, "n16.relative")]
    return []


# --- request history -----------------------------------------------------------------------------


@rule("N11", RequestHistoryFacts)
def n11_obstruction(facts: RequestHistoryFacts, limits: Thresholds) -> list[Finding]:
    found: list[Finding] = []
    if limits.transfer_threshold is None:
        found += _unset("N11", "transfer_threshold")
    elif facts.transfers >= limits.transfer_threshold:
        # RULES.md: "≥2 unjustified 退单" - the threshold itself is already a finding.
        found.append(
            Finding(
                "N11",
                VIOLATION,
                "n11.repeated_transfer",
                {
                    "reference": facts.reference,
                    "count": facts.transfers,
                    "threshold": int(limits.transfer_threshold),
                },
            )
        )
    if limits.dissatisfaction_threshold is None:
        found += _unset("N11", "dissatisfaction_threshold")
    elif facts.rejected_reviews > limits.dissatisfaction_threshold:
        found.append(
            Finding(
                "N11",
                VIOLATION,
                "n11.repeated_dissatisfaction",
                {
                    "reference": facts.reference,
                    "count": facts.rejected_reviews,
                    "threshold": int(limits.dissatisfaction_threshold),
                },
            )
        )
    if facts.answer_breached:
        found.append(Finding("N11", VIOLATION, "n11.answer_breach", {"reference": facts.reference}))
    return found
