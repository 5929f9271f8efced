"""The queue's bulk bar keeps its departments and handlers (requests_app.forms, in the cache, a
copy per language): a queue page reads them once, and a saved or deleted department or user
shows on the next page at once."""

import re

import pytest
from django.contrib.auth.models import update_last_login
from django.db import connection
from django.test.utils import CaptureQueriesContext

from officials.models import Department
from tests import pages
from tests.factories import DepartmentFactory

pytestmark = pytest.mark.django_db


def bar(client) -> tuple[str, int]:
    """The bulk bar's department and handler selects of the queue, and the page's queries."""
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/requests/").content.decode()
    department = re.search(r'<select[^>]*id="bulk-department".*?</select>', html, re.S).group(0)
    handler = re.search(r'<select name="handler".*?</select>', html, re.S).group(0)
    return department + handler, len(queries)


def handlers(client) -> str:
    return bar(client)[0].partition('<select name="handler"')[2]


def departments(client) -> str:
    return bar(client)[0].partition('<select name="handler"')[0]


def test_the_bar_reads_departments_and_handlers_once(cast, request_in):
    request_in("submitted")
    client = pages.page_client(cast.liam, "en")
    first, first_queries = bar(client)
    again, again_queries = bar(client)
    assert again == first and cast.hank.display_name in first
    assert again_queries == first_queries - 2  # the departments, the handlers


def test_a_login_keeps_what_the_bar_read(cast, request_in):
    request_in("submitted")
    client = pages.page_client(cast.liam, "en")
    bar(client)
    update_last_login(None, cast.hank)
    _same, queries = bar(client)
    assert queries == bar(client)[1]


def test_a_handler_who_leaves_or_moves_leaves_the_bar_at_once(cast, request_in):
    request_in("submitted")
    client = pages.page_client(cast.liam, "en")
    assert f'value="{cast.hank.pk}" data-department="{cast.roads.pk}"' in handlers(client)
    cast.hank.is_active = False
    cast.hank.save()
    assert f'value="{cast.hank.pk}"' not in handlers(client)
    cast.hank.is_active = True
    cast.hank.department = cast.land
    cast.hank.save()
    assert f'value="{cast.hank.pk}" data-department="{cast.land.pk}"' in handlers(client)


def test_a_new_or_renamed_department_shows_at_once(cast, request_in):
    request_in("submitted")
    client = pages.page_client(cast.liam, "en")
    bar(client)
    added = DepartmentFactory(name="Harbour Bureau", name_en="Harbour Bureau", parent=None)
    assert f'<option value="{added.pk}">Harbour Bureau</option>' in departments(client)
    Department.objects.get(pk=added.pk).delete()
    assert f'value="{added.pk}"' not in departments(client)


def test_each_language_has_its_own_copy(cast, request_in):
    request_in("submitted")
    cast.roads.name, cast.roads.name_en = "鼓楼区交通局", "Gulou Roads Bureau"
    cast.roads.save()
    chinese = bar(pages.page_client(cast.liam, "zh-hans"))[0]
    english = bar(pages.page_client(cast.liam, "en"))[0]
    assert "鼓楼区交通局" in chinese and "Gulou Roads Bureau" not in chinese
    assert "Gulou Roads Bureau" in english and "鼓楼区交通局" not in english
