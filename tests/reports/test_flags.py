"""Red and yellow flags: scores from weighted components, two best and two worst of each peer
group of four or more, and a case proposal for consecutive yellow flags."""

import datetime as dt

import pytest

from compliance import cases
from compliance.models import AccountabilityCase, CaseSource
from notifications.models import Notification
from officials.models import Role
from officials.selectors import inspectors_of
from reports import flags
from reports.figures import Period
from reports.flags import Score, award, weighted_score
from reports.models import FlagAward, FlagColor, ReportSettings
from tests.conftest import at
from tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    RawServiceRequestFactory,
    UserFactory,
)

WEIGHTS = {
    "on_time": 0.3,
    "resolution": 0.25,
    "satisfaction": 0.25,
    "reopen": 0.1,
    "compliance": 0.1,
}


@pytest.mark.parametrize(
    ("components", "expected"),
    [
        ({"on_time": 1, "resolution": 1, "satisfaction": 1, "reopen": 1, "compliance": 1}, 1.0),
        ({"on_time": 0, "resolution": 0, "satisfaction": 0, "reopen": 0, "compliance": 0}, 0.0),
        ({"on_time": 1, "resolution": 0, "satisfaction": 0, "reopen": 0, "compliance": 0}, 0.3),
        # Nothing rated: the other weights carry the score (0.3 + 0.25) / 0.75.
        (
            {"on_time": 1, "resolution": 1, "satisfaction": None, "reopen": 0, "compliance": 0},
            0.7333,
        ),
        (
            {
                "on_time": None,
                "resolution": None,
                "satisfaction": None,
                "reopen": None,
                "compliance": None,
            },
            None,
        ),
    ],
)
def test_weighted_score(components, expected):
    assert weighted_score(components, WEIGHTS) == expected


def _scores(values, parent=1):
    return [Score(department_id=i + 1, parent_id=parent, score=v) for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("values", "red", "yellow"),
    [
        ([0.9, 0.8, 0.7, 0.6], {1, 2}, {3, 4}),
        ([0.5, 0.9, 0.1, 0.7, 0.3], {2, 4}, {3, 5}),
        ([0.5, 0.5, 0.5, 0.5], {1, 2}, {3, 4}),  # ties: the lower id ranks first
        ([0.9, 0.8, 0.7], set(), set()),  # a group of three gets no flags
    ],
)
def test_award_within_a_peer_group(values, red, yellow):
    awarded = award(_scores(values), peer_group_min=4)
    assert {pk for pk, (color, _s) in awarded.items() if color == FlagColor.RED} == red
    assert {pk for pk, (color, _s) in awarded.items() if color == FlagColor.YELLOW} == yellow


def test_peer_groups_are_separate_and_the_minimum_is_a_setting():
    scores = _scores([0.9, 0.8, 0.7, 0.6], parent=1) + [
        Score(department_id=10 + i, parent_id=2, score=v)
        for i, v in enumerate([0.9, 0.1, 0.5, 0.4])
    ]
    assert len(award(scores, peer_group_min=4)) == 8
    assert award(scores, peer_group_min=5) == {}


def test_flags_are_awarded_and_consecutive_yellow_flags_propose_a_case(bureaus):
    now = at("2026-10-02 09:00")
    flags.award_flags(Period(2026, 2), now=now)
    assert not AccountabilityCase.objects.exists()  # one yellow flag is not yet a pattern
    rows = flags.award_flags(Period(2026, 3), now=now)
    colors = {row.department_id: row.color for row in rows}
    assert colors == {
        bureaus[0].pk: FlagColor.RED,
        bureaus[1].pk: FlagColor.RED,
        bureaus[3].pk: FlagColor.YELLOW,
        bureaus[4].pk: FlagColor.YELLOW,
    }
    cases = AccountabilityCase.objects.filter(source=CaseSource.FLAG)
    assert {case.department_id for case in cases} == {bureaus[3].pk, bureaus[4].pk}
    # Awarding the quarter again keeps the proposals: no second case.
    flags.award_flags(Period(2026, 3), now=now)
    assert cases.count() == 2
    assert FlagAward.objects.filter(year=2026, quarter=3, case__isnull=False).count() == 2


def test_the_count_of_consecutive_yellow_flags_is_a_setting(bureaus):
    settings = ReportSettings.current()
    settings.yellow_flags_for_case = 3
    settings.save()
    for quarter in (2, 3):
        flags.award_flags(Period(2026, quarter), now=at("2026-10-02 09:00"))
    assert not AccountabilityCase.objects.exists()


