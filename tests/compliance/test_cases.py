"""Accountability cases: scoping by region, taking, the inquiry record, decisions (validated,
final, 409 once decided) and corrections (a new record, never an edit) — on every path."""

import pytest
from django.urls import reverse

from compliance.models import (
    AccountabilityCase,
    CaseDecision,
    CaseNote,
    CaseStatus,
    Measure,
    Outcome,
)
from notifications.models import Notification
from tests.compliance.inspection_helpers import (
    breach_case,
    page_client,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_throttles")]

URL = "/api/v1/accountability-cases/"

TOLERATED = {
    "outcome": "tolerated",
    "reasoning": "A first use of the new fast-track; no ban existed.",
    "distinction_reform": "New procedure, no prior experience.",
    "distinction_trial": "Exploratory pilot, nothing forbade it.",
    "distinction_development": "Aimed at opening the plant sooner; no personal gain.",
}
ACCOUNTABLE = {"outcome": "accountable", "measure": "interview", "reasoning": "Three days late."}
CLEARED = {"outcome": "cleared", "reasoning": "The enterprise asked to wait for the survey."}


def case_url(case, action: str = "") -> str:
    return f"{URL}{case.pk}/{action + '/' if action else ''}"


@pytest.fixture
def gulou_case(cast):
    return breach_case(cast)


@pytest.fixture
def minhou_case(cast):
    return breach_case(cast, region="minhou", department=cast.land, official=None)


# --- scoping -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "sees"),
    [
        ("ivan", {"gulou", "minhou"}),  # the whole portal
        ("gina", {"gulou"}),
        ("irene", {"minhou"}),
        ("ada", {"gulou", "minhou"}),  # administrators read every case
        ("root", {"gulou", "minhou"}),
    ],
)
def test_the_list_is_scoped_to_the_inspectors_region(
    api, people, gulou_case, minhou_case, name, sees
):
    response = api(people[name]).get(URL)
    assert response.status_code == 200
    assert {row["region"] for row in response.json()["results"]} == sees
    for case in (gulou_case, minhou_case):
        expected = 200 if case.region in sees else 404
        assert api(people[name]).get(case_url(case)).status_code == expected


@pytest.mark.parametrize(
    "name", ["alice", "mallory", "liam", "olga", "hank", "hugo", "leona", "lars"]
)
def test_other_roles_get_403_on_the_list_and_404_on_a_case(api, people, gulou_case, name):
    assert api(people[name]).get(URL).status_code == 403
    assert api(people[name]).get(case_url(gulou_case)).status_code == 404
    for action in ("take", "notes", "decide", "correct"):
        assert api(people[name]).post(case_url(gulou_case, action), {}).status_code == 404


def test_a_logged_out_client_gets_401(api, gulou_case):
    assert api(None).get(URL).status_code == 401
    assert api(None).get(case_url(gulou_case)).status_code == 401


def test_the_list_filters_narrow_only(api, people, gulou_case, minhou_case):
    client = api(people["ivan"])
    assert client.get(URL, {"status": "open"}).json()["count"] == 2
    assert client.get(URL, {"status": "decided"}).json()["count"] == 0
    assert client.get(URL, {"status": "bogus"}).status_code == 400
    assert client.get(URL, {"official": 10**30}).status_code == 400
    # gina filtering for Minhou's department still sees nothing of Minhou
    assert (
        api(people["gina"]).get(URL, {"department": minhou_case.department_id}).json()["count"] == 0
    )


# --- taking and the inquiry record -------------------------------------------------------------


def test_an_inspector_takes_a_case(api, people, gulou_case):
    response = api(people["gina"]).post(case_url(gulou_case, "take"))
    assert response.status_code == 200
    gulou_case.refresh_from_db()
    assert (gulou_case.status, gulou_case.inspector) == (CaseStatus.IN_INQUIRY, people["gina"])
    assert gulou_case.taken_at is not None
    again = api(people["ivan"]).post(case_url(gulou_case, "take"))
    assert (again.status_code, again.json()["code"]) == (409, "already_taken")


