"""Every link goes where it says: no page a role opens links that role to a dead end.

For each insider persona, the pages of the permission table it may open (as in
test_one_language) are fetched, and every link on them to the portal itself is followed once,
as that persona. A link may answer with a page or a file, directly or after redirects; it
may not end in 404, 403, a server error or the login page. (A 403 behind a link is a button
the person may not press: the page should not have offered it.)
"""

import re
from html import unescape
from urllib.parse import urldefrag, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.conftest import drive
from tests.factories import ServiceRequestFactory
from tests.permissions_table import INSIDERS
from tests.portal.test_one_language import PAGES
from tests.test_permissions import TARGETS, World

pytestmark = pytest.mark.django_db

HREF = re.compile(r'<a\b[^>]*?\bhref="([^"]+)"', re.I)
# Not pages of the portal: static files are served by WhiteNoise outside the test client, and
# the admin has its own login and its own links.
SKIPPED_PREFIXES = ("/static/", "/admin/", "/media/")
DEAD = {403, 404}
# A signed-in person sent to the login page has been turned away too.
LOGIN = "/accounts/login/"


def _internal_links(page: str) -> set[str]:
    links = set()
    for href in HREF.findall(page):
        href = urldefrag(unescape(href)).url
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not href.startswith("/"):
            continue  # other sites, mailto:, tel:, and "#…" within the page
        if href.startswith(SKIPPED_PREFIXES):
            continue
        links.add(href)
    return links


def _page_url(row, persona, world) -> str:
    target = TARGETS[row.target](world, persona)
    return reverse(row.name, kwargs={**({} if row.lists_target else target), **row.kwargs}) + (
        row.query
    )


@pytest.mark.parametrize("persona", sorted(INSIDERS))
def test_no_page_links_a_role_to_a_dead_end(cast, persona):
    user = cast[persona]
    world = World(cast=cast, user=user)
    client = Client()
    client.force_login(user)
    pages = [(row, p) for row, p in PAGES if p == persona]
    assert pages, f"{persona} opens no page in the permission table"
    followed: dict[str, int] = {}
    dead: list[str] = []
    for row, _ in pages:
        if row.target in ("request", "attachment"):
            world.request = drive(
                cast, ServiceRequestFactory(enterprise=cast.acme, by=cast.alice), row.state
            )
            world.other = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
        url = _page_url(row, persona, world)
        cache.clear()
        response = client.get(url)
        assert response.status_code == 200, url
        if "text/html" not in response["Content-Type"]:
            continue
        for link in sorted(_internal_links(response.content.decode())):
            if link in followed:
                continue
            answer = client.get(link, follow=True)
            status = followed[link] = answer.status_code
            landed = answer.redirect_chain[-1][0] if answer.redirect_chain else link
            if status in DEAD or status >= 500 or landed.startswith(LOGIN):
                dead.append(f"{url} → {link}: {status} at {landed}")
    assert followed, f"{persona}'s pages carry no links at all"
    assert dead == [], "\n".join(dead)


def test_the_public_pages_link_nowhere_dead(client):
    """A visitor's pages (home, public lists, the confidential report) lead somewhere real; the
    sign-in page is a fine place for a visitor to land."""
    pending, seen, dead = ["/"], set(), []
    while pending:
        url = pending.pop()
        if url in seen:
            continue
        seen.add(url)
        answer = client.get(url, follow=True)
        if answer.status_code in DEAD or answer.status_code >= 500:
            dead.append(f"{url}: {answer.status_code}")
            continue
        landed = answer.redirect_chain[-1][0] if answer.redirect_chain else url
        # Follow what the public pages link to, not what the pages behind sign-in link to.
        if "text/html" in answer["Content-Type"] and not landed.startswith(LOGIN):
            pending += sorted(_internal_links(answer.content.decode()) - seen)
    assert len(seen) > 5, f"the home page leads almost nowhere: {sorted(seen)}"
    assert dead == [], "\n".join(dead)
