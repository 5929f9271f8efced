"""The admin's calendar page: paste the State Council's notice (or edit the days), preview what it
changes, save through the calendar service; or confirm the Monday–Friday fallback for a year.

The page saves only what its preview showed, and a mistake (a line it cannot read, a day outside
the year) is shown on its box with nothing saved.
"""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from core.errors import NotPermitted
from officials.models import Role
from requests_app import calendar
from requests_app.models import CalendarDay, CalendarYear, ServiceRequest
from tests.conftest import at
from tests.factories import ServiceRequestFactory, UserFactory
from tests.requests_app.conftest import admin_client
from tests.requests_app.test_calendar_api import NOTICE_2027

pytestmark = pytest.mark.django_db


def page(year: int = 2027) -> str:
    return reverse("admin:requests_app_calendaryear_load", args=[year])


def stored(year: int) -> list:
    return list(CalendarDay.objects.filter(date__year=year).values_list("date", "is_working"))


def preview(client: Client, notice: str = NOTICE_2027, year: int = 2027, **extra):
    return client.post(page(year), {"source": "notice", "notice": notice, "_preview": "1", **extra})


def fingerprint(html: str) -> str:
    return re.search(r'name="previewed" value="([0-9a-f]+)"', html).group(1)


def save(client: Client, notice: str = NOTICE_2027, year: int = 2027):
    """Preview, then save what the preview showed, as the admin does."""
    shown = fingerprint(preview(client, notice, year).content.decode())
    return client.post(
        page(year),
        {"source": "notice", "notice": notice, "previewed": shown, "_save": "1"},
    )


@pytest.fixture
def running(cast):
    """A request filed on 2026-12-31 at 17:00, before 2027 is loaded: New Year's Day counts."""
    with time_machine.travel(at("2026-12-31 17:00"), tick=False):
        request = ServiceRequestFactory(enterprise=cast.acme, by=cast.alice)
    assert request.assign_due_at == at("2027-01-01 17:00")
    return request


# --- the page -------------------------------------------------------------------------------------


def test_the_page_says_where_the_year_stands_and_offers_the_notice_box(root):
    html = admin_client(root).get(page()).content.decode()
    assert "2027 has no official calendar" in html
    assert 'name="notice"' in html and 'name="days"' in html
    assert 'name="_save"' not in html  # nothing to save before a preview
    assert "Confirm the Monday–Friday fallback for 2027" in html


def test_the_days_box_holds_the_years_days_to_edit(root):
    html = admin_client(root).get(page(2026)).content.decode()
    # (chinesecalendar, which filled 2026, names the holidays in English.)
    assert "date,working,name\n2026-01-01,0,New Year" in html
    assert "2026-01-04,1,New Year" in html  # a make-up Sunday
    assert "2026 is official" in html
    assert "Confirm the Monday–Friday fallback" not in html  # an official year has no fallback


def test_the_year_list_links_the_page(root):
    html = admin_client(root).get(reverse("admin:requests_app_calendaryear_changelist"))
    html = html.content.decode()
    assert page(2026) in html  # each year's row
    next_year = calendar.calendar_page(int(re.search(r"Load (\d{4}) from the notice", html)[1]))
    assert next_year in html


@pytest.mark.parametrize("year", [1999, 2101])
def test_a_year_out_of_bounds_is_404(root, year):
    assert admin_client(root).get(page(year)).status_code == 404


# --- preview, then save ---------------------------------------------------------------------------


def test_the_preview_shows_the_days_the_changes_and_the_clocks_it_would_move(root, running):
    with time_machine.travel(at("2026-12-31 18:00"), tick=False):
        response = preview(admin_client(root))
    assert response.status_code == 200
    html = response.content.decode()
    days = html[
        html.index('id="preview-days"') : html.index("</table>", html.index("preview-days"))
    ]
    # The weekdays off and the make-up weekend days, with their holidays' names.
    for date in ("2027-01-01", "2027-02-05", "2027-02-11", "2027-02-13", "2027-02-14"):
        assert date in days
    assert "2027-01-02" not in days  # a Saturday off is the rule
    assert "元旦" in days and "春节" in days
    assert "Make-up working day (调休)" in days and "Holiday" in days
    assert "Saving stores 6 weekdays off and 2 make-up working days for 2027" in html
    changes = html[html.index('id="preview-changes"') :]
    assert "2027-02-13" in changes[: changes.index("</table>")]
    assert "1 running request would be re-based" in html
    assert running.reference in html
    assert "2027-01-01 17:00" in html and "2027-01-04 17:00" in html
    assert 'name="_save"' in html
    # Nothing is saved by a preview.
    assert stored(2027) == []
    assert not CalendarYear.objects.filter(year=2027).exists()
    running.refresh_from_db()
    assert running.assign_due_at == at("2027-01-01 17:00")
    assert not running.events.filter(action="clock_rebased").exists()


