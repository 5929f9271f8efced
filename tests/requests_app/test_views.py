"""The server-rendered pages of the request loop: each role's pages, forms, errors and escaping."""

import datetime as dt
import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.forms import QuickSelect
from officials.models import Enterprise, EnterpriseClaim, EnterpriseMember
from requests_app.deadlines import DeadlinePolicy
from requests_app.forms import HandlerSelect
from requests_app.models import Attachment, RequestEvent, ServiceRequest, Status
from requests_app.presenters import clock_badge
from requests_app.workflow import transition
from tests import pages
from tests.conftest import INSIDERS, OUTSIDERS, PENDING_EXTENSION
from tests.factories import PASSWORD, ServiceRequestFactory, credit_code

pytestmark = pytest.mark.django_db

LANGUAGES = ["zh-hans", "en"]
SETLANG = 'action="/i18n/setlang/"'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def page_client(user=None, language="zh-hans") -> Client:
    """These pages are read in Chinese unless a test says otherwise."""
    return pages.page_client(user, language)


def snapshot(service_request):
    return (
        ServiceRequest.objects.filter(pk=service_request.pk).values().get(),
        RequestEvent.objects.filter(request=service_request).count(),
    )


# --- each role's pages render, in both languages ---------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role", sorted(INSIDERS))
def test_each_role_sees_its_list_and_the_detail(cast, request_in, role, language):
    """The list (queue or history) and the detail page answer 200, in the chosen language."""
    service_request = request_in("rectifying")
    client = page_client(cast[INSIDERS[role]], language)
    listing = client.get("/requests/")
    assert listing.status_code == 200
    assert service_request.title in listing.content.decode()
    detail = client.get(f"/requests/{service_request.pk}/")
    assert detail.status_code == 200
    html = detail.content.decode()
    assert service_request.title in html
    expected = "时间线" if language == "zh-hans" else "Timeline"
    assert expected in html
    assert f'lang="{"zh-Hans" if language == "zh-hans" else "en"}"' in html


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("alice", "/requests/new/"),
        ("alice", "/enterprises/new/"),
        ("alice", "/requests/?status=closed"),
        ("liam", "/requests/new/"),
        ("liam", "/requests/?overdue=true&search=road&category=infrastructure"),
        ("leona", "/extensions/"),
        ("ada", "/extensions/"),
        ("hank", "/requests/?status=rectifying"),
    ],
)
def test_other_pages_render(cast, request_in, username, path, language):
    request_in("rectifying")
    assert page_client(cast[username], language).get(path).status_code == 200


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("hank", "/requests/new/"),
        ("ivan", "/requests/new/"),
        ("liam", "/enterprises/new/"),
        ("alice", "/extensions/"),
    ],
)
def test_pages_of_other_roles_are_forbidden(cast, username, path):
    assert page_client(cast[username]).get(path).status_code == 403


def test_anonymous_visitors_are_sent_to_the_login_page(cast, request_in):
    service_request = request_in("submitted")
    for path in ["/requests/", f"/requests/{service_request.pk}/", "/requests/new/"]:
        response = page_client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


# --- the queue costs the same number of queries for 3 rows or 30 -------------------------------


def _count_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


@pytest.mark.parametrize(("username", "path"), [("liam", "/requests/"), ("alice", "/requests/")])
def test_list_runs_a_constant_number_of_queries(cast, username, path):
    client = page_client(cast[username])
    client.get(path)  # what a process keeps once read (the bulk bar's departments and handlers)
    for _ in range(3):
        ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    few = _count_queries(client, path)
    for _ in range(27):
        ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    many = _count_queries(client, path)
    assert few == many
    assert ServiceRequest.objects.count() == 30


