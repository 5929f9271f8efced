"""Reviews: the enterprise's verdict, a liaison's follow-up call (回访), the enterprise's dispute.

Accepting takes a rating, rejecting a comment and no rating. A liaison records the verdict only
with the call it came from; the call is on the timeline the enterprise reads, and the enterprise
may dispute such a close for 5 working days, which reopens the request with a fresh clock.
"""

import datetime as dt

import pytest
import time_machine
from django.test import Client

from requests_app.deadlines import DISPUTE_DAYS, dispute_until
from requests_app.models import Deadline, RequestEvent, ServiceRequest, Status
from requests_app.workflow import allowed_actions, transition
from tests.conftest import CLOSED_ON_FOLLOW_UP, at, drive, follow_up_call
from tests.factories import ServiceRequestFactory

pytestmark = pytest.mark.django_db

MONDAY = at("2026-03-02 09:00")  # a week without holidays


def _snapshot(service_request):
    row = ServiceRequest.objects.filter(pk=service_request.pk).values().get()
    return row, RequestEvent.objects.filter(request=service_request).count()


def _call(**overrides) -> dict:
    """A follow-up call as a client sends it (JSON)."""
    call = follow_up_call(**overrides)
    if isinstance(call["contacted_at"], dt.datetime):
        call["contacted_at"] = call["contacted_at"].isoformat()
    return call


def _review(api, user, service_request, body):
    return api(user).post(f"/api/v1/requests/{service_request.pk}/review/", body, format="json")


# --- what a review must carry --------------------------------------------------------------------

# (why, reviewer, body, the fields named in the 400)
BAD_REVIEWS = [
    ("accept without a rating", "alice", {"accepted": True}, {"rating"}),
    ("accept with a null rating", "alice", {"accepted": True, "rating": None}, {"rating"}),
    ("accept with rating 6", "alice", {"accepted": True, "rating": 6}, {"rating"}),
    (
        "reject with a rating",
        "alice",
        {"accepted": False, "rating": 4, "comment": "Not fixed."},
        {"rating"},
    ),
    ("reject without a comment", "alice", {"accepted": False}, {"comment"}),
    ("reject with a blank comment", "alice", {"accepted": False, "comment": "  "}, {"comment"}),
    (
        "reject without a comment, with a rating",
        "alice",
        {"accepted": False, "rating": 4},
        {"comment", "rating"},
    ),
    (
        "the enterprise sends a follow-up call",
        "alice",
        {"accepted": True, "rating": 5, "follow_up": "CALL"},
        {"follow_up"},
    ),
    ("liaison without a follow-up call", "liam", {"accepted": True, "rating": 5}, {"follow_up"}),
    (
        "liaison with a null follow-up call",
        "liam",
        {"accepted": True, "rating": 5, "follow_up": None},
        {"follow_up"},
    ),
    (
        "liaison without a rating",
        "liam",
        {"accepted": True, "follow_up": "CALL"},
        {"rating"},
    ),
]
# (why, overrides of a good call, the field of the call named in the 400)
BAD_CALLS = [
    ("by e-mail", {"channel": "email"}, "channel"),
    ("no channel", {"channel": ""}, "channel"),
    ("when in words", {"contacted_at": "yesterday"}, "contacted_at"),
    ("in the future", {"contacted_at": "2999-01-01T09:00:00+08:00"}, "contacted_at"),
    ("an hour from now", "FUTURE", "contacted_at"),
    ("nobody spoken to", {"contact_name": ""}, "contact_name"),
    ("a blank name", {"contact_name": "   "}, "contact_name"),
    ("no note", {"note": ""}, "note"),
    ("a name too long", {"contact_name": "x" * 101}, "contact_name"),
]


