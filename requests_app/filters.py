"""Filters of the request list; they narrow an already scoped queryset and can never widen it."""

import datetime as dt

import django_filters
from django import forms
from django.db.models import Case, F, When
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field

from officials.models import Category
from requests_app.models import ServiceRequest, Status, overdue_q
from requests_app.search import matching


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(django_filters.NumberFilter):
    """An id: a whole number the database can hold (a 30-digit id is a 400, not an overflow);
    the schema says so, so that clients (and the fuzzer) know what is accepted."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


class StrictBooleanField(forms.NullBooleanField):
    """true or false (or nothing): another value is a 400, where Django's field reads it as
    nothing and the filter would silently drop out."""

    # NullBooleanSelect reads any unknown value as nothing before the field sees it.
    widget = forms.TextInput

    def to_python(self, value):
        result = super().to_python(value)
        if result is None and value not in self.empty_values:
            message = forms.ChoiceField.default_error_messages["invalid_choice"]
            raise forms.ValidationError(message, code="invalid_choice", params={"value": value})
        return result


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class StableOrderingFilter(django_filters.OrderingFilter):
    """The API's orderings, each ending with the id in the direction of the last field.

    Rows that tie on the field (requests due at the same minute) then keep one order from page
    to page, so none repeats or goes missing. A time left empty (NULL) counts as later than any:
    last ascending, first descending, on every database; the descending list is the ascending
    one reversed, so one index per field, read forwards or backwards, serves both
    (`req_submitted_id`, `req_answer_due_id`).
    """

    def filter(self, qs, value):
        fields = [self.get_ordering_value(param) for param in value or [] if param]
        if not fields:
            return qs
        descending = fields[-1].startswith("-")
        return qs.order_by(*map(_nulls_later, fields), "-id" if descending else "id")


def _nulls_later(field: str):
    if field.startswith("-"):
        return F(field[1:]).desc(nulls_first=True)
    return F(field).asc(nulls_last=True)


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class RequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Status.choices)
    category = django_filters.ModelChoiceFilter(
        field_name="category", to_field_name="code", queryset=Category.objects.all()
    )
    enterprise = IdFilter(field_name="enterprise_id")
    department = IdFilter(field_name="department_id")
    overdue = StrictBooleanFilter(method="filter_overdue")
    search = django_filters.CharFilter(method="filter_search", max_length=200)
    submitted_after = django_filters.DateFilter(method="filter_after")
    submitted_before = django_filters.DateFilter(method="filter_before")
    ordering = StableOrderingFilter(fields=["submitted_at", "answer_due_at"])

    class Meta:
        model = ServiceRequest
        fields: list[str] = []

    def filter_overdue(self, queryset, name, value):
        # The condition as a true/false value, NULLs included (a NULL due time is not overdue):
        # `exclude(condition)` would drop rows whose NOT is NULL. A page read in the list's
        # order then stops after its rows, where `pk IN (every overdue request)` built that
        # whole set first (267 ms for `overdue=false` at 1M requests).
        flag = Case(When(overdue_q(timezone.now()), then=True), default=False)
        return queryset.alias(is_overdue=flag).filter(is_overdue=value)

    def filter_search(self, queryset, name, value):
        return matching(queryset, value)

    def filter_after(self, queryset, name, value):
        return queryset.filter(submitted_at__gte=_local_midnight(value))

    def filter_before(self, queryset, name, value):
        # Inclusive of the whole named (local) day.
        return queryset.filter(submitted_at__lt=_local_midnight(value + dt.timedelta(days=1)))