def test_list_columns_sort_both_ways_and_say_how(cast):
    """The deadline and filing columns link to the list sorted by them (the other filters
    kept), and the header says the current direction; the queue's own order is its deadline."""
    now = timezone.now()
    first = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title="First filed")
    first.submitted_at = now - dt.timedelta(days=2)
    first.save(update_fields=["submitted_at"])
    ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title="Second filed")
    client = page_client(cast.liam, "en")
    html = client.get("/requests/", {"category": ""}).content.decode()
    assert re.search(r'aria-sort="ascending"><a class="sort sort-ascending" href="[^"]*"', html)
    filed = re.search(r'aria-sort="none"><a class="sort sort-none" href="\?([^"]*)"', html)
    assert "ordering=-submitted_at" in filed.group(1) and "category=" in filed.group(1)
    newest = client.get("/requests/?ordering=-submitted_at").content.decode()
    assert newest.index("Second filed") < newest.index("First filed")
    assert (
        'aria-sort="descending"><a class="sort sort-descending" href="?ordering=submitted_at"'
        in newest
    )
    oldest = client.get("/requests/?ordering=submitted_at").content.decode()
    assert oldest.index("First filed") < oldest.index("Second filed")


def test_the_entrepreneurs_status_filter_says_all_not_the_queue(cast):
    html = page_client(cast.alice, "en").get("/requests/").content.decode()
    assert "Open (the queue)" not in html
    assert "Open (the queue)" in page_client(cast.liam, "en").get("/requests/").content.decode()


def test_the_enterprise_filter_offers_the_readers_enterprises_and_marks_the_chosen(cast):
    cast.globex.name = "Globex <Textiles> & Co"
    cast.globex.save()
    client = page_client(cast.ada, "en")  # an administrator: every enterprise
    select = re.search(
        r'<select name="enterprise" id="f-enterprise">(.*?)</select>',
        client.get(f"/requests/?enterprise={cast.globex.pk}").content.decode(),
    ).group(1)
    assert select.startswith('<option value="">All</option>')
    assert f'<option value="{cast.acme.pk}">{cast.acme.name}</option>' in select
    assert f'<option value="{cast.globex.pk}" selected>Globex &lt;Textiles&gt; &amp; Co' in select
    # One enterprise (alice's): nothing to choose.
    assert 'name="enterprise"' not in page_client(cast.alice).get("/requests/").content.decode()


def test_queue_is_sorted_by_nearest_deadline_and_paginated(cast):
    now = timezone.now()
    late = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, now=now - dt.timedelta(9))
    fresh = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, now=now)
    html = page_client(cast.liam).get("/requests/").content.decode()
    assert html.index(late.title) < html.index(fresh.title)
    assert "badge late" in html and "badge ok" in html


# --- clock badges ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due_in", "level", "text"),
    [
        (dt.timedelta(days=1, hours=3), "ok", "1d 3h left"),
        (dt.timedelta(hours=5), "warn", "5h left"),
        (-dt.timedelta(hours=5), "late", "5h overdue"),
    ],
)
def test_clock_badge(due_in, level, text):
    now = timezone.now()
    service_request = ServiceRequest(
        status=Status.SUBMITTED,
        assign_due_at=now + due_in,
        answer_due_at=now + dt.timedelta(days=3),
    )
    with timezone.override("Asia/Shanghai"):
        from django.utils import translation

        with translation.override("en"):
            badge = clock_badge(service_request, now, DeadlinePolicy())
    assert (badge.level, badge.text) == (level, text)


def test_clock_badge_in_chinese_and_paused():
    from django.utils import translation

    now = timezone.now()
    late = ServiceRequest(status=Status.RECTIFYING, answer_due_at=now - dt.timedelta(hours=5))
    with translation.override("zh-hans"):
        assert clock_badge(late, now, DeadlinePolicy()).text == "超期 5小时"
    paused = ServiceRequest(status=Status.INFO_NEEDED, answer_due_at=now)
    assert clock_badge(paused, now, DeadlinePolicy()).level == "paused"
    assert clock_badge(ServiceRequest(status=Status.CLOSED), now, DeadlinePolicy()) is None


# --- actions from the detail page ------------------------------------------------------------


