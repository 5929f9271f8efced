"""Accountability cases (追责问责): taking a case, the inquiry record, the decision and corrections.

Each action locks the case row, checks the actor and the state, and writes in one transaction.
A decision is a final record (`CaseDecision` refuses any change); a correction is a new decision
that names the one it corrects, so the file shows both.
"""

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.models import (
    AccountabilityCase,
    CaseDecision,
    CaseNote,
    CaseStatus,
    Measure,
    Outcome,
)
from inspection import selectors
from inspection.errors import Conflict, InvalidInput, NotPermitted
from notifications import messages
from officials.models import User

DISTINCTIONS = ("distinction_reform", "distinction_trial", "distinction_development")


def decision_errors(
    *,
    outcome: str,
    measure: str,
    reasoning: str,
    distinctions: dict[str, str],
) -> dict[str, list[str]]:
    """What is wrong with a decision, per field; empty when it may be recorded.

    Tolerated (容错免责) must answer the three distinctions (三个区分开来); accountable needs a
    measure from the list; cleared and tolerated take no measure.
    """
    errors: dict[str, list[str]] = {}
    if outcome not in Outcome.values:
        errors["outcome"] = [_("Choose cleared, tolerated or accountable.")]
        return errors
    if not reasoning.strip():
        errors["reasoning"] = [_("A decision states its reasoning.")]
    if outcome == Outcome.ACCOUNTABLE:
        if measure not in Measure.values:
            errors["measure"] = [_("An accountable outcome needs a measure from the list.")]
    elif measure:
        errors["measure"] = [_("Only an accountable outcome takes a measure.")]
    for name in DISTINCTIONS:
        given = bool(distinctions.get(name, "").strip())
        if outcome == Outcome.TOLERATED and not given:
            errors[name] = [_("A tolerated outcome answers each of the three distinctions.")]
        elif outcome != Outcome.TOLERATED and given:
            errors[name] = [_("The three distinctions are answered for a tolerated outcome.")]
    return errors


def _locked_case(pk: int, by: User) -> AccountabilityCase:
    """The case row, locked; missing or outside the actor's scope raises DoesNotExist (404)."""
    case = (
        selectors.cases_visible_to(by)
        .select_for_update(of=("self",))
        .filter(pk=pk)
        .select_related(None)
        .first()
    )
    if case is None:
        raise AccountabilityCase.DoesNotExist
    _check_inspector(by)
    return case


def _refuse_if_decided(case: AccountabilityCase) -> None:
    if case.status == CaseStatus.DECIDED:
        raise Conflict(
            _("The case is decided; record a correction instead."),
            code="already_decided",
            status=case.status,
        )


def _refuse_unless_decided(case: AccountabilityCase) -> None:
    if case.status != CaseStatus.DECIDED:
        raise Conflict(
            _("Only a decided case can be corrected."), code="not_decided", status=case.status
        )


def _check_inspector(by: User) -> None:
    if not selectors.is_inspector(by):
        raise NotPermitted(_("Only discipline inspectors of the region handle cases."))


def check_decision(case: AccountabilityCase, *, by: User, correction: bool = False) -> None:
    """403 or 409 before the input is looked at, as the request workflow does (`check`)."""
    _check_inspector(by)
    if correction:
        _refuse_unless_decided(case)
    else:
        _refuse_if_decided(case)
        _check_decider(case, by)


def take_case(pk: int, *, by: User) -> AccountabilityCase:
    """The inspector takes the case: it becomes theirs and the inquiry begins."""
    with transaction.atomic():
        case = _locked_case(pk, by)
        _refuse_if_decided(case)
        if case.status == CaseStatus.IN_INQUIRY:
            raise Conflict(
                _("Another inspector has already taken this case.")
                if case.inspector_id != by.pk
                else _("You have already taken this case."),
                code="already_taken",
                status=case.status,
            )
        AccountabilityCase.objects.filter(pk=case.pk).update(
            status=CaseStatus.IN_INQUIRY, inspector=by, taken_at=timezone.now()
        )
        case.refresh_from_db()
    return case