def test_saving_loads_the_year_and_rebases_a_running_clock(root, running):
    with time_machine.travel(at("2026-12-31 18:00"), tick=False):
        client = admin_client(root)  # logged in after travelling: the session is fresh
        response = save(client)
        html = client.get(page()).content.decode()
    assert response.status_code == 302
    assert response["Location"] == page()
    assert len(stored(2027)) == 8
    year = CalendarYear.objects.get(year=2027)
    assert (year.provisional, year.source) == (False, "admin")
    running.refresh_from_db()
    assert running.assign_due_at == at("2027-01-04 17:00")
    assert running.answer_due_at == at("2027-01-06 17:00")
    assert running.events.filter(action="clock_rebased").count() == 2
    # Who loaded it is in the admin's history of the year.
    entry = LogEntry.objects.get(object_id=str(year.pk))
    assert entry.user == root and "2027" in entry.get_change_message()
    assert "2027 is official" in html and "this page" in html
    assert "Running requests re-based: 1." in html  # the success message
    assert "Confirm the Monday–Friday fallback" not in html


def test_the_days_box_loads_the_same_way(root):
    days = "date,working,name\n2027-01-01,0,元旦\n2027-02-13,true,春节\n"
    client = admin_client(root)
    shown = client.post(page(), {"source": "days", "days": days, "_preview": "1"})
    html = shown.content.decode()
    assert "2027-02-13" in html and "Saving stores 1 weekdays off and 1 make-up" in html
    response = client.post(
        page(), {"source": "days", "days": days, "previewed": fingerprint(html), "_save": "1"}
    )
    assert response.status_code == 302
    assert stored(2027) == [(at("2027-01-01 00:00").date(), False), (at("2027-02-13").date(), True)]


def test_save_saves_only_what_was_previewed(root):
    client = admin_client(root)
    shown = fingerprint(preview(client).content.decode())
    edited = NOTICE_2027.replace("2月13日（周六）、", "")
    response = client.post(
        page(), {"source": "notice", "notice": edited, "previewed": shown, "_save": "1"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The text changed after the preview" in html
    assert 'id="calendar-preview"' in html  # the new preview, to check before saving
    assert stored(2027) == []


def test_a_notice_that_cannot_be_read_shows_the_line_and_saves_nothing(root):
    wrong = NOTICE_2027.replace("1月1日（周五）", "1月1日（周四）")
    client = admin_client(root)
    for response in (
        preview(client, wrong),
        client.post(page(), {"source": "notice", "notice": wrong, "_save": "1", "previewed": "x"}),
    ):
        assert response.status_code == 200
        html = response.content.decode()
        assert "Nothing was saved" in html
        assert "Line 2 cannot be read" in html and "元旦：1月1日（周四）" in html
        assert 'id="calendar-preview"' not in html
    assert stored(2027) == []
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("notice", "元旦：2028年1月1日（周六）放假。"),
        ("days", "date,working,name\n2027-12-31,0,x\n2028-01-01,0,元旦\n"),
    ],
)
def test_a_day_outside_the_year_is_shown_and_nothing_saved(root, source, text):
    response = admin_client(root).post(page(), {"source": source, source: text, "_preview": "1"})
    html = response.content.decode()
    assert "Nothing was saved" in html and "2028-01-01 is not in 2027" in html
    assert stored(2027) == [] and stored(2028) == []


def test_an_empty_box_is_an_error(root):
    html = admin_client(root).post(page(), {"source": "notice", "_preview": "1"}).content.decode()
    assert "Paste the notice." in html


def test_the_page_in_chinese(root):
    client = admin_client(root, "zh-hans")
    html = client.get(page()).content.decode()
    assert "2027 年工作日历" in html and "2027 年尚无正式日历" in html
    assert "Where the year stands" not in html and "has no official calendar" not in html
    html = preview(client).content.decode()
    assert "预览：尚未保存任何内容" in html and "调休上班日" in html
    assert "将有 0 件在办诉求重新计算时限" in html
    assert "running request" not in html and "Saving stores" not in html
    wrong = NOTICE_2027.replace("1月1日（周五）", "1月1日（周四）")
    html = preview(client, wrong).content.decode()
    assert "未保存任何内容" in html and "第 2 行无法识别" in html
    assert "Nothing was saved" not in html and "cannot be read" not in html