def test_an_allowed_action_runs_and_redirects(cast, request_in):
    service_request = request_in("submitted")
    response = page_client(cast.liam).post(
        f"/requests/{service_request.pk}/act/assign/",
        {"department": cast.roads.pk, "handler": "", "note": "Please fix the gate road."},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/requests/{service_request.pk}/"
    service_request.refresh_from_db()
    assert (service_request.status, service_request.department) == (Status.ASSIGNED, cast.roads)


def test_detail_offers_a_form_for_each_allowed_action(cast, request_in):
    service_request = request_in("submitted")
    html = page_client(cast.liam, "en").get(f"/requests/{service_request.pk}/").content.decode()
    assert set(re.findall(r'id="action-(\w+)"', html)) == {"assign", "reject", "merge", "comment"}
    assert 'name="department"' in html and "Reject as out of scope" in html


def test_an_invalid_transition_answers_409_and_changes_nothing(cast, request_in):
    service_request = request_in("closed")
    before = snapshot(service_request)
    response = page_client(cast.liam).post(
        f"/requests/{service_request.pk}/act/assign/", {"department": cast.roads.pk}
    )
    assert response.status_code == 409
    assert SETLANG in response.content.decode()
    assert snapshot(service_request) == before


def test_an_action_of_another_role_answers_403_and_an_outsider_404(cast, request_in):
    service_request = request_in("submitted")
    before = snapshot(service_request)
    url = f"/requests/{service_request.pk}/act/assign/"
    assert page_client(cast.alice).post(url, {"department": cast.roads.pk}).status_code == 403
    assert page_client(cast.olga).post(url, {"department": cast.roads.pk}).status_code == 404
    assert page_client(cast.liam).post(f"/requests/{service_request.pk}/act/nope/").status_code == (
        404
    )
    assert snapshot(service_request) == before


def test_invalid_input_is_shown_next_to_the_field(cast, request_in):
    service_request = request_in("submitted")
    before = snapshot(service_request)
    response = page_client(cast.liam, "en").post(
        f"/requests/{service_request.pk}/act/reject/", {"reason": "   "}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="err-reject-reason"' in html
    assert snapshot(service_request) == before


def test_workflow_errors_are_shown_next_to_the_field(cast, request_in):
    """The handler must belong to the chosen department: the workflow says so, on the field."""
    service_request = request_in("submitted")
    response = page_client(cast.liam, "en").post(
        f"/requests/{service_request.pk}/act/assign/",
        {"department": cast.environment.pk, "handler": cast.hank.pk},
    )
    assert response.status_code == 200
    assert 'id="err-assign-handler"' in response.content.decode()
    assert ServiceRequest.objects.get(pk=service_request.pk).status == Status.SUBMITTED


def test_merge_by_reference(cast, request_in):
    duplicate = request_in("submitted")
    original = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    response = page_client(cast.liam).post(
        f"/requests/{duplicate.pk}/act/merge/", {"into": original.reference.lower()}
    )
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into_id) == (Status.MERGED, original.pk)


def test_the_merge_form_offers_the_enterprises_open_requests_and_the_merged_page_names_it(
    cast, request_in
):
    duplicate = request_in("submitted")
    original = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice, title="Gate road")
    other = ServiceRequestFactory(enterprise=cast.globex, by=cast.mallory, title="Elsewhere")
    html = page_client(cast.liam, "en").get(f"/requests/{duplicate.pk}/").content.decode()
    offered = re.search(r'<datalist id="merge-into-candidates">(.*?)</datalist>', html, re.S)
    assert offered is not None and 'list="merge-into-candidates"' in html
    assert f'<option value="{original.reference}">Gate road</option>' in offered.group(1)
    assert other.reference not in offered.group(1)  # another enterprise's
    assert duplicate.reference not in offered.group(1)  # itself
    page_client(cast.liam).post(
        f"/requests/{duplicate.pk}/act/merge/", {"into": original.reference}
    )
    html = page_client(cast.liam, "en").get(f"/requests/{duplicate.pk}/").content.decode()
    assert f">{original.reference}</a>" in html
    assert f"#{original.pk}<" not in html


