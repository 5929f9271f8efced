"""Django admin for the working-day calendar: its years and days, and the page that loads a year.

The page (`<year>/load/` under the calendar years) takes the State Council's notice as pasted, or
the year's days as `date,working,name` lines, shows what the load would do (the days, which of
them differ from the calendar as it stands, the running clocks it would re-base) and saves only
what was previewed. It reads and saves through the calendar service, as the API does. For a year
with no published schedule, an admin may instead confirm the Monday–Friday fallback there.
"""

import hashlib

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import NotPermitted
from core.template_filters import minute_text
from officials.models import Role
from requests_app import calendar
from requests_app.calendar_csv import HEADER, DaysFileError
from requests_app.calendar_notice import NoticeError
from requests_app.models import CalendarDay, CalendarYear, Clock
from requests_app.selectors import requests_visible_to

NOTICE, DAYS = "notice", "days"
TEXT_MAX = 20_000  # a notice is about 1,500 characters; a year of days about 1,000
MOVES_SHOWN = 50
# Where a year's days came from (CalendarYear.source), as the page names it.
SOURCES = {
    calendar.SOURCE_API: _("the API"),
    calendar.SOURCE_ADMIN: _("this page"),
    calendar.SOURCE_FILE: _("a CSV file"),
    "chinesecalendar": _("the chinesecalendar package"),
}


def _days_in_year(is_working: bool):
    """How many exceptions of one kind the row's year has: a subquery, not a query per row."""
    days = (
        CalendarDay.objects.filter(date__year=OuterRef("year"), is_working=is_working)
        .order_by()
        .values("is_working")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(days, output_field=IntegerField()), 0)


def kind_label(is_working: bool) -> str:
    return gettext("Make-up working day (调休)") if is_working else gettext("Holiday")


