"""The request lists', the ledger's and the extensions' rows are written in Python
(requests_app.presenters: list_rows, ledger_markup, extension_markup): the same elements,
attributes and text the templates' row loops wrote, kept here as they were."""

import datetime as dt
import re

import pytest
import time_machine
from django.template import engines
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reports.figures import Period
from requests_app.models import ServiceRequest
from requests_app.presenters import _pk_url, extension_markup, list_rows
from requests_app.workflow import transition
from tests import pages
from tests.conftest import PENDING_EXTENSION
from tests.requests_app.test_views import elements

pytestmark = pytest.mark.django_db

# templates/requests/list.html's rows until they were written in Python.
TEMPLATE_ROWS = """{% load i18n %}
  {% translate "Enterprise" as l_enterprise %}{% translate "Category" as l_category %}{% translate "Status" as l_status %}{% translate "Department" as l_department %}{% translate "Deadline" as l_deadline %}{% translate "Filed on" as l_filed %}{% translate "Extension" as l_extension %}{% translate "Select" as l_select %}
  {% for sr, badge, status in rows %}
    <tr>
      {% if bulk %}<td class="pick"><input type="checkbox" name="ids" value="{{ sr.pk }}" aria-label="{{ l_select }} {{ sr.reference }}"></td>{% endif %}
      <td class="title"><a href="{% url 'requests:detail' sr.pk %}">{{ sr.title }}</a> <div class="ref muted">{{ sr.reference }}</div></td>
      {% if show_enterprise %}<td data-label="{{ l_enterprise }}">{{ sr.enterprise.name }}</td>{% endif %}
      <td data-label="{{ l_category }}">{{ sr.category.name }}</td>
      <td data-label="{{ l_status }}"><span class="badge status status-{{ sr.status }}">{{ status }}</span>{% if sr.extension_state and sr.status == "rectifying" %}<div class="small muted">{{ l_extension }}: {{ sr.get_extension_state_display }}</div>{% endif %}</td>
      <td data-label="{{ l_department }}">{{ sr.department.display_name|default:"—" }}</td>
      <td data-label="{{ l_deadline }}">{{ badge|default:"—" }}</td>
      <td class="nowrap" data-label="{{ l_filed }}">{{ sr.submitted_at|minute }}</td>
    </tr>
  {% endfor %}"""  # noqa: E501


@pytest.fixture
def listed(cast, request_in):
    """A queue of every kind of row: not yet assigned (no department), running, paused for
    information, overdue, with an extension pending, and a title and an enterprise name that
    need escaping."""
    cast.acme.name = 'Acme & Sons <"Fujian">'
    cast.acme.save()
    made = [request_in(state) for state in ("submitted", "rectifying", "info_needed")]
    made.append(request_in(PENDING_EXTENSION))
    hostile = request_in("assigned")
    ServiceRequest.objects.filter(pk=hostile.pk).update(title="<script>alert('x')</script> & co")
    return made


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("role", ["liam", "ada", "alice"])
def test_the_rows_are_the_templates_rows(cast, listed, language, role):
    # Overdue, some of them: the badge's text and level change with the time.
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=2), tick=False):
        response = pages.page_client(cast[role], language).get("/requests/?status=")
        context = response.context
        rows = context["rows"]
        assert len(rows) == len(listed) + 1
        for pick in (True, False):
            for show_enterprise in (True, False):
                expected = (
                    engines["django"]
                    .from_string(TEMPLATE_ROWS)
                    .render(
                        {"rows": rows, "bulk": pick, "show_enterprise": show_enterprise},
                        response.wsgi_request,
                    )
                )
                written = list_rows(rows, pick=pick, show_enterprise=show_enterprise)
                assert elements(written) == elements(expected)
    page = response.content.decode()
    shown = list_rows(
        rows, pick=context["bulk"] is not None, show_enterprise=context["show_enterprise"]
    )
    assert elements(context["row_markup"]) == elements(shown)
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