def test_the_handler_picker_says_each_handlers_department(cast, request_in):
    """Grouped by department, each option carrying its department for the page's script; the
    picker follows the assign form's own department select."""
    service_request = request_in("submitted")
    html = page_client(cast.liam, "en").get(f"/requests/{service_request.pk}/").content.decode()
    picker = re.search(r'<select name="handler"(.*?)</select>', html, re.S).group(0)
    assert 'data-follows="assign-department"' in picker and 'id="assign-department"' in html
    assert f'<optgroup label="{cast.roads.name}">' in picker
    assert re.search(rf'<option value="{cast.hank.pk}" data-department="{cast.roads.pk}">', picker)
    assert "requests/pickers" in html


def test_merge_into_an_unknown_number_is_refused_on_the_field(cast, request_in):
    duplicate = request_in("submitted")
    response = page_client(cast.liam).post(
        f"/requests/{duplicate.pk}/act/merge/", {"into": "QQ-NOPE"}
    )
    assert 'id="err-merge-into"' in response.content.decode()
    assert ServiceRequest.objects.get(pk=duplicate.pk).status == Status.SUBMITTED


def test_the_enterprise_reviews_with_a_rating(cast, request_in):
    service_request = request_in("feedback")
    client = page_client(cast.alice)
    response = client.post(
        f"/requests/{service_request.pk}/act/review/", {"accepted": "true", "rating": ""}
    )
    assert 'id="err-review_accept-rating"' in response.content.decode()
    response = client.post(
        f"/requests/{service_request.pk}/act/review/",
        {"accepted": "true", "rating": "5", "comment": "Thanks"},
    )
    assert response.status_code == 302
    service_request.refresh_from_db()
    assert (service_request.status, service_request.rating) == (Status.CLOSED, 5)


def test_the_handler_asks_for_an_extension_with_a_local_date(cast, request_in):
    service_request = request_in("rectifying")
    until = timezone.localtime(service_request.answer_due_at + dt.timedelta(days=10))
    response = page_client(cast.hank).post(
        f"/requests/{service_request.pk}/act/extend/",
        {"until": until.strftime("%Y-%m-%dT%H:%M"), "plan": "Survey, then repave."},
    )
    assert response.status_code == 302
    service_request.refresh_from_db()
    assert service_request.extension_until == until.replace(second=0, microsecond=0)
    html = page_client(cast.leona).get("/extensions/").content.decode()
    assert service_request.title in html and "approve_extension" in html


def test_liaison_card_is_on_the_entrepreneurs_detail_page(cast):
    cast.liam.title, cast.liam.phone = "Commissioner", "0591-1234567"
    cast.liam.save()
    service_request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    html = page_client(cast.alice).get(f"/requests/{service_request.pk}/").content.decode()
    assert "Commissioner" in html and "0591-1234567" in html and cast.liam.email in html


# --- inspectors verify the chain -----------------------------------------------------------


def test_inspector_sees_hashes_and_verifies(cast, request_in):
    service_request = request_in("closed")
    client = page_client(cast.ivan, "en")
    html = client.get(f"/requests/{service_request.pk}/").content.decode()
    first = RequestEvent.objects.filter(request=service_request).order_by("seq").first()
    assert first.hash[:12] in html
    response = client.post(f"/requests/{service_request.pk}/verify/", follow=True)
    assert "The history is intact: 5 events verified." in response.content.decode()


def test_verify_names_the_first_altered_event(cast, request_in):
    service_request = request_in("closed")
    second = RequestEvent.objects.get(request=service_request, seq=2)
    RequestEvent.objects.filter(pk=second.pk).update(note="rewritten")
    response = page_client(cast.ivan, "en").post(
        f"/requests/{service_request.pk}/verify/", follow=True
    )
    assert "Event #2&#x27;s content was changed." in response.content.decode()


def test_only_inspectors_verify(cast, request_in):
    service_request = request_in("closed")
    assert page_client(cast.alice).post(f"/requests/{service_request.pk}/verify/").status_code == (
        403
    )
    assert page_client(cast.irene).post(f"/requests/{service_request.pk}/verify/").status_code == (
        404
    )


# --- escaping -------------------------------------------------------------------------------


