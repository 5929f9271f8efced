"""Who hears what: every row of `requests_app.notices.WHO_HEARS`, driven through the workflow.

For each row, the event happens to a request of acme the way people would make it happen, and
each person of the row's audience (but the one who acted) finds one message of the row's kind
in their inbox, in their own language. A second test per event checks that nobody outside the
table's rows for that event heard anything. The README's table is the command's output.
"""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from compliance.services import record_declaration
from notifications.messages import MESSAGES
from notifications.models import Notification
from officials.models import EnterpriseLink, LinkKind
from requests_app.management.commands.who_hears_what import ELSEWHERE, table
from requests_app.notices import WHO_HEARS
from requests_app.workflow import submit_request, transition
from tests.conftest import drive
from tests.factories import ServiceRequestFactory, category

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"
CJK = re.compile(r"[\u4e00-\u9fff]")

# Alternate languages, so a message written in the actor's (or the server's) language shows.
LANGUAGES = {
    "alice": "en",
    "liam": "zh-hans",
    "hank": "en",
    "hilda": "zh-hans",
    "hugo": "zh-hans",
    "leona": "en",
    "ada": "zh-hans",
}


def _feedback(cast):
    return drive(cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), "feedback")


def _follow_up(accepted: bool) -> dict:
    payload = {
        "accepted": accepted,
        "follow_up": {
            "channel": "phone",
            "contacted_at": dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
            "contact_name": "Alice",
            "note": "Called Alice; she confirmed the road is repaved."
            if accepted
            else "Called Alice; the gate is still blocked.",
        },
    }
    if accepted:
        payload["rating"] = 4
    else:
        payload["comment"] = "The gate is still blocked."
    return payload


def _act(cast, request, action, actor, **payload):
    return request, cast[actor], lambda: transition(request.pk, action, by=cast[actor], **payload)


def _submit(cast):
    def run():
        return submit_request(
            by=cast.alice,
            enterprise=cast.acme,
            category=category(),
            title="Potholes at the east gate",
            description="The road to the east gate is broken.",
        )

    return None, cast.alice, run


def _submit_unrouted(cast):
    EnterpriseLink.objects.filter(enterprise=cast.acme, kind=LinkKind.LIAISON).delete()
    return _submit(cast)


def _liaison_recuses(cast):
    request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    record_declaration(by=cast.liam, enterprise=cast.acme, relation="relative_owner")
    return _act(cast, request, "assign", "liam", department=cast.roads, handler=cast.hank)


def _liaison_recuses_none_left(cast):
    return _liaison_recuses(cast)


def _in(cast, state):
    return drive(cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), state)


def _extend(cast, request):
    until = request.answer_due_at + dt.timedelta(days=7)
    return _act(cast, request, "extend", "hank", until=until, plan="Week 1: survey. 2: repave.")


def _closed_on_follow_up(cast):
    request = _feedback(cast)
    return transition(request.pk, "review", by=cast.liam, **_follow_up(True))


SCENARIOS = {
    ("submit", "has_liaison"): _submit,
    ("submit", "no_liaison"): _submit_unrouted,
    ("liaison_recused", "has_liaison"): None,  # set below: needs a second liaison
    ("liaison_recused", "no_liaison"): _liaison_recuses_none_left,
    ("assign", "always"): lambda c: _act(
        c, _in(c, "submitted"), "assign", "liam", department=c.roads
    ),
    ("reject", "always"): lambda c: _act(
        c, _in(c, "submitted"), "reject", "liam", reason="A private contract dispute."
    ),
    ("merge", "always"): lambda c: _act(
        c,
        _in(c, "submitted"),
        "merge",
        "liam",
        into=ServiceRequestFactory(enterprise=c.acme, by=c.alice),
    ),
    ("transfer", "always"): lambda c: _act(
        c,
        _in(c, "rectifying"),
        "transfer",
        "hank",
        department=c.environment,
        reason="Drainage, not paving.",
    ),
    ("request_info", "always"): lambda c: _act(
        c, _in(c, "rectifying"), "request_info", "hank", question="Which gate?"
    ),
    ("provide_info", "always"): lambda c: _act(
        c, _in(c, "info_needed"), "provide_info", "alice", answer="The east gate."
    ),
    ("feedback", "always"): lambda c: _act(
        c, _in(c, "rectifying"), "feedback", "hank", message="Repaved."
    ),
    ("review", "closed_by_enterprise"): lambda c: _act(
        c, _feedback(c), "review", "alice", accepted=True, rating=5
    ),
    ("review", "rejected_by_enterprise"): lambda c: _act(
        c, _feedback(c), "review", "alice", accepted=False, comment="Still broken."
    ),
    ("review", "closed_on_follow_up"): lambda c: _act(
        c, _feedback(c), "review", "liam", **_follow_up(True)
    ),
    ("review", "reopened_on_follow_up"): lambda c: _act(
        c, _feedback(c), "review", "liam", **_follow_up(False)
    ),
    ("dispute", "always"): lambda c: _act(
        c, _closed_on_follow_up(c), "dispute", "alice", reason="I never said it was fixed."
    ),
    ("extend", "always"): lambda c: _extend(c, _in(c, "rectifying")),
    ("approve_extension", "always"): lambda c: _act(
        c, _in(c, "rectifying+extension_pending"), "approve_extension", "leona"
    ),
    ("refuse_extension", "always"): lambda c: _act(
        c,
        _in(c, "rectifying+extension_pending"),
        "refuse_extension",
        "leona",
        reason="Two weeks is too long for a pothole.",
    ),
    ("withdraw", "always"): lambda c: _act(
        c, _in(c, "rectifying"), "withdraw", "alice", reason="Fixed by ourselves."
    ),
}