# --- who may ----------------------------------------------------------------------------------


def test_only_an_admin_with_the_change_permission_opens_the_page(cast, root):
    for role in (Role.HANDLER, Role.INSPECTOR, Role.LEADER):
        staff = UserFactory(role=role, is_staff=True)
        staff.user_permissions.add(*Permission.objects.filter(codename="change_calendaryear"))
        client = admin_client(staff)
        assert client.get(page()).status_code == 403
        assert preview(client).status_code == 403
        assert (
            client.post(page(), {"_confirm_fallback": "1", "understood": "yes"}).status_code == 403
        )
    # An administrator without Django's permission on calendar years is refused too.
    assert admin_client(cast.ada).get(page()).status_code == 403
    # Someone who is not staff is sent to the admin's login page.
    response = admin_client(cast.liam).get(page())
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert stored(2027) == [] and not CalendarYear.objects.filter(year=2027).exists()


# --- the fallback ------------------------------------------------------------------------------


def test_confirming_the_fallback_records_who_and_when(root):
    moment = at("2026-11-20 10:30")
    with time_machine.travel(moment, tick=False):
        response = admin_client(root).post(page(), {"_confirm_fallback": "1", "understood": "yes"})
    assert response.status_code == 302
    year = CalendarYear.objects.get(year=2027)
    assert (year.provisional, year.fallback_confirmed_by, year.fallback_confirmed_at) == (
        True,
        root,
        moment,
    )
    assert not calendar.is_official_year(2027)  # the year stays unofficial: only accepted
    client = admin_client(root)
    html = client.get(page()).content.decode()
    assert "The Monday–Friday fallback for 2027 was confirmed by Root on 2026-11-20 10:30" in html
    assert 'name="_confirm_fallback"' not in html
    assert LogEntry.objects.filter(object_id=str(year.pk), user=root).exists()
    listed = client.get(reverse("admin:requests_app_calendaryear_changelist")).content.decode()
    assert "2026-11-20 10:30 by Root" in listed


def test_the_fallback_needs_the_box_ticked(root):
    client = admin_client(root)
    response = client.post(page(), {"_confirm_fallback": "1"}, follow=True)
    assert "Tick the box" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()


def test_an_official_year_has_no_fallback_to_confirm(root):
    response = admin_client(root).post(
        page(2026), {"_confirm_fallback": "1", "understood": "yes"}, follow=True
    )
    assert "2026 has an official calendar" in response.content.decode()
    assert CalendarYear.objects.get(year=2026).fallback_confirmed_at is None


def test_the_service_keeps_the_first_confirmation_and_refuses_non_admins(cast, root):
    first = calendar.confirm_fallback(2027, by=root, now=at("2026-11-02 09:00"))
    again = calendar.confirm_fallback(2027, by=cast.ada, now=at("2026-11-03 09:00"))
    assert (again.fallback_confirmed_by, again.fallback_confirmed_at) == (
        root,
        at("2026-11-02 09:00"),
    )
    assert first.pk == again.pk
    with pytest.raises(NotPermitted):
        calendar.confirm_fallback(2028, by=cast.ivan)
    assert not CalendarYear.objects.filter(year=2028).exists()


def test_loading_after_the_fallback_makes_the_year_official(root):
    calendar.confirm_fallback(2027, by=root)
    assert save(admin_client(root)).status_code == 302
    year = CalendarYear.objects.get(year=2027)
    assert not year.provisional and year.fallback_confirmed_by == root  # the record stays
    assert calendar.is_official_year(2027)
    assert ServiceRequest.objects.count() == 0


def test_single_days_are_read_only_in_the_admin(root):
    """A day changes only through the load page, which re-bases the clocks it moves."""
    day = CalendarDay.objects.create(date=dt.date(2041, 10, 1), is_working=False, name="国庆节")
    client = admin_client(root, "en")
    assert client.get(reverse("admin:requests_app_calendarday_add")).status_code == 403
    change = reverse("admin:requests_app_calendarday_change", args=[day.pk])
    assert (
        client.post(change, {"date": "2041-10-01", "is_working": "on", "name": "x"}).status_code
        == 403
    )
    delete = reverse("admin:requests_app_calendarday_delete", args=[day.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    day.refresh_from_db()
    assert (day.is_working, day.name) == (False, "国庆节")