def test_html_in_user_text_is_shown_verbatim(cast):
    title = "<script>alert('x')</script> & '; DROP TABLE requests;--"
    service_request = ServiceRequestFactory(
        enterprise=cast.acme, by=cast.alice, title=title, description="<b>bold</b>\nsecond line"
    )
    for user in [cast.alice, cast.liam]:
        client = page_client(user)
        for path in ["/requests/", f"/requests/{service_request.pk}/"]:
            html = client.get(path).content.decode()
            assert "<script>alert" not in html
            assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &#x27;; DROP" in html
    detail = page_client(cast.alice).get(f"/requests/{service_request.pk}/").content.decode()
    assert "&lt;b&gt;bold&lt;/b&gt;<br>second line" in detail


# --- filing, with attachments -----------------------------------------------------------------


def _filing(**extra):
    return {"category": "infrastructure", "title": "Gate road", "description": "Broken.", **extra}


def test_an_entrepreneur_files_with_a_file(cast):
    upload = SimpleUploadedFile("合同.pdf", PDF, content_type="application/pdf")
    response = page_client(cast.alice).post("/requests/new/", _filing(files=[upload]))
    assert response.status_code == 302
    created = ServiceRequest.objects.get()
    assert (created.enterprise, created.submitted_by) == (cast.acme, cast.alice)
    assert created.attachments.get().original_name == "合同.pdf"


def test_the_enterprise_select_is_hidden_for_one_enterprise(cast):
    html = page_client(cast.alice).get("/requests/new/").content.decode()
    assert 'name="enterprise"' not in html
    EnterpriseMember.objects.create(user=cast.alice, enterprise=cast.globex)
    html = page_client(cast.alice).get("/requests/new/").content.decode()
    assert 'name="enterprise"' in html


def test_a_file_of_the_wrong_kind_files_nothing(cast):
    upload = SimpleUploadedFile("run.exe", b"MZ\x90\x00\x03" + b"\x00" * 200)
    response = page_client(cast.alice, "en").post("/requests/new/", _filing(files=[upload]))
    assert response.status_code == 200
    assert "“run.exe” is not an accepted kind of file" in response.content.decode()
    assert not ServiceRequest.objects.exists()