def _recuses_with_another_liaison(cast):
    # A second liaison of the district, with no tie, may take the request over.
    from tests.factories import UserFactory

    cast.gulou_liaison = UserFactory(
        username="gina", name="Gina", role="liaison", department=cast.gulou, language="en"
    )
    return _liaison_recuses(cast)


SCENARIOS[("liaison_recused", "has_liaison")] = _recuses_with_another_liaison


def _happen(cast, event: str, when: str):
    """Run the scenario; return (the request after the event, the actor, the new messages)."""
    for name, language in LANGUAGES.items():
        cast[name].language = language
        cast[name].save(update_fields=["language"])
    request, actor, run = SCENARIOS[(event, when)](cast)
    before = set(Notification.objects.values_list("pk", flat=True))
    try:
        result = run()
    except Exception as refusal:  # a recusal is refused (400) but still reassigns the request
        if event != "liaison_recused":
            raise
        result = None
        assert "回避" in str(refusal.args) or refusal.__class__.__name__ == "Recusal"
    after = Notification.objects.exclude(pk__in=before).select_related("recipient")
    if result is None and request is not None:
        request.refresh_from_db()
        result = request
    return result, actor, list(after)


def _audience(cast, request, notice) -> set[str]:
    """The usernames the row names, for this cast."""
    names = {
        "enterprise": {"alice"},
        "handler": {request.handler.username} if request.handler_id else None,
        "liaison": {request.liaison.username} if request.liaison_id else set(),
        "approvers": {"leona"},
        "region_admins": {"ada"},
    }[notice.audience]
    if names is None:  # before signing: every handler of the department
        names = {
            user.username
            for user in request.department.staff.filter(role="handler", is_active=True)
        }
    return names


@pytest.mark.parametrize(
    "notice",
    WHO_HEARS,
    ids=[f"{n.event}-{n.when}-{n.audience}-{n.kind}" for n in WHO_HEARS],
)
def test_each_row_reaches_its_audience_in_their_language(cast, notice):
    request, actor, sent = _happen(cast, notice.event, notice.when)
    expected = _audience(cast, request, notice) - {actor.username}
    assert expected, "a row that tells nobody in its own scenario proves nothing"
    got = [message for message in sent if message.kind == notice.kind]
    assert expected <= {message.recipient.username for message in got}
    for message in got:
        if message.recipient.username not in expected:
            continue
        assert message.link.endswith(f"/{request.pk}/")
        assert request.reference in message.subject
        if message.recipient.language == "en":
            assert not CJK.search(message.subject), message.subject
        else:
            assert CJK.search(message.subject), message.subject
        assert "%(" not in message.body


EVENTS = sorted({(notice.event, notice.when) for notice in WHO_HEARS})


@pytest.mark.parametrize("event, when", EVENTS, ids=[f"{e}-{w}" for e, w in EVENTS])
def test_nobody_outside_the_table_hears_of_an_event(cast, event, when):
    request, actor, sent = _happen(cast, event, when)
    allowed = set()
    for notice in WHO_HEARS:
        if (notice.event, notice.when) == (event, when):
            allowed |= {(name, notice.kind) for name in _audience(cast, request, notice)}
    heard = {(message.recipient.username, message.kind) for message in sent}
    assert heard == allowed - {(actor.username, kind) for _name, kind in allowed}


def test_the_liaison_is_not_asked_to_review_the_answer(cast):
    # The old rule sent the enterprise's "please review" message to the liaison too.
    request, _actor, sent = _happen(cast, "feedback", "always")
    assert [(m.recipient.username, m.kind) for m in sent] == [("alice", "feedback_given")]
    assert request.liaison.username == "liam"


def test_every_message_is_in_the_table():
    kinds = {notice.kind for notice in WHO_HEARS} | {kind for _event, kind, _who in ELSEWHERE}
    assert kinds == set(MESSAGES)


def test_the_readme_table_is_the_code_table(capsys):
    call_command("who_hears_what")
    printed = capsys.readouterr().out
    assert printed == table()
    assert printed in README.read_text(encoding="utf-8")