def test_the_rows_speak_the_pages_language(cast, listed):
    chinese = pages.page_client(cast.liam, "zh-hans").get("/requests/").content.decode()
    english = pages.page_client(cast.liam, "en").get("/requests/").content.decode()
    assert 'data-label="状态"' in chinese and 'data-label="Status"' not in chinese
    assert 'data-label="Status"' in english and 'data-label="状态"' not in english


def test_a_link_made_once_is_the_reversed_link():
    detail = _pk_url("requests:detail")
    approve = _pk_url("requests:act", "approve_extension")
    for pk in (1, 9, 10, 987654321, 2**40):
        assert detail(pk) == reverse("requests:detail", args=[pk])
        assert approve(pk) == reverse("requests:act", args=[pk, "approve_extension"])


# templates/reports/requests.html's rows until they were written by list_rows.
TEMPLATE_FIGURE_ROWS = """{% load i18n %}
{% translate "Enterprise" as enterprise_label %}{% translate "Category" as category_label %}{% translate "Status" as status_label %}{% translate "Department" as department_label %}{% translate "Filed on" as filed_label %}
  {% for sr in page %}
    <tr>
      <td class="title"><a href="{% url 'requests:detail' sr.pk %}">{{ sr.title }}</a> <div class="ref muted">{{ sr.reference }}</div></td>
      <td data-label="{{ enterprise_label }}">{{ sr.enterprise.name }}</td>
      <td data-label="{{ category_label }}">{{ sr.category.name }}</td>
      <td data-label="{{ status_label }}"><span class="badge status status-{{ sr.status }}">{{ sr.get_status_display }}</span></td>
      <td data-label="{{ department_label }}">{{ sr.department.display_name|default:"—" }}</td>
      <td class="nowrap" data-label="{{ filed_label }}">{{ sr.submitted_at|minute }}</td>
    </tr>
  {% endfor %}"""  # noqa: E501


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_figures_rows_are_its_templates_rows_and_name_a_pending_extension(cast, listed, language):
    period = Period.containing(timezone.now())
    url = f"/reports/requests/?year={period.year}&quarter={period.quarter}&figure=received"
    response = pages.page_client(cast.ada, language).get(url)
    page = response.context["page"]
    assert len(page.object_list) == len(listed) + 1
    expected = (
        engines["django"]
        .from_string(TEMPLATE_FIGURE_ROWS)
        .render({"page": page}, response.wsgi_request)
    )
    shown = elements(response.context["row_markup"])
    # The one difference: a request waiting for an extension says so, as in the queue.
    pending = ServiceRequest.objects.get(pk=listed[-1].pk).get_extension_state_display()
    said = [item for item in shown if isinstance(item, str) and item.endswith(f": {pending}")]
    assert len(said) == 1
    without = [item for item in shown if item not in said]
    assert _drop_extension_divs(without) == elements(expected)


def _drop_extension_divs(items: list) -> list:
    """The elements without each `<div class="small muted">…</div>` left empty by the filter."""
    out: list = []
    for item in items:
        if item == "/div" and out and out[-1] == ("div", [("class", "small muted")]):
            out.pop()
            continue
        out.append(item)
    return out