def test_a_file_over_the_limit_files_nothing(cast, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024
    upload = SimpleUploadedFile("big.pdf", PDF + b"0" * 2048)
    response = page_client(cast.alice, "en").post("/requests/new/", _filing(files=[upload]))
    assert response.status_code == 200
    assert "“big.pdf” is larger than the 1.0\xa0KB limit." in response.content.decode()
    assert not ServiceRequest.objects.exists()


def test_missing_fields_are_shown_next_to_them(cast):
    response = page_client(cast.alice).post("/requests/new/", {"category": "infrastructure"})
    html = response.content.decode()
    assert 'id="err-title"' in html and 'id="err-description"' in html
    assert not ServiceRequest.objects.exists()


def test_a_liaison_files_on_an_enterprises_behalf(cast):
    response = page_client(cast.liam).post(
        "/requests/new/", _filing(enterprise=cast.acme.pk, source="hotline")
    )
    assert response.status_code == 302
    assert ServiceRequest.objects.get().source == "hotline"


# --- attachments ------------------------------------------------------------------------------


def test_attachment_download_is_for_insiders_only(cast, request_in):
    service_request = request_in("rectifying")
    upload = SimpleUploadedFile("现场照片.pdf", PDF)
    response = page_client(cast.alice).post(
        f"/requests/{service_request.pk}/attach/", {"files": [upload]}
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    url = f"/requests/{service_request.pk}/files/{attachment.pk}/"
    download = page_client(cast.hank).get(url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    disposition = f"attachment; filename*=utf-8''{quote('现场照片.pdf')}"
    assert download["Content-Disposition"] == disposition
    for outsider in sorted(OUTSIDERS.values()):
        assert page_client(cast[outsider]).get(url).status_code == 404
    other = ServiceRequestFactory(enterprise=cast.globex, by=cast.mallory)
    assert page_client(cast.mallory).get(
        f"/requests/{other.pk}/files/{attachment.pk}/"
    ).status_code == (404)


def test_a_bad_attachment_is_refused_on_the_page(cast, request_in):
    service_request = request_in("rectifying")
    upload = SimpleUploadedFile("empty.txt", b"")
    response = page_client(cast.alice, "en").post(
        f"/requests/{service_request.pk}/attach/", {"files": [upload]}
    )
    assert response.status_code == 200
    assert "“empty.txt” is empty." in response.content.decode()
    assert not Attachment.objects.exists()


# --- the language switch is on every page -----------------------------------------------------


def test_language_switch_on_every_page(cast, request_in):
    service_request = request_in("rectifying")
    anonymous = page_client()
    pages = [
        anonymous.get("/accounts/login/"),
        anonymous.get("/no-such-page/"),
        page_client(cast.alice).get("/requests/"),
        page_client(cast.alice).get(f"/requests/{service_request.pk}/"),
        page_client(cast.alice).get("/requests/new/"),
        page_client(cast.alice).get("/enterprises/new/"),
        page_client(cast.alice).get("/extensions/"),  # 403
        page_client(cast.mallory).get(f"/requests/{service_request.pk}/"),  # 404
        page_client(cast.leona).get("/extensions/"),
        page_client(cast.liam).post(
            f"/requests/{service_request.pk}/act/assign/", {"department": cast.roads.pk}
        ),  # 409
    ]
    for response in pages:
        assert SETLANG in response.content.decode(), response
    request = RequestFactory().get("/")
    for template in ["errors/400.html", "errors/500.html", "registration/locked_out.html"]:
        assert SETLANG in render_to_string(template, request=request)


def test_switching_language(cast):
    client = page_client(cast.alice, "zh-hans")
    assert "我的诉求" in client.get("/requests/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/requests/"})
    assert "My requests" in client.get("/requests/").content.decode()


# --- login ----------------------------------------------------------------------------------


def test_wrong_login_does_not_tell_whether_the_user_exists(cast):
    answers = []
    for username in ["alice", "nobody-by-this-name"]:
        response = page_client(language="en").post(
            "/accounts/login/", {"username": username, "password": "wrong"}
        )
        assert response.status_code == 200
        answers.append(re.search(r'role="alert">(.*?)</ul>', response.content.decode(), re.S)[1])
    assert answers[0] == answers[1]
    assert "do not match" in answers[0]


def test_login_succeeds(cast):
    response = page_client().post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302


# --- enterprise registration ---------------------------------------------------------------


def test_registration_is_a_claim_that_acts_for_nothing_yet(cast):
    """Typing a valid credit code registers nothing: a liaison of the region verifies the claim
    first (tests/officials/test_claims.py)."""
    code = credit_code(777)
    response = page_client(cast.mallory).post(
        "/enterprises/new/",
        {"name": "Mallory Metals", "credit_code": code.lower(), "region": "minhou"},
    )
    assert response.status_code == 302
    assert EnterpriseClaim.objects.get(credit_code=code).user == cast.mallory
    assert not Enterprise.objects.filter(credit_code=code).exists()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91350100MA2Y00000", "has 18 characters; this one has 17"),
        ("91350100MA2YO00000", "cannot contain O"),
        ("913501000000000000", "fails its check character"),
    ],
)
def test_registration_shows_the_credit_code_error_next_to_the_field(cast, code, message):
    response = page_client(cast.alice, "en").post(
        "/enterprises/new/", {"name": "Typo Ltd", "credit_code": code}
    )
    html = response.content.decode()
    assert response.status_code == 200
    error = re.search(r'<ul class="errorlist" id="err-credit_code">(.*?)</ul>', html, re.S)
    assert error and message in error[1]
    assert not Enterprise.objects.filter(name="Typo Ltd").exists()


