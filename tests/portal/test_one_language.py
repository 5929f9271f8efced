"""One language at a time: every page each role opens, in Chinese and in English, shows no text
of the other language.

The pages are those of the permission table (tests/permissions_table.py) that a role opens with
a GET and is allowed to see, built on the same data. What a person typed is allowed through,
whatever its language: the names of enterprises and people, request titles and texts, notes,
references, credit codes (`_typed`). So is the language switch itself ("中文", "English")
and a few names that are the same in both languages (`SAME_IN_BOTH`).

Named in both languages, so never let through in the other one (`_in_both_languages`): the
departments (a Chinese name and an English one), the escalation rules, what the deadline sweep
writes on a timeline (its rule, by id) and the causes of accountability cases.
"""

import html
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.conftest import drive
from tests.factories import ServiceRequestFactory
from tests.permissions_table import ANONYMOUS, INSIDERS, ROWS
from tests.test_permissions import TARGETS, World

pytestmark = pytest.mark.django_db

HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
LATIN_WORD = re.compile(r"(?<![\w/.@-])[A-Za-z][A-Za-z'’-]{2,}(?![\w/.@-])")
SAME_IN_BOTH = frozenset(
    {"English", "Qinqing", "API", "CSV", "XLSX", "PDF", "PNG", "JPEG", "TOTP", "OpenAPI", "Swagger"}
)
# The language switch names Chinese in Chinese; the brand is written 亲清 on every page; 元 is
# the unit of an amount in the lists' official English text (as ¥ would be).
SWITCH_HAN = frozenset({"中文", "亲清", "元"})


def _visible_text(page: str) -> str:
    """What a person reads: the text between tags, titles, labels and placeholders."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    attributes = re.findall(r'\b(?:title|alt|placeholder|aria-label)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(" ".join([text, *attributes]))


def _typed(world_values) -> str:
    return " ".join(str(value) for value in world_values if value)


def _typed_values(language: str):
    """Every value a person typed into the data of the test: allowed through in either language,
    except the names kept in both: only the page's (a department without an English name shows
    its Chinese one on an English page)."""
    from compliance.models import ConfidentialReport, ListAlias
    from officials.models import Department, Enterprise, User
    from requests_app.models import RequestEvent, ServiceRequest

    values = []
    values += Enterprise.objects.values_list("name", "credit_code", "region")
    if language == "en":
        values += [
            (name_en or name,)
            for name, name_en in Department.objects.values_list("name", "name_en")
        ]
    else:
        values += Department.objects.values_list("name")
    values += Department.objects.values_list("region")
    values += User.objects.values_list("username", "name", "first_name", "last_name", "title")
    values += ServiceRequest.objects.values_list("title", "description", "reference")
    # Notes people wrote; the sweep's events (no actor) are named by their rule, not typed.
    values += RequestEvent.objects.filter(actor__isnull=False).values_list("note")
    values += ConfidentialReport.objects.values_list("text")
    # Names a locality gives its own lists (e.g. 七个准许): proper nouns, typed by an admin.
    values += ListAlias.objects.values_list("locality", "name")
    return " ".join(_typed(row) for row in values)


# The test's departments in Chinese; their English names are the ones the cast gives them.
DEPARTMENTS_ZH = {
    "Fuzhou Municipal Government": "福州市人民政府",
    "Gulou District": "鼓楼区人民政府",
    "Gulou Roads Bureau": "鼓楼区道路局",
    "Gulou Environment Bureau": "鼓楼区生态环境局",
    "Minhou County": "闽侯县人民政府",
    "Minhou Land Bureau": "闽侯县自然资源局",
}


def _in_both_languages(world) -> None:
    """The data as a bilingual portal holds it: departments named in Chinese and English, the
    cases the helpers made opened as the sweep opens them (a cause code and its values: the
    default ladder's rule in both languages), and the sweep's event on the request's timeline."""
    from django.utils import timezone

    from compliance.models import AccountabilityCase, CauseCode
    from officials.models import Department
    from requests_app import firing
    from requests_app.models import EscalationRule
    from requests_app.timeline import append_event

    for department in Department.objects.all():
        chinese = DEPARTMENTS_ZH.get(department.name, f"第{department.pk}部门")
        Department.objects.filter(pk=department.pk).update(name=chinese, name_en=department.name)
    rule = EscalationRule.objects.get(clock="answer", trigger="breach")
    assert rule.name_en, "the default ladder is named in both languages (migration 0019)"
    for case in AccountabilityCase.objects.filter(cause_code="").select_related("request"):
        reference = case.request.reference if case.request_id else "R-0"
        params = {"reference": reference, "rule": rule.name, "rule_en": rule.name_en}
        AccountabilityCase.objects.filter(pk=case.pk).update(
            source="breach", cause_code=CauseCode.BREACH, cause_params=params, rule=rule.name
        )
    service_request = getattr(world, "request", None)
    if service_request is not None:
        due = service_request.answer_due_at or timezone.now()
        append_event(
            service_request,
            action="accountability_opened",
            actor=None,
            now=timezone.now(),
            from_status=service_request.status,
            note=rule.name,  # as the sweep writes it
            data=firing.event_data(rule, due_at=due.isoformat(), cycle=0),
        )


def _foreign(text: str, language: str, typed: str) -> list[str]:
    if language == "en":
        found = set(HAN.findall(text)) - SWITCH_HAN
        return sorted(word for word in found if word not in typed)
    found = set(LATIN_WORD.findall(text)) - SAME_IN_BOTH
    return sorted(word for word in found if word not in typed)


def _pages():
    for row in ROWS:
        # Pages only: the API speaks JSON (an anonymous call is a 401, not a login page).
        api = row.expect.get(ANONYMOUS) == 401
        if row.method != "get" or row.name.startswith("admin") or api:
            continue
        for persona in INSIDERS:
            if row.expect.get(persona) == 200:
                yield row, persona


PAGES = list(_pages())


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize(("row", "persona"), PAGES, ids=[f"{r}-{p}" for r, p in PAGES])
def test_a_page_speaks_one_language(cast, row, persona, language):
    user = cast[persona]
    world = World(cast=cast, user=user)
    if row.target in ("request", "attachment"):
        world.request = drive(
            cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), row.state
        )
        world.other = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    target = TARGETS[row.target](world, persona)
    _in_both_languages(world)
    url = reverse(row.name, kwargs={**({} if row.lists_target else target), **row.kwargs})
    url += row.query
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language
    client.force_login(user)
    cache.clear()
    response = client.get(url)
    assert response.status_code == 200
    if "text/html" not in response["Content-Type"]:
        return
    foreign = _foreign(_visible_text(response.content.decode()), language, _typed_values(language))
    assert foreign == [], f"{url} in {language}: {foreign}"