# templates/requests/ledger.html's rows until they were written by ledger_markup.
TEMPLATE_LEDGER_ROWS = """{% load i18n %}
  {% for row in rows %}{% with sr=row.request badge=row.badge %}
    <tr>
      <td class="title"><a href="{% url 'requests:detail' sr.pk %}">{{ sr.title }}</a>
        <div class="ref muted">{{ sr.reference }}</div>
        <div class="small muted">{{ sr.enterprise.name }}</div></td>
      <td data-label="{% translate 'Department' %}">{{ sr.department.display_name|default:"—" }}{% if sr.handler %}<div class="small muted">{{ sr.handler.display_name }}</div>{% endif %}</td>
      <td class="plan" data-label="{% translate 'Plan' %}">{{ sr.extension_plan|linebreaksbr|default:"—" }}</td>
      <td data-label="{% if struck_off %}{% translate 'Struck off on' %}{% else %}{% translate 'Next due' %}{% endif %}">
        {% if struck_off %}
          <span class="badge status status-closed">{% translate "Struck off" %}</span>
          <div class="nowrap small">{{ sr.closed_at|minute }}</div>
        {% else %}
          <span class="nowrap">{{ sr.answer_due_at|minute|default:"—" }}</span><br>
          {% include "requests/_badge.html" %}
          {% if not badge %}<span class="badge status status-{{ sr.status }}">{{ sr.get_status_display }}</span>{% endif %}
        {% endif %}
      </td>
      <td data-label="{% translate 'Progress' %}">{{ row.progress|default:"—" }}
        {% if row.progress_at %}<div class="small muted nowrap"><time datetime="{{ row.progress_at|date:'c' }}">{{ row.progress_at|minute }}</time></div>{% endif %}</td>
    </tr>
  {% endwith %}{% endfor %}"""  # noqa: E501


def _needing_escapes(service_request) -> None:
    """A title, and a plan of two lines, with markup and ampersands in them."""
    ServiceRequest.objects.filter(pk=service_request.pk).update(
        title="<b>Gate</b> & 'fence'", extension_plan='Week 1: <survey>\r\nWeek 2: repave & "seal"'
    )


@pytest.fixture
def supervised(cast, request_in):
    """The ledger's rows of every kind: rectifying on an approved extension, paused for
    information, answered, and struck off; a plan of several lines with markup in it, and a
    title that needs escaping."""
    made = []
    for then in ([], ["request_info"], ["feedback"], ["feedback", "review"]):
        sr = request_in(PENDING_EXTENSION)
        sr = transition(sr.pk, "approve_extension", by=cast.leona)
        for action in then:
            payload, actor = {
                "request_info": ({"question": "Which gate?"}, cast.hank),
                "feedback": ({"message": "Repaved."}, cast.hank),
                "review": ({"accepted": True, "rating": 5}, cast.alice),
            }[action]
            sr = transition(sr.pk, action, by=actor, **payload)
        made.append(sr)
    _needing_escapes(made[0])
    return made


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("show", ["", "closed"])
def test_the_ledgers_rows_are_its_templates_rows(cast, supervised, language, show):
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=30), tick=False):
        response = pages.page_client(cast.leona, language).get(f"/ledger/?show={show}")
        rows = response.context["rows"]
        assert len(rows) == (1 if show else 3)
        expected = (
            engines["django"]
            .from_string(TEMPLATE_LEDGER_ROWS)
            .render({"rows": rows, "struck_off": bool(show)}, response.wsgi_request)
        )
    assert elements(response.context["row_markup"]) == elements(expected)
    # On a phone the reference runs on after the title: the space between them stays.
    assert '</a> <div class="ref muted">' in response.context["row_markup"]
    if not show:
        page = response.content.decode()
        assert "&lt;b&gt;Gate&lt;/b&gt;" in page and "&lt;survey&gt;<br>" in page