@pytest.mark.parametrize(
    "reviewer, body, fields", [c[1:] for c in BAD_REVIEWS], ids=[c[0] for c in BAD_REVIEWS]
)
def test_a_review_missing_what_it_needs_is_400(cast, api, request_in, reviewer, body, fields):
    service_request = request_in("feedback")
    before = _snapshot(service_request)
    if body.get("follow_up") == "CALL":
        body = {**body, "follow_up": _call()}
    response = _review(api, cast[reviewer], service_request, body)
    assert response.status_code == 400, response.content
    assert set(response.json()) == fields
    assert _snapshot(service_request) == before


@pytest.mark.parametrize(
    "overrides, field", [c[1:] for c in BAD_CALLS], ids=[c[0] for c in BAD_CALLS]
)
def test_a_bad_follow_up_call_is_400_on_its_field(cast, api, request_in, overrides, field):
    service_request = request_in("feedback")
    before = _snapshot(service_request)
    if overrides == "FUTURE":
        overrides = {"contacted_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()}
    body = {"accepted": True, "rating": 5, "follow_up": _call(**overrides)}
    response = _review(api, cast.liam, service_request, body)
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["follow_up"]
    assert list(response.json()["follow_up"]) == [field]
    assert _snapshot(service_request) == before


def test_a_follow_up_call_missing_its_fields_names_each(cast, api, request_in):
    service_request = request_in("feedback")
    response = _review(
        api, cast.liam, service_request, {"accepted": True, "rating": 5, "follow_up": {}}
    )
    assert response.status_code == 400
    assert set(response.json()["follow_up"]) == {"channel", "contacted_at", "contact_name", "note"}


# --- reviews that go through ---------------------------------------------------------------------


def test_the_enterprise_accepts_with_a_rating_of_its_own(cast, api, request_in):
    service_request = request_in("feedback")
    response = _review(api, cast.alice, service_request, {"accepted": True, "rating": 4})
    assert response.status_code == 200, response.content
    closed = ServiceRequest.objects.get(pk=service_request.pk)
    assert (closed.status, closed.rating, closed.rated_on_follow_up) == (Status.CLOSED, 4, False)
    assert not closed.events.filter(action="follow_up").exists()
    assert "dispute" not in response.json()["allowed_actions"]


def test_the_enterprise_rejects_with_a_comment_and_no_rating(cast, api, request_in):
    service_request = request_in("feedback")
    response = _review(
        api, cast.alice, service_request, {"accepted": False, "comment": "Still flooded."}
    )
    assert response.status_code == 200, response.content
    reopened = ServiceRequest.objects.get(pk=service_request.pk)
    assert (reopened.status, reopened.rating, reopened.reopen_count) == (Status.RECTIFYING, None, 1)


def test_a_liaison_closes_on_a_follow_up_call_the_enterprise_sees(cast, api, request_in):
    service_request = request_in("feedback")
    call = _call(channel="visit", contact_name="Alice Wang", note="She is satisfied.")
    response = _review(
        api,
        cast.liam,
        service_request,
        {"accepted": True, "rating": 5, "comment": "Closed on a visit.", "follow_up": call},
    )

    assert response.status_code == 200, response.content
    closed = ServiceRequest.objects.get(pk=service_request.pk)
    assert (closed.status, closed.rating) == (Status.CLOSED, 5)
    assert closed.rated_on_follow_up is True  # counts in satisfaction_follow_up, not satisfaction
    events = api(cast.alice).get(f"/api/v1/requests/{service_request.pk}/events/").json()
    follow_up, review = events["results"][-2:]
    assert follow_up["action"] == "follow_up"
    assert follow_up["actor"]["id"] == cast.liam.pk
    assert follow_up["note"] == "She is satisfied."
    data = follow_up["data"]
    contacted_at = dt.datetime.fromisoformat(data.pop("contacted_at"))
    assert contacted_at == dt.datetime.fromisoformat(call["contacted_at"])
    assert data == {
        "channel": "visit",
        "contact_name": "Alice Wang",
        "note": "She is satisfied.",
        "rating": 5,
        "accepted": True,
    }
    assert (review["action"], review["to_status"]) == ("review", "closed")
    # The enterprise may now dispute what its liaison recorded.
    detail = api(cast.alice).get(f"/api/v1/requests/{service_request.pk}/").json()
    assert "dispute" in detail["allowed_actions"]


def test_a_liaison_records_a_rejection_on_the_call(cast, api, request_in):
    service_request = request_in("feedback")
    body = {
        "accepted": False,
        "comment": "The enterprise says the gate is still blocked.",
        "follow_up": _call(note="Still blocked."),
    }
    response = _review(api, cast.liam, service_request, body)
    assert response.status_code == 200, response.content
    reopened = ServiceRequest.objects.get(pk=service_request.pk)
    assert (reopened.status, reopened.reopen_count) == (Status.RECTIFYING, 1)
    assert (reopened.rating, reopened.rated_on_follow_up) == (None, False)
    call = reopened.events.get(action="follow_up")
    assert (call.data["accepted"], call.data["rating"]) == (False, None)


# --- disputes ------------------------------------------------------------------------------------


def _closed_on_a_call(cast, when) -> ServiceRequest:
    with time_machine.travel(when, tick=False):
        return drive(
            cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), CLOSED_ON_FOLLOW_UP
        )