def test_registration_of_a_known_code_is_a_claim_of_that_enterprise(cast):
    response = page_client(cast.mallory, "en").post(
        "/enterprises/new/", {"name": "Acme again", "credit_code": cast.acme.credit_code}
    )
    assert response.status_code == 302
    claim = EnterpriseClaim.objects.get(user=cast.mallory)
    assert (claim.enterprise, claim.name) == (cast.acme, cast.acme.name)
    assert not EnterpriseMember.objects.filter(user=cast.mallory, enterprise=cast.acme).exists()


def test_roles_shown_in_the_header(cast):
    html = page_client(cast.hank, "en").get("/requests/").content.decode()
    assert "Hank" in html and "Handling department staff" in html


def test_a_review_without_a_verdict_is_not_taken_as_a_rejection(cast, request_in):
    service_request = request_in("feedback")
    response = page_client(cast.alice, "en").post(
        f"/requests/{service_request.pk}/act/review/", {"comment": "Hmm"}
    )
    assert "Choose whether you accept the answer." in response.content.decode()
    assert ServiceRequest.objects.get(pk=service_request.pk).status == Status.FEEDBACK


def test_the_liaison_records_the_verdict_after_a_follow_up_call(cast, request_in):
    service_request = request_in("feedback")
    html = page_client(cast.liam).get(f"/requests/{service_request.pk}/").content.decode()
    assert 'name="follow_up_channel"' in html
    assert 'name="follow_up_channel"' not in (
        page_client(cast.alice).get(f"/requests/{service_request.pk}/").content.decode()
    )
    called = timezone.localtime()
    response = page_client(cast.liam).post(
        f"/requests/{service_request.pk}/act/review/",
        {
            "accepted": "true",
            "rating": "4",
            "follow_up_channel": "phone",
            "follow_up_contacted_at": called.strftime("%Y-%m-%dT%H:%M"),
            "follow_up_contact_name": "Alice",
            "follow_up_note": "Satisfied.",
        },
    )
    assert response.status_code == 302
    call, review = RequestEvent.objects.filter(request=service_request).order_by("-seq")[:2][::-1]
    assert (call.action, call.data["channel"], call.note) == ("follow_up", "phone", "Satisfied.")
    assert (review.action, review.data["on_follow_up"]) == ("review", True)


def test_approving_from_the_extensions_list_returns_there(cast, request_in):
    service_request = request_in(PENDING_EXTENSION)
    response = page_client(cast.leona).post(
        f"/requests/{service_request.pk}/act/approve_extension/", {"next": "/extensions/"}
    )
    assert response["Location"] == "/extensions/"
    service_request.refresh_from_db()
    assert service_request.extension_state == "approved"
    response = page_client(cast.leona).post(
        f"/requests/{service_request.pk}/act/comment/",
        {"text": "ok", "next": "https://evil.example/"},
    )
    assert response["Location"] == f"/requests/{service_request.pk}/"


def test_the_answer_comes_with_its_documents_and_is_shown_in_full_above_the_verdict(
    cast, request_in
):
    service_request = request_in("rectifying")
    upload = SimpleUploadedFile("验收报告.pdf", PDF, content_type="application/pdf")
    response = page_client(cast.hank).post(
        f"/requests/{service_request.pk}/act/feedback/",
        {"message": "The gate road was repaved on 3 June.\nPhotos attached.", "files": [upload]},
    )
    assert response.status_code == 302
    service_request.refresh_from_db()
    assert service_request.status == Status.FEEDBACK
    attachment = Attachment.objects.get(request=service_request)
    html = page_client(cast.alice, "en").get(f"/requests/{service_request.pk}/").content.decode()
    answer = html.index('id="h-answer"')
    assert answer < html.index('id="action-review_accept"')
    assert "The gate road was repaved on 3 June.<br>Photos attached." in html
    assert f"/requests/{service_request.pk}/files/{attachment.pk}/" in html[answer:]


