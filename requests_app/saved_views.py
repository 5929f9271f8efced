"""Saved views of the request list ("my views"): an official's own filters and order, by name.

Only the list's own filters are kept (RequestFilter's, the status) and its page size, each value
as typed and capped, so a saved view is a link to the list and never more: opening it runs the
same scoped queryset and filters as typing them again.
"""

from django.http import QueryDict
from django.utils.translation import gettext as _

from core.errors import InvalidInput
from requests_app.filters import RequestFilter
from requests_app.models import SavedView

MAX_VIEWS = 20
MAX_VALUE = 200
# The list's filters (status, category, enterprise, …, ordering) and the page size chosen.
KEPT = (*RequestFilter.base_filters, "page_size")


def kept_query(params: QueryDict) -> str:
    """The list's filters of `params`, as a query string (page and unknown keys left out)."""
    kept = QueryDict(mutable=True)
    for key in KEPT:
        value = params.get(key, "").strip()
        if value:
            kept[key] = value[:MAX_VALUE]
    return kept.urlencode()


def views_of(user):
    return SavedView.objects.filter(user=user)


def save_view(user, name: str, params: QueryDict) -> SavedView:
    """Keep the filters under `name` (a name already used is overwritten: "save again")."""
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise InvalidInput({"name": [_("Give the view a name of at most 60 characters.")]})
    existing = views_of(user).filter(name=name).first()
    if existing is None and views_of(user).count() >= MAX_VIEWS:
        raise InvalidInput(
            {"name": [_("You keep %(max)s views already: delete one first.") % {"max": MAX_VIEWS}]}
        )
    view, _created = SavedView.objects.update_or_create(
        user=user, name=name, defaults={"query": kept_query(params)}
    )
    return view