def test_the_window_is_five_working_days(statutory):
    friday = at("2026-03-06 10:00")
    assert DISPUTE_DAYS == 5
    assert dispute_until(friday) == at("2026-03-13 10:00")  # the weekend does not count


def test_a_dispute_within_the_window_reopens_with_a_fresh_clock(cast, api):
    service_request = _closed_on_a_call(cast, MONDAY)
    assert service_request.rated_on_follow_up and service_request.closed_at == MONDAY
    with time_machine.travel(at("2026-03-09 08:59"), tick=False):  # the last minute
        response = api(cast.alice).post(
            f"/api/v1/requests/{service_request.pk}/dispute/",
            {"reason": "Nobody called me; the gate is still blocked."},
            format="json",
        )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "rectifying"
    reopened = ServiceRequest.objects.get(pk=service_request.pk)
    assert reopened.status == Status.RECTIFYING
    assert reopened.reopen_count == 1
    assert (reopened.rating, reopened.rated_on_follow_up, reopened.closed_at) == (None, False, None)
    # Monday 08:59 + 3 working days.
    assert reopened.answer_due_at == at("2026-03-12 08:59")
    answer = Deadline.objects.get(request=reopened, clock="answer")
    assert (answer.due_at, answer.cycle, answer.running, answer.stage) == (
        reopened.answer_due_at,
        1,
        True,
        0,
    )
    event = reopened.events.order_by("-seq").first()
    assert (event.action, event.actor_id) == ("dispute", cast.alice.pk)
    assert (event.from_status, event.to_status) == ("closed", "rectifying")
    assert event.note == "Nobody called me; the gate is still blocked."
    assert dt.datetime.fromisoformat(event.data["closed_at"]) == MONDAY


def test_a_dispute_after_the_window_is_409_and_changes_nothing(cast, api):
    service_request = _closed_on_a_call(cast, MONDAY)
    before = _snapshot(service_request)
    with time_machine.travel(at("2026-03-09 09:01"), tick=False):
        response = api(cast.alice).post(
            f"/api/v1/requests/{service_request.pk}/dispute/", {"reason": "Late."}, format="json"
        )
        assert "dispute" not in allowed_actions(service_request, cast.alice)
    assert response.status_code == 409
    assert response.json()["status"] == "closed"
    assert _snapshot(service_request) == before


def test_a_close_the_enterprise_made_itself_is_not_disputed(cast, api, request_in):
    service_request = request_in("closed")  # alice accepted with her own rating
    before = _snapshot(service_request)
    response = api(cast.alice).post(
        f"/api/v1/requests/{service_request.pk}/dispute/",
        {"reason": "Changed my mind."},
        format="json",
    )
    assert response.status_code == 409
    assert _snapshot(service_request) == before