# templates/requests/extensions.html's rows until they were written by extension_markup.
TEMPLATE_EXTENSION_ROWS = """{% load i18n %}
  {# Translated once, not once a row: a page has up to 100 rows. #}
  {% translate "Number" as l_number %}{% translate "Department" as l_department %}{% translate "Current deadline" as l_deadline %}{% translate "Asked until" as l_until %}{% translate "Plan" as l_plan %}{% translate "Approve" as l_approve %}{% translate "Refuse…" as l_refuse %}
  {% with back=request.get_full_path %}{% for sr, may_decide in rows %}
    <tr>
      <td class="ref" data-label="{{ l_number }}">{{ sr.reference }}</td>
      <td class="title"><a href="{% url 'requests:detail' sr.pk %}">{{ sr.title }}</a><div class="small muted">{{ sr.enterprise.name }}</div></td>
      <td data-label="{{ l_department }}">{{ sr.department.display_name|default:"—" }}</td>
      <td data-label="{{ l_deadline }}">{{ sr.answer_due_at|minute }}</td>
      <td data-label="{{ l_until }}">{{ sr.extension_until|minute }}</td>
      <td data-label="{{ l_plan }}">{{ sr.extension_plan|linebreaksbr }}</td>
      <td>{% if may_decide %}
        <form method="post" action="{% url 'requests:act' sr.pk 'approve_extension' %}" class="actions-row">{% csrf_token %}
          <input type="hidden" name="next" value="{{ back }}">
          <button type="submit" class="primary">{{ l_approve }}</button>
          <a class="button secondary" href="{% url 'requests:detail' sr.pk %}?act=refuse_extension#action-refuse_extension">{{ l_refuse }}</a>
        </form>{% endif %}</td>
    </tr>
  {% endfor %}{% endwith %}"""  # noqa: E501


def _tokens_aside(html: str) -> tuple[list, set[str]]:
    """The elements of `html` with each CSRF token's value put aside (a token is masked anew
    each time it is asked for), and the values."""
    found = elements(html)
    tokens = set()
    for index, item in enumerate(found):
        if isinstance(item, tuple) and ("name", "csrfmiddlewaretoken") in item[1]:
            attributes = dict(item[1])
            tokens.add(attributes.pop("value"))
            found[index] = (item[0], sorted(attributes.items()))
    return found, tokens


@pytest.fixture
def pending_extensions(cast, request_in):
    """Extensions waiting for the leader's decision: one with a plan of several lines with
    markup in it and a title that needs escaping."""
    made = [request_in(PENDING_EXTENSION) for _ in range(3)]
    _needing_escapes(made[0])
    return made


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("show", ["", "all"])
def test_the_extensions_rows_are_its_templates_rows(cast, pending_extensions, language, show):
    url = f"/extensions/?show={show}"
    response = pages.page_client(cast.leona, language).get(url)
    rows = response.context["rows"]
    assert len(rows) == len(pending_extensions) and all(decides for _sr, decides in rows)
    # Rows the reader decides and rows they only see, in turn.
    for mixed in (rows, [(sr, index % 2 == 0) for index, (sr, _decides) in enumerate(rows)]):
        expected = (
            engines["django"]
            .from_string(TEMPLATE_EXTENSION_ROWS)
            .render({"rows": mixed}, response.wsgi_request)
        )
        written = extension_markup(mixed, csrf_token="token", back=url)
        assert _tokens_aside(written)[0] == _tokens_aside(expected)[0]
        assert _tokens_aside(written)[1] == ({"token"} if any(d for _, d in mixed) else set())
    shown, tokens = _tokens_aside(response.context["row_markup"])
    assert shown == _tokens_aside(extension_markup(rows, csrf_token="token", back=url))[0]
    assert len(tokens) == 1  # the page's one token, in every row's form
    page = response.content.decode()
    assert "&lt;b&gt;Gate&lt;/b&gt;" in page and "&lt;survey&gt;<br>" in page


def test_approving_from_a_written_row_passes_the_csrf_check(cast, pending_extensions):
    """The token a row's form carries is one the CSRF check accepts: the approval goes
    through, and the leader is back on the list."""
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(cast.leona)
    markup = client.get("/extensions/").context["row_markup"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', markup).group(1)
    target = pending_extensions[1]
    act = f"/requests/{target.pk}/act/approve_extension/"
    refused = client.post(act, {"next": "/extensions/"})
    assert refused.status_code == 403  # without the token: the check is on
    response = client.post(act, {"next": "/extensions/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/extensions/"
    target.refresh_from_db()
    assert target.extension_state == "approved"
