"""Every URL × every persona answers as API.md says: the table in tests/permissions_table.py.

Outside the persona's scope 404, seen but not allowed 403, an anonymous API call 401, an
anonymous page the login page; and a URL that is not in the table fails the first test.
"""

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from notifications.models import Notification
from officials.models import Role
from requests_app.attachments import add_attachment
from tests.compliance.inspection_helpers import PERMISSION_TARGETS as INSPECTION_TARGETS
from tests.compliance.records_helpers import RECORD_TARGETS
from tests.conftest import Cast, drive
from tests.factories import PASSWORD, ServiceRequestFactory, UserFactory, credit_code
from tests.permissions_table import (
    ADMIN_LOGIN,
    ANONYMOUS,
    INSIDERS,
    LOGIN,
    OUTSIDERS,
    PERSONAS,
    ROWS,
    Row,
)

# Every URL of the Django admin is the admin's own (staff only, its own login page): one row.
ADMIN_NAMESPACE = "admin"


def _url_names(resolver: URLResolver, namespace: str = "", prefix: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            full = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            names |= _url_names(pattern, full, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            if namespace.split(":")[0] == ADMIN_NAMESPACE:
                names.add(f"{ADMIN_NAMESPACE}:*")
            elif pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)
            else:
                names.add(prefix + str(pattern.pattern))  # an unnamed URL is listed by its route
    return names


def test_every_url_is_in_the_table():
    """A new URL needs a row in tests/permissions_table.py saying who may use it."""
    in_table = {row.name for row in ROWS}
    served = _url_names(get_resolver())
    missing, stale = sorted(served - in_table), sorted(in_table - served)
    if missing or stale:
        pytest.fail(
            "URLs missing from tests/permissions_table.py:\n  "
            + "\n  ".join(missing)
            + "\nrows for URLs the portal no longer serves:\n  "
            + "\n  ".join(stale)
        )


def test_every_row_names_every_persona():
    incomplete = [str(row) for row in ROWS if set(row.expect) != set(PERSONAS)]
    assert incomplete == []


# --- the world each row is tried in ------------------------------------------------------------


@dataclass
class World:
    cast: Cast
    user: object  # the persona's User, None when anonymous
    request: object = None  # acme's request, in the row's state
    other: object = None  # another request of acme (a merge target)
    password: str = PASSWORD
    credit_code: str = credit_code(990001)


def _export_job(world: World, persona: str) -> dict:
    """A finished export that liam asked for."""
    import datetime as dt

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from reports.models import ExportJob, ExportStatus

    job = ExportJob(
        requested_by=world.cast.liam,
        format="csv",
        status=ExportStatus.DONE,
        filename="requests.csv",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    job.file.save("requests.csv", ContentFile(b"reference,title\n"), save=False)
    job.save()
    return {"pk": job.pk}


def _notification(world: World, persona: str) -> dict:
    """Insiders open their own notification; an outsider tries an insider's of the same role."""
    if persona in OUTSIDERS:
        role = OUTSIDERS[persona]
        owner = world.cast[next(name for name, r in INSIDERS.items() if r == role)]
    else:
        owner = world.user or world.cast.alice
    notification = Notification.objects.create(
        recipient=owner, kind="comment", subject="Hello", body="Hello", link="/requests/"
    )
    return {"pk": notification.pk}


def _saved_view(world: World, persona: str) -> dict:
    """Insiders delete their own saved view; an outsider tries an insider's of the same role."""
    from requests_app.models import SavedView

    if persona in OUTSIDERS:
        role = OUTSIDERS[persona]
        owner = world.cast[next(name for name, r in INSIDERS.items() if r == role)]
    else:
        owner = world.user or world.cast.alice
    view = SavedView.objects.create(user=owner, name="Overdue", query="overdue=true")
    return {"pk": view.pk}


def _attachment(world: World, persona: str) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("survey.pdf", b"%PDF-1.4\n%%EOF\n")
    attachment = add_attachment(world.request, by=world.cast.alice, upload=upload)
    return {"pk": world.request.pk, "attachment_id": attachment.pk}


def _claim(world: World, persona: str) -> dict:
    """A newcomer's pending claim to act for acme (kept as `world.other` for the row's body)."""
    from officials.models import EnterpriseClaim

    newcomer = UserFactory(username=f"newcomer-{persona}", role=Role.ENTREPRENEUR)
    world.other = EnterpriseClaim.objects.create(
        user=newcomer,
        enterprise=world.cast.acme,
        credit_code=world.cast.acme.credit_code,
        name=world.cast.acme.name,
        region=world.cast.acme.region,
    )
    return {"pk": world.other.pk}


# What a row's `target` puts into its URL.
TARGETS = {
    "none": lambda world, persona: {},
    "request": lambda world, persona: {"pk": world.request.pk},
    "attachment": _attachment,
    "notification": _notification,
    "saved_view": _saved_view,
    "enterprise": lambda world, persona: {"pk": world.cast.acme.pk},
    "department": lambda world, persona: {"pk": world.cast.roads.pk},
    "user": lambda world, persona: {"pk": world.cast.alice.pk},
    "export-job": _export_job,
    "claim": _claim,
    **INSPECTION_TARGETS,  # confidential reports, cases, officials (compliance/inspection)
    **RECORD_TARGETS,  # officials' records and visit filings (compliance)
}


def _is_api(url: str) -> bool:
    return url.startswith("/api/")


def _client(url: str, user) -> Client:
    if _is_api(url):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _call(row: Row, client, url: str, data: dict | None):
    if row.method == "get":
        return client.get(url)
    if row.method == "patch":
        return client.patch(url, data or {}, format="json")
    if row.multipart or not _is_api(url):
        return client.post(url, data or {})
    return client.post(url, data or {}, format="json")


def _answer(row: Row, cast: Cast, persona: str) -> str | None:
    """What goes wrong when `persona` calls the row's URL, or None when it answers as promised."""
    expected = row.expect[persona]
    user = None if persona == ANONYMOUS else cast[persona]
    world = World(cast=cast, user=user)
    if row.target == "request":
        request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
        world.request = drive(cast, request, row.state)
        world.other = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    if row.target == "attachment":
        world.request = drive(
            cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), row.state
        )
    target = TARGETS[row.target](world, persona)
    if row.name == "admin:*":
        url = reverse("admin:index")
    else:  # a list shows its target rather than naming it in the URL
        url = reverse(row.name, kwargs={**({} if row.lists_target else target), **row.kwargs})
    url += row.query

    response = _call(row, _client(url, user), url, row.body(world) if row.body else None)

    code = response.status_code
    if expected in (LOGIN, ADMIN_LOGIN):
        login = reverse("login" if expected == LOGIN else "admin:login") + "?next="
        if code != 302 or not response["Location"].startswith(login):
            return f"expected a redirect to {login}, got {code} {response.get('Location', '')}"
        return None
    if code != expected:
        return f"expected {expected}, got {code}: {response.content[:200]!r}"
    if _is_api(url) and code >= 400 and code != 400 and "detail" not in response.json():
        return f"no detail in {response.content[:200]!r}"
    if row.lists_target and code == 200:
        return _check_listing(row, persona, world, target, response, api=_is_api(url))
    return None


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_the_url_answers_every_persona_as_promised(cast, row):
    """Each persona in a fresh savepoint: an action one of them takes is undone for the next."""
    wrong = {}
    for persona in PERSONAS:
        cache.clear()  # DRF's throttle counts live in the cache, which no test rolls back
        with transaction.atomic():
            if problem := _answer(row, cast, persona):
                wrong[persona] = problem
            transaction.set_rollback(True)
    cache.clear()
    assert wrong == {}


def _check_listing(row: Row, persona: str, world: World, target: dict, response, *, api: bool):
    sees = persona in INSIDERS or persona in row.also_sees
    if api:
        items = response.json()
        items = items["results"] if isinstance(items, dict) else items
        shown = target["pk"] in {item["id"] for item in items}
    else:  # pages list requests by their reference
        shown = world.request.reference in response.content.decode()
    if shown != sees:
        return "it is not listed" if sees else "it is listed, though it is not theirs to see"
    return None