@pytest.mark.parametrize(
    "persona, code",
    [("liam", 403), ("hank", 403), ("leona", 403), ("ada", 403), ("mallory", 404), ("olga", 404)],
)
def test_only_the_enterprise_disputes(cast, api, request_in, persona, code):
    service_request = request_in(CLOSED_ON_FOLLOW_UP)
    before = _snapshot(service_request)
    response = api(cast[persona]).post(
        f"/api/v1/requests/{service_request.pk}/dispute/", {"reason": "No."}, format="json"
    )
    assert response.status_code == code
    assert _snapshot(service_request) == before


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": " \n "}])
def test_a_dispute_needs_a_reason(cast, api, request_in, body):
    service_request = request_in(CLOSED_ON_FOLLOW_UP)
    before = _snapshot(service_request)
    response = api(cast.alice).post(
        f"/api/v1/requests/{service_request.pk}/dispute/", body, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()
    assert _snapshot(service_request) == before


def test_a_disputed_request_answered_again_may_be_closed_again(cast, request_in):
    service_request = request_in(CLOSED_ON_FOLLOW_UP)
    transition(service_request.pk, "dispute", by=cast.alice, reason="Not fixed.")
    transition(service_request.pk, "feedback", by=cast.hank, message="Rebuilt the gate.")
    closed = transition(service_request.pk, "review", by=cast.alice, accepted=True, rating=4)
    assert (closed.status, closed.reopen_count, closed.rated_on_follow_up) == ("closed", 1, False)


# --- the pages -----------------------------------------------------------------------------------


def _page(user, language) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "language, words",
    [
        (
            "zh-hans",
            ["回访方式", "回访时间", "回访对象（企业方姓名）", "回访记录（企业意见）", "电话回访"],
        ),
        (
            "en",
            [
                "How the enterprise was reached",
                "When the call took place",
                "Spoke with (name at the enterprise)",
                "What the enterprise said",
                "Phone call",
            ],
        ),
    ],
)
def test_the_liaisons_review_form_records_the_call(cast, request_in, language, words):
    service_request = request_in("feedback")
    html = _page(cast.liam, language).get(f"/requests/{service_request.pk}/").content.decode()
    for word in words:
        assert word in html
    assert 'type="datetime-local"' in html
    response = _page(cast.liam, language).post(
        f"/requests/{service_request.pk}/act/review/",
        {
            "accepted": "true",
            "rating": "5",
            "follow_up_channel": "",
            "follow_up_contacted_at": "",
            "follow_up_contact_name": "",
            "follow_up_note": "",
        },
    )
    page = response.content.decode()
    for name in ("channel", "contacted_at", "contact_name", "note"):
        assert f'id="err-review_accept-follow_up_{name}"' in page
    assert ServiceRequest.objects.get(pk=service_request.pk).status == Status.FEEDBACK


def test_the_entrepreneurs_page_says_until_when_to_dispute(cast):
    service_request = _closed_on_a_call(cast, MONDAY)
    with time_machine.travel(at("2026-03-03 10:00"), tick=False):
        zh = _page(cast.alice, "zh-hans").get(f"/requests/{service_request.pk}/").content.decode()
        en = _page(cast.alice, "en").get(f"/requests/{service_request.pk}/").content.decode()
    assert "对回访结果提出异议" in zh and "2026-03-09 09:00" in zh and "回访" in zh
    assert "Dispute the follow-up call" in en and "you may dispute it until 2026-03-09 09:00" in en
    assert "Dispute the follow-up call" not in zh
    with time_machine.travel(at("2026-03-10 10:00"), tick=False):
        late = _page(cast.alice, "en").get(f"/requests/{service_request.pk}/").content.decode()
    assert "Dispute the follow-up call" not in late


# --- the review on the page: one form to accept, one to reject ------------------------------------


def _forms(html: str) -> dict[str, str]:
    """Each review form of the page by its key, as the HTML of its <details>."""
    return {
        key: html[html.index(f'id="action-{key}"') :].split("</details>", 1)[0]
        for key in ("review_accept", "review_reject")
    }