def add_note(pk: int, *, by: User, text: str) -> CaseNote:
    """An entry of the inquiry record (append-only; also after a decision, e.g. a follow-up)."""
    if not text.strip():
        raise InvalidInput({"text": [_("Write what the inquiry found.")]})
    with transaction.atomic():
        case = _locked_case(pk, by)
        return CaseNote.objects.create(case=case, author=by, text=text, created_at=timezone.now())


def _check_decider(case: AccountabilityCase, by: User) -> None:
    if case.inspector_id is not None and case.inspector_id != by.pk:
        raise NotPermitted(_("Only the inspector who took the case decides it."))


def decide(
    pk: int,
    *,
    by: User,
    outcome: str,
    reasoning: str,
    measure: str = "",
    distinction_reform: str = "",
    distinction_trial: str = "",
    distinction_development: str = "",
) -> CaseDecision:
    """Record the decision on a case; a decided case answers 409 (`already_decided`)."""
    with transaction.atomic():
        case = _locked_case(pk, by)
        _refuse_if_decided(case)
        _check_decider(case, by)
        decision = _record_decision(
            case,
            by=by,
            outcome=outcome,
            reasoning=reasoning,
            measure=measure,
            distinctions={
                "distinction_reform": distinction_reform,
                "distinction_trial": distinction_trial,
                "distinction_development": distinction_development,
            },
        )
        AccountabilityCase.objects.filter(pk=case.pk).update(
            status=CaseStatus.DECIDED,
            decided_at=decision.decided_at,
            inspector=case.inspector or by,
            taken_at=case.taken_at or decision.decided_at,
        )
        _notify_decision(case, decision, decision.decided_at)
    return decision


def correct(
    pk: int,
    *,
    by: User,
    outcome: str,
    reasoning: str,
    measure: str = "",
    distinction_reform: str = "",
    distinction_trial: str = "",
    distinction_development: str = "",
) -> CaseDecision:
    """A correction: a new decision naming the one in force, which stays on the file unchanged."""
    with transaction.atomic():
        case = _locked_case(pk, by)
        _refuse_unless_decided(case)
        decision = _record_decision(
            case,
            by=by,
            outcome=outcome,
            reasoning=reasoning,
            measure=measure,
            distinctions={
                "distinction_reform": distinction_reform,
                "distinction_trial": distinction_trial,
                "distinction_development": distinction_development,
            },
            corrects=decision_in_force(case),
        )
        AccountabilityCase.objects.filter(pk=case.pk).update(decided_at=decision.decided_at)
        _notify_decision(case, decision, decision.decided_at)
    return decision


def _record_decision(
    case: AccountabilityCase,
    *,
    by: User,
    outcome: str,
    reasoning: str,
    measure: str,
    distinctions: dict[str, str],
    corrects: CaseDecision | None = None,
) -> CaseDecision:
    """Validate and write one final decision record (a first decision or a correction)."""
    errors = decision_errors(
        outcome=outcome, measure=measure, reasoning=reasoning, distinctions=distinctions
    )
    if errors:
        raise InvalidInput(errors)
    return CaseDecision.objects.create(
        case=case,
        outcome=outcome,
        measure=measure,
        reasoning=reasoning,
        corrects=corrects,
        decided_by=by,
        decided_at=timezone.now(),
        **distinctions,
    )


def decision_in_force(case: AccountabilityCase) -> CaseDecision | None:
    return case.decisions.order_by("-decided_at", "-id").first()


def _notify_decision(case: AccountabilityCase, decision: CaseDecision, now) -> None:
    """The official concerned and the head of the department hear the outcome (not the file)."""
    recipients = [case.official, case.department.head if case.department_id else None]
    messages.save_and_send(
        messages.build(
            [user for user in recipients if user is not None],
            "case_decided",
            {
                "number": case.pk,
                # Lazy labels: each recipient reads them in their own language.
                "outcome": Outcome(decision.outcome).label,
                "measure": Measure(decision.measure).label if decision.measure else "—",
            },
            link=reverse("portal:inbox"),
            now=now,
        )
    )