def test_flags_for_a_quarter_not_yet_awarded_are_provisional(bureaus):
    shown = flags.flags_for(Period(2026, 3), now=at("2026-10-02 09:00"))
    assert shown["provisional"] is True
    assert [f["department"]["id"] for f in shown["red"]] == [bureaus[0].pk, bureaus[1].pk]
    flags.award_flags(Period(2026, 3), now=at("2026-10-02 09:00"))
    stored = flags.flags_for(Period(2026, 3))
    assert stored["provisional"] is False
    assert [f["department"]["id"] for f in stored["yellow"]] == [bureaus[3].pk, bureaus[4].pk]


def test_the_award_command(bureaus, capsys):
    from django.core.management import call_command

    call_command("award_flags", "--year", "2026", "--quarter", "3")
    assert "2026-Q3: 2 red, 2 yellow" in capsys.readouterr().out


def test_consecutive_yellow_flags_open_cases_through_compliance_and_tell_the_inspectors(
    bureaus, monkeypatch
):
    """The proposals are opened by compliance.cases, which tells the inspectors of the
    departments' region (the bureaus' parent covers "city"; another county's inspector is not
    told) with the flags' own message."""
    top = bureaus[0].parent
    UserFactory(username="whole", role=Role.INSPECTOR)
    UserFactory(username="top", role=Role.INSPECTOR, department=top)
    UserFactory(username="bureau", role=Role.INSPECTOR, department=bureaus[3])
    other = DepartmentFactory(name="Elsewhere County", region="elsewhere")
    UserFactory(username="outsider", role=Role.INSPECTOR, department=other)
    opened = []
    real = cases.open_cases

    def spy(openings, **kwargs):
        opened.extend(opening.source for opening in openings)
        return real(openings, **kwargs)

    monkeypatch.setattr(cases, "open_cases", spy)
    now = at("2026-10-02 09:00")
    flags.award_flags(Period(2026, 2), now=now)
    flags.award_flags(Period(2026, 3), now=now)
    assert opened == [CaseSource.FLAG, CaseSource.FLAG]
    told = Notification.objects.filter(kind="flag_case_opened")
    expected = {user.username for user in inspectors_of("city")}
    assert expected == {"whole", "top", "bureau"}
    assert {note.recipient.username for note in told} == expected
    assert told.count() == 2 * len(expected)  # one message per case and inspector
    assert all("2026-Q3" in note.body for note in told)


# --- the provisional flags of a jurisdiction's report ---------------------------------------------


def _report_flags(user) -> dict:
    from reports.selectors import quarterly_report, report_scope

    return quarterly_report(report_scope(user), Period(2026, 3), now=at("2026-10-02 09:00"))[
        "flags"
    ]


@pytest.fixture
def city_passes(monkeypatch) -> list:
    """The city's own passes by department that the flags made (reports.flags._city_rows)."""
    made = []
    city_rows = flags._city_rows

    def counted(*args, **kwargs):
        made.append(args[0])
        return city_rows(*args, **kwargs)

    monkeypatch.setattr(flags, "_city_rows", counted)
    return made


def _inspector_of(region: str):
    return UserFactory(role=Role.INSPECTOR, department=DepartmentFactory(region=region))


def test_a_jurisdiction_over_every_enterprise_scores_the_flags_from_its_own_pass(
    bureaus, city_passes
):
    inspector = _inspector_of("gulou")  # the bureaus' one enterprise is in gulou
    admin = UserFactory(role=Role.ADMIN)
    assert _report_flags(inspector) == _report_flags(admin)
    assert city_passes == []
    yellow = [f["department"]["id"] for f in _report_flags(inspector)["yellow"]]
    assert yellow == [bureaus[3].pk, bureaus[4].pk]


def test_a_jurisdiction_short_of_an_enterprise_scores_the_flags_on_the_whole_city(
    bureaus, city_passes
):
    elsewhere = EnterpriseFactory(region="minhou")
    start = at("2026-07-06 09:00")
    for _ in range(12):  # the worst bureau, all closed outside gulou: no longer among the worst
        RawServiceRequestFactory(
            enterprise=elsewhere,
            department=bureaus[4],
            status="closed",
            submitted_at=start,
            assigned_at=start + dt.timedelta(hours=1),
            answered_at=start + dt.timedelta(hours=2),
            closed_at=start + dt.timedelta(hours=3),
            rating=5,
        )
    inspector = _inspector_of("gulou")
    shown = _report_flags(inspector)
    assert city_passes == [Period(2026, 3)]
    assert shown == _report_flags(UserFactory(role=Role.ADMIN))
    assert bureaus[4].pk not in [f["department"]["id"] for f in shown["yellow"]]