class CalendarLoadForm(forms.Form):
    """A year's exceptions, from the notice or as days; `clean` reads them with the service's
    readers, so every mistake (a line, a day outside the year) lands on its box."""

    source = forms.ChoiceField(
        label=_("Load from"),
        choices=[
            (NOTICE, _("the State Council's notice, pasted as published")),
            (DAYS, _("the days, one a line")),
        ],
        widget=forms.RadioSelect,
        initial=NOTICE,
    )
    notice = forms.CharField(
        label=_("The notice"),
        required=False,
        strip=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"class": "vLargeTextField", "rows": 12}),
        help_text=_(
            "Paste the whole notice (国务院办公厅关于…部分节假日安排的通知): the lines that say "
            "放假 or 上班 are read, the others passed over."
        ),
    )
    days = forms.CharField(
        label=_("The days"),
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"class": "vLargeTextField", "rows": 12}),
        help_text=_(
            "One day a line after the header date,working,name: the date (YYYY-MM-DD), 1 for a "
            "make-up working day or 0 for a day off, and the holiday's name. Saturdays and "
            "Sundays off and Mondays to Fridays worked need no line."
        ),
    )

    def __init__(self, *args, year: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.year = year

    def clean(self):
        data = super().clean()
        source = data.get("source")
        if source is None or self.has_error(source):
            return data
        text = data.get(source, "")
        if not text.strip():
            self.add_error(
                source,
                gettext("Paste the notice.") if source == NOTICE else gettext("Give the days."),
            )
            return data
        try:
            data["parsed"] = self._read(source, text)
        except NoticeError as error:
            self.add_error(
                NOTICE,
                gettext("Line %(line)s cannot be read: %(problem)s. The line: “%(text)s”")
                % {"line": error.line, "problem": error.problem, "text": error.text.strip()},
            )
        except DaysFileError as error:
            self.add_error(DAYS, str(error))
        except calendar.CalendarInputError as error:
            self.add_error(source, error.message)
        return data

    def _read(self, source: str, text: str) -> list[calendar.Day]:
        if source == NOTICE:
            days = calendar.days_from_notice(text, self.year)
        else:
            _year, days = calendar.days_from_csv(text, self.year)
        # The service checks again when it saves; checked here, a mistake lands on its box.
        return calendar.exceptions_only(days, self.year)

    def fingerprint(self) -> str:
        """What was read, so that Save saves what the preview showed, and nothing else."""
        source = self.cleaned_data["source"]
        text = f"{self.year}\0{source}\0{self.cleaned_data[source]}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]


def days_as_lines(days: list[calendar.Day]) -> str:
    """A year's stored exceptions in the format of the days box (and of `load_calendar --file`)."""
    lines = [",".join(HEADER)]
    lines += [f"{day.date.isoformat()},{int(day.working)},{day.name}" for day in days]
    return "\n".join(lines) + "\n"


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = [
        "year",
        "provisional",
        "source",
        "loaded",
        "holidays",
        "makeup_days",
        "fallback",
        "load_link",
    ]
    list_filter = ["provisional"]
    # The fallback is recorded by the load page's button (who and when), never typed in.
    readonly_fields = ["fallback_confirmed_by", "fallback_confirmed_at"]
    change_list_template = "admin/requests_app/calendaryear/change_list.html"
    change_form_template = "admin/requests_app/calendaryear/change_form.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("fallback_confirmed_by")
            .annotate(holiday_count=_days_in_year(False), makeup_count=_days_in_year(True))
        )

    @admin.display(description=_("loaded"), ordering="loaded_at")
    def loaded(self, obj) -> str:
        return timezone.localtime(obj.loaded_at).strftime("%Y-%m-%d")  # the day is enough here

    @admin.display(description=_("holidays"), ordering="holiday_count")
    def holidays(self, obj) -> int:
        return obj.holiday_count

    @admin.display(description=_("make-up days (调休)"), ordering="makeup_count")
    def makeup_days(self, obj) -> int:
        return obj.makeup_count

    @admin.display(description=_("fallback confirmed"), ordering="fallback_confirmed_at")
    def fallback(self, obj) -> str:
        if obj.fallback_confirmed_at is None:
            return "—"
        return gettext("%(when)s by %(who)s") % {
            "when": minute_text(obj.fallback_confirmed_at),
            "who": obj.fallback_confirmed_by.display_name,
        }

    @admin.display(description=_("days"))
    def load_link(self, obj) -> str:
        return format_html(
            '<a href="{}">{}</a>', calendar.calendar_page(obj.year), gettext("Load or preview")
        )

    def may_load(self, request) -> bool:
        """An administrator with Django's change permission on calendar years."""
        model = self.opts
        return request.user.role == Role.ADMIN and request.user.has_perm(
            f"{model.app_label}.change_{model.model_name}"
        )

    def get_urls(self):
        load = path(
            "<int:year>/load/",
            self.admin_site.admin_view(self.load_view),
            name=f"{self.opts.app_label}_{self.opts.model_name}_load",
        )
        return [load, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        self._warn_of_missing_years(request)
        next_year = timezone.localdate().year + 1
        extra_context = {
            **(extra_context or {}),
            "may_load": self.may_load(request),
            "next_year": next_year,
            "next_year_url": calendar.calendar_page(next_year),
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "may_load": self.may_load(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _warn_of_missing_years(self, request) -> None:
        """Clocks count Monday–Friday for a year without official data: say so before it bites."""
        this_year = timezone.localdate().year
        wanted = {this_year, this_year + 1}
        covered = set(
            CalendarYear.objects.filter(year__in=wanted, provisional=False).values_list(
                "year", flat=True
            )
        )
        for year in sorted(wanted - covered):
            messages.warning(
                request,
                _(
                    "%(year)s has no official working-day calendar yet: deadlines count Monday "
                    "to Friday as working days for it. Add its holidays and make-up working days "
                    "here, or load them with `manage.py load_calendar`."
                )
                % {"year": year},
            )

    # --- the load page ----------------------------------------------------------------------

    def load_view(self, request, year: int):
        """Preview a year's days from the notice (or the days), then save; or confirm the
        fallback."""
        if not self.may_load(request):
            raise PermissionDenied
        if not calendar.FIRST_YEAR <= year <= calendar.LAST_YEAR:
            raise Http404
        action = _action(request)
        if action == "confirm_fallback":
            return self._confirm_fallback(request, year)
        official, stored = calendar.year_days(year)
        form = CalendarLoadForm(
            request.POST if action else None, year=year, initial={"days": days_as_lines(stored)}
        )
        preview = None
        if action and form.is_valid():
            days = form.cleaned_data["parsed"]
            if action == "save" and request.POST.get("previewed") == form.fingerprint():
                if self._save(request, year, days, form):
                    return HttpResponseRedirect(calendar.calendar_page(year))
            elif action == "save":
                messages.warning(
                    request,
                    _("The text changed after the preview: check the new preview, then save."),
                )
            if form.is_valid():
                preview = calendar.preview_year(year, days)
        return TemplateResponse(
            request,
            "admin/requests_app/calendaryear/load.html",
            self._load_context(request, year, official, form, preview),
        )

    def _save(self, request, year: int, days: list[calendar.Day], form) -> bool:
        try:
            loaded = calendar.load_year(year, days, source=calendar.SOURCE_ADMIN)
        except calendar.CalendarInputError as error:
            form.add_error(form.cleaned_data["source"], error.message)
            return False
        summary = gettext(
            "Loaded %(year)s: %(days)s holidays and make-up working days. Running requests "
            "re-based: %(rebased)s."
        ) % {"year": year, "days": len(loaded.days), "rebased": loaded.rebased}
        self.log_change(request, CalendarYear.objects.get(year=year), summary)
        messages.success(request, summary)
        return True

    def _confirm_fallback(self, request, year: int):
        if request.POST.get("understood") != "yes":
            messages.error(
                request, _("Tick the box to say you understand what the fallback means.")
            )
            return HttpResponseRedirect(calendar.calendar_page(year))
        try:
            row = calendar.confirm_fallback(year, by=request.user)
        except NotPermitted:
            raise PermissionDenied from None
        except calendar.CalendarInputError as error:
            messages.error(request, error.message)
        else:
            self.log_change(request, row, gettext("Confirmed the Monday–Friday fallback."))
            messages.success(
                request,
                _(
                    "Recorded: Monday to Friday, with no holidays, will be used to judge "
                    "escalations and accountability cases in %(year)s."
                )
                % {"year": year},
            )
        return HttpResponseRedirect(calendar.calendar_page(year))

    def _load_context(self, request, year: int, official: bool, form, preview) -> dict:
        row = CalendarYear.objects.select_related("fallback_confirmed_by").filter(year=year).first()
        context = {
            **self.admin_site.each_context(request),
            "title": _("The working-day calendar for %(year)s") % {"year": year},
            "opts": self.opts,
            "year": year,
            "row": row,
            "source": SOURCES.get(row.source, row.source) if row else "",
            "official": official,
            "form": form,
            "previous_url": calendar.calendar_page(max(year - 1, calendar.FIRST_YEAR)),
            "next_url": calendar.calendar_page(min(year + 1, calendar.LAST_YEAR)),
            "preview": preview,
        }
        if preview is not None:
            context.update(self._preview_context(request, preview, form))
        return context

    def _preview_context(self, request, preview: calendar.Preview, form) -> dict:
        changed = {change.date for change in preview.changes}
        rows = [
            {
                "date": day.date,
                "weekday": date_format(day.date, "l"),
                "kind": kind_label(day.working),
                "working": day.working,
                "name": day.name,
                "changed": day.date in changed,
            }
            for day in preview.loaded.days
        ]
        moves = preview.loaded.moves[:MOVES_SHOWN]
        references = dict(
            requests_visible_to(request.user)
            .filter(pk__in={move["request"] for move in moves})
            .values_list("pk", "reference")
        )
        return {
            "days": rows,
            "holiday_count": sum(not day.working for day in preview.loaded.days),
            "makeup_count": sum(day.working for day in preview.loaded.days),
            "changes": [
                {
                    "date": change.date,
                    "weekday": date_format(change.date, "l"),
                    "was": _day_kind(change.was_working),
                    "now": _day_kind(change.working),
                    "name": change.name,
                }
                for change in preview.changes
            ],
            "moves": [
                {
                    **move,
                    "reference": references.get(move["request"], f"#{move['request']}"),
                    "clock_label": Clock(move["clock"]).label,
                }
                for move in moves
            ],
            "more_moves": max(0, len(preview.loaded.moves) - MOVES_SHOWN),
            "fingerprint": form.fingerprint(),
        }


def _action(request) -> str | None:
    """Which button was pressed: the admin's way, by the submit button's name."""
    if request.method != "POST":
        return None
    for action in ("confirm_fallback", "save", "preview"):
        if f"_{action}" in request.POST:
            return action
    return "preview"  # a form sent without a button (Enter in a field): never a save


def _day_kind(working: bool) -> str:
    return gettext("working day") if working else gettext("day off")


class YearFilter(admin.SimpleListFilter):
    title = _("year")
    parameter_name = "year"

    def lookups(self, request, model_admin):
        years = CalendarDay.objects.dates("date", "year", order="DESC")
        return [(str(d.year), str(d.year)) for d in years]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(date__year=int(self.value()))
        return queryset


class DayKindFilter(admin.BooleanFieldListFilter):
    """The is_working flag, named for what it means in the calendar table."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = _("kind of day")

    def choices(self, changelist):
        labels = {"1": _("Make-up working day (调休)"), "0": _("Holiday")}
        for choice in super().choices(changelist):
            query = choice["query_string"]
            for value, label in labels.items():
                if f"{self.lookup_kwarg}={value}" in query:
                    choice["display"] = label
            yield choice


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "weekday", "kind", "name"]
    list_filter = [("is_working", DayKindFilter), YearFilter]
    search_fields = ["name"]
    date_hierarchy = "date"

    @admin.display(description=_("weekday"))
    def weekday(self, obj) -> str:
        return date_format(obj.date, "l")

    # Days change only through a year's load page (or the API, or a CSV): that path re-bases the
    # running clocks a change moves; a day edited here alone would leave them wrong.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("kind of day"), ordering="is_working")
    def kind(self, obj) -> str:
        return _("Make-up working day (调休)") if obj.is_working else _("Holiday")