def test_after_a_rejected_review_the_page_shows_the_latest_answer(cast, request_in):
    """The answer is picked from the timeline's events, loaded once for the page."""
    service_request = request_in("feedback")  # answered "Repaved."
    transition(service_request.pk, "review", by=cast.alice, accepted=False, comment="Not yet.")
    transition(service_request.pk, "feedback", by=cast.hank, message="Second coat laid on 4 June.")
    with CaptureQueriesContext(connection) as queries:
        response = page_client(cast.alice, "en").get(f"/requests/{service_request.pk}/")
    html = response.content.decode()
    answer = html[
        html.index('id="h-answer"') : html.index("</section>", html.index('id="h-answer"'))
    ]
    assert "Second coat laid on 4 June." in answer and "Repaved" not in answer
    timeline_reads = [q for q in queries if '"requests_app_requestevent"' in q["sql"]]
    assert len(timeline_reads) == 1, [q["sql"] for q in timeline_reads]


def test_a_refused_document_takes_the_answer_back(cast, request_in):
    service_request = request_in("rectifying")
    before = snapshot(service_request)
    bad = SimpleUploadedFile("run.exe", b"MZ\x90\x00" + b"\x00" * 64)
    response = page_client(cast.hank, "en").post(
        f"/requests/{service_request.pk}/act/feedback/",
        {"message": "Done.", "files": [bad]},
    )
    assert response.status_code == 200
    assert 'id="err-feedback-files"' in response.content.decode()
    assert snapshot(service_request) == before


def test_an_answer_to_a_question_takes_its_files_in_the_same_form(cast, request_in):
    service_request = request_in("info_needed")
    upload = SimpleUploadedFile("许可证.pdf", PDF, content_type="application/pdf")
    html = page_client(cast.alice, "en").get(f"/requests/{service_request.pk}/").content.decode()
    form = html[html.index('id="action-provide_info"') :]
    assert 'enctype="multipart/form-data"' in form.split("</form>")[0]
    response = page_client(cast.alice).post(
        f"/requests/{service_request.pk}/act/provide_info/",
        {"answer": "The permit is attached.", "files": [upload]},
    )
    assert response.status_code == 302
    assert Attachment.objects.filter(request=service_request, original_name="许可证.pdf").exists()


def elements(html: str) -> list:
    """The elements of `html` in order: each tag with its attributes (in any order) and text."""

    class Reader(HTMLParser):
        found: list = []

        def handle_starttag(self, tag, attrs):
            self.found.append((tag, sorted(attrs, key=lambda pair: pair[0])))

        def handle_endtag(self, tag):
            self.found.append(f"/{tag}")

        def handle_data(self, data):
            if data.strip():
                self.found.append(data.strip())

    reader = Reader()
    reader.found = []
    reader.feed(str(html))
    return reader.found


def test_a_quick_select_has_the_markup_of_djangos_select_templates(cast):
    """QuickSelect writes its markup itself (a template per option cost more than a page's
    rows): the elements, attributes and text Django's select templates give, for a chosen
    value, an empty choice, groups, choices outside a group and labels that need escaping."""
    choices = [
        ("", "---------"),
        ("Roads & <Bridges>", [(str(cast.hank.pk), "Hank"), ("9999", 'O"Brien')]),
        (7, "Seven <7>"),
        (None, "None"),
    ]
    attrs = {"id": "bulk-handler", "data-follows": "bulk-department", "required": True}
    ours = QuickSelect(attrs=attrs, choices=choices)
    theirs = forms.Select(attrs=attrs, choices=choices)
    for value in (None, "", str(cast.hank.pk), "9999", 7):
        assert elements(ours.render("handler", value)) == elements(theirs.render("handler", value))
    assert 'label="Roads &amp; &lt;Bridges&gt;"' in ours.render("handler", None)


def test_the_handler_picker_names_each_handlers_department(cast):
    picker = HandlerSelect(
        department_of={str(cast.hank.pk): cast.roads.pk},
        choices=[("", "---------"), ("Roads", [(str(cast.hank.pk), "Hank"), ("9999", "Other")])],
    )
    html = picker.render("handler", str(cast.hank.pk))
    assert f'<option value="{cast.hank.pk}" data-department="{cast.roads.pk}" selected>' in html
    assert '<option value="9999">Other</option>' in html
    assert 'data-follows="department"' in html