def test_the_page_offers_accept_with_a_rating_and_reject_with_what_is_wrong(cast, request_in):
    service_request = request_in("feedback")
    html = _page(cast.alice, "en").get(f"/requests/{service_request.pk}/").content.decode()
    accept, reject = _forms(html).values()
    act = f'action="/requests/{service_request.pk}/act/review/"'
    assert act in accept and act in reject  # both are the one review action
    assert '<input type="hidden" name="accepted" value="true">' in accept
    assert '<input type="hidden" name="accepted" value="false">' in reject
    # Accept: a rating is required, the comment is not; Reject: what is wrong is, no rating.
    assert '<select name="rating" required id="review_accept-rating">' in accept
    assert 'for="review_accept-rating">Rating <span class="req"' in accept
    assert '<label for="review_accept-comment">Comment (optional)</label>' in accept
    assert 'name="rating"' not in reject
    assert 'for="review_reject-comment">What is still wrong <span class="req"' in reject
    assert ">Accept the answer</button>" in accept and ">Reject the answer</button>" in reject


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_accepting_on_the_page_closes_with_the_rating(cast, request_in, language):
    service_request = request_in("feedback")
    response = _page(cast.alice, language).post(
        f"/requests/{service_request.pk}/act/review/",
        {"accepted": "true", "rating": "4", "comment": ""},
    )
    assert response.status_code == 302
    service_request.refresh_from_db()
    assert (service_request.status, service_request.rating) == (Status.CLOSED, 4)


def test_rejecting_on_the_page_reopens_with_what_is_wrong(cast, request_in):
    service_request = request_in("feedback")
    response = _page(cast.alice, "en").post(
        f"/requests/{service_request.pk}/act/review/",
        {"accepted": "false", "comment": "The drain still floods."},
    )
    assert response.status_code == 302
    service_request.refresh_from_db()
    assert (service_request.status, service_request.reopen_count) == (Status.RECTIFYING, 1)
    assert service_request.rating is None
    review = RequestEvent.objects.filter(request=service_request).order_by("-seq").first()
    assert (review.action, review.note) == ("review", "The drain still floods.")


@pytest.mark.parametrize(
    "posted, form, field, message",
    [
        (
            {"accepted": "true", "rating": "", "comment": "Fine."},
            "review_accept",
            "rating",
            "Give a rating from 1 to 5 to accept.",
        ),
        (
            {"accepted": "false", "comment": "   "},
            "review_reject",
            "comment",
            "Say why the answer is not acceptable.",
        ),
    ],
    ids=["accept without a rating", "reject without a reason"],
)
def test_what_a_verdict_needs_is_asked_on_its_own_form(
    cast, request_in, posted, form, field, message
):
    service_request = request_in("feedback")
    before = _snapshot(service_request)
    response = _page(cast.alice, "en").post(f"/requests/{service_request.pk}/act/review/", posted)
    assert response.status_code == 200
    html = response.content.decode()
    errors = html[html.index(f'id="err-{form}-{field}"') :].split("</ul>", 1)[0]
    assert message in errors
    # The form that failed is the one open again, with what was typed.
    assert f'id="action-{form}" open' in html
    assert _snapshot(service_request) == before


@pytest.mark.parametrize(
    "persona, code", [("hank", 403), ("leona", 403), ("olga", 404), ("mallory", 404)]
)
def test_who_may_not_review_is_refused_on_the_page_and_nothing_changes(
    cast, request_in, persona, code
):
    """The handler and the leader see the request but may not review it (403); someone who may
    not see it gets 404, as everywhere else."""
    service_request = request_in("feedback")
    before = _snapshot(service_request)
    url = f"/requests/{service_request.pk}/act/review/"
    for posted in ({"accepted": "true", "rating": "5"}, {"accepted": "false", "comment": "No."}):
        assert _page(getattr(cast, persona), "en").post(url, posted).status_code == code
    html = _page(getattr(cast, persona), "en").get(f"/requests/{service_request.pk}/")
    if code == 403:
        assert 'id="action-review_accept"' not in html.content.decode()
    assert _snapshot(service_request) == before