def test_administrators_read_cases_but_do_not_act(api, people, gulou_case):
    for action, data in (("take", {}), ("notes", {"text": "x"}), ("decide", CLEARED)):
        assert (
            api(people["ada"]).post(case_url(gulou_case, action), data, format="json").status_code
            == 403
        )
    gulou_case.refresh_from_db()
    assert gulou_case.status == CaseStatus.OPEN
    assert not CaseNote.objects.exists()


def test_inquiry_notes_are_recorded(api, people, gulou_case):
    client = api(people["gina"])
    response = client.post(
        case_url(gulou_case, "notes"), {"text": "Talked to hank."}, format="json"
    )
    assert response.status_code == 201
    assert (
        client.post(case_url(gulou_case, "notes"), {"text": ""}, format="json").status_code == 400
    )
    detail = client.get(case_url(gulou_case)).json()
    assert [note["text"] for note in detail["notes"]] == ["Talked to hank."]


# --- deciding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"outcome": "pardoned", "reasoning": "x"}, "outcome"),
        ({"outcome": "cleared"}, "reasoning"),
        ({"outcome": "cleared", "reasoning": "   "}, "reasoning"),
        ({**CLEARED, "measure": "interview"}, "measure"),
        ({"outcome": "accountable", "reasoning": "late"}, "measure"),
        ({**ACCOUNTABLE, "measure": "public_shaming"}, "measure"),
        ({**TOLERATED, "distinction_trial": ""}, "distinction_trial"),
        (
            {**{k: v for k, v in TOLERATED.items() if k != "distinction_reform"}},
            "distinction_reform",
        ),
        ({**TOLERATED, "measure": "criticism"}, "measure"),
        ({**ACCOUNTABLE, "distinction_reform": "new"}, "distinction_reform"),
        ({**CLEARED, "reasoning": "x" * 10001}, "reasoning"),
    ],
)
def test_a_bad_decision_is_a_400_and_stores_nothing(api, people, gulou_case, data, field):
    response = api(people["gina"]).post(case_url(gulou_case, "decide"), data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not CaseDecision.objects.exists()
    gulou_case.refresh_from_db()
    assert gulou_case.status == CaseStatus.OPEN


@pytest.mark.parametrize(
    "data", [CLEARED, TOLERATED, *({**ACCOUNTABLE, "measure": m} for m in Measure.values)]
)
def test_each_outcome_is_recorded_with_its_reasoning(api, people, gulou_case, data):
    response = api(people["gina"]).post(case_url(gulou_case, "decide"), data, format="json")
    assert response.status_code == 201, response.json()
    decision = CaseDecision.objects.get()
    assert (decision.outcome, decision.measure, decision.reasoning) == (
        data["outcome"],
        data.get("measure", ""),
        data["reasoning"],
    )
    gulou_case.refresh_from_db()
    assert gulou_case.status == CaseStatus.DECIDED
    assert gulou_case.inspector == people["gina"]  # deciding an untaken case takes it
    assert gulou_case.decided_at == decision.decided_at


def test_a_decided_case_answers_409_already_decided(api, people, gulou_case):
    client = api(people["gina"])
    client.post(case_url(gulou_case, "decide"), CLEARED, format="json")
    again = client.post(case_url(gulou_case, "decide"), ACCOUNTABLE, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "already_decided"
    assert CaseDecision.objects.count() == 1
    # 409 comes before the input is even read
    assert client.post(case_url(gulou_case, "decide"), {}, format="json").status_code == 409


def test_only_the_inspector_who_took_the_case_decides(api, people, gulou_case):
    api(people["gina"]).post(case_url(gulou_case, "take"))
    response = api(people["ivan"]).post(case_url(gulou_case, "decide"), CLEARED, format="json")
    assert response.status_code == 403
    assert not CaseDecision.objects.exists()


def test_the_official_and_the_department_head_are_told_the_outcome(api, people, cast, gulou_case):
    cast.roads.head = cast.hilda
    cast.roads.save()
    api(people["gina"]).post(case_url(gulou_case, "decide"), ACCOUNTABLE, format="json")
    told = set(
        Notification.objects.filter(kind="case_decided").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"hank", "hilda"}


# --- corrections ---------------------------------------------------------------------------------


def test_a_correction_is_a_new_record_and_the_first_stays(api, people, gulou_case):
    client = api(people["gina"])
    first = client.post(case_url(gulou_case, "decide"), ACCOUNTABLE, format="json").json()
    response = client.post(case_url(gulou_case, "correct"), TOLERATED, format="json")
    assert response.status_code == 201
    assert response.json()["corrects"] == first["id"]
    original, correction = CaseDecision.objects.order_by("id")
    assert (original.outcome, original.measure, original.corrects) == (
        "accountable",
        "interview",
        None,
    )
    assert (correction.outcome, correction.corrects) == ("tolerated", original)
    detail = client.get(case_url(gulou_case)).json()
    assert [d["outcome"] for d in detail["decisions"]] == ["accountable", "tolerated"]


def test_a_correction_needs_a_decision_and_valid_input(api, people, gulou_case):
    client = api(people["gina"])
    early = client.post(case_url(gulou_case, "correct"), CLEARED, format="json")
    assert (early.status_code, early.json()["code"]) == (409, "not_decided")
    client.post(case_url(gulou_case, "decide"), CLEARED, format="json")
    bad = client.post(
        case_url(gulou_case, "correct"), {"outcome": "tolerated", "reasoning": "x"}, format="json"
    )
    assert bad.status_code == 400
    assert CaseDecision.objects.count() == 1


# --- a decision cannot be edited through any path ------------------------------------------------


@pytest.fixture
def decided(api, people, gulou_case) -> CaseDecision:
    api(people["gina"]).post(case_url(gulou_case, "decide"), ACCOUNTABLE, format="json")
    return CaseDecision.objects.get()


def _unchanged(decision: CaseDecision) -> bool:
    fresh = CaseDecision.objects.get(pk=decision.pk)
    return (fresh.outcome, fresh.measure, fresh.reasoning) == (
        "accountable",
        "interview",
        "Three days late.",
    )


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("action", ["", "decide", "correct"])
def test_the_api_has_no_way_to_change_or_remove_a_decision(api, people, decided, method, action):
    for name in ("gina", "ada"):
        response = getattr(api(people[name]), method)(
            case_url(decided.case, action), CLEARED, format="json"
        )
        assert response.status_code == 405
    assert _unchanged(decided)


def test_the_admin_cannot_change_or_delete_a_decision(people, decided):
    client = page_client(people["root"])
    change = reverse("admin:compliance_casedecision_change", args=[decided.pk])
    assert client.get(change).status_code == 200  # readable
    client.post(change, {"outcome": "cleared", "measure": "", "reasoning": "edited"})
    delete = reverse("admin:compliance_casedecision_delete", args=[decided.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:compliance_casedecision_changelist")
    client.post(
        changelist, {"action": "delete_selected", "_selected_action": [decided.pk], "post": "yes"}
    )
    case_change = reverse("admin:compliance_accountabilitycase_change", args=[decided.case_id])
    client.post(case_change, {"decisions-0-reasoning": "edited", "status": "open"})
    assert _unchanged(decided)
    assert AccountabilityCase.objects.get().status == CaseStatus.DECIDED


def test_the_model_refuses_save_and_delete(decided):
    decided.reasoning = "edited"
    with pytest.raises(PermissionError):
        decided.save()
    with pytest.raises(PermissionError):
        decided.delete()
    assert _unchanged(decided)


def test_the_queryset_refuses_update_and_delete(decided):
    with pytest.raises(PermissionError):
        CaseDecision.objects.filter(pk=decided.pk).update(reasoning="edited")
    with pytest.raises(PermissionError):
        CaseDecision.objects.all().delete()
    with pytest.raises(PermissionError):
        decided.case.decisions.update(outcome=Outcome.CLEARED)
    assert _unchanged(decided)


def test_the_decision_page_form_cannot_overwrite_either(people, decided):
    client = page_client(people["gina"])
    url = reverse("inspector:case-act", args=[decided.case_id, "decide"])
    client.post(url, CLEARED)
    assert CaseDecision.objects.count() == 1
    assert _unchanged(decided)
