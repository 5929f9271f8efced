"""The public home page at `/`: what the portal is and promises, how to file, and last quarter's
results for the whole city, aggregates only.

Signed-in users go on to their queue, as before; the page is for everyone else.
"""

from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from officials.models import Department, Role, User
from reports.charts import percent
from reports.figures import Period
from reports.selectors import report_scope
from reports.snapshots import kept_quarter

# The figures a visitor may see: city-wide totals and rates. Never the breakdowns by category
# or region, the recurring problems (their examples carry request titles) or anything else of
# the kept report that could name an enterprise or a person.
PUBLIC_COUNTS = ("received", "closed")
PUBLIC_RATES = ("resolution_rate", "assign_on_time_rate", "answer_on_time_rate", "satisfaction")


def public_results(now=None) -> dict:
    """Last quarter's public figures for the whole city, from the kept figures.

    The portal's scope as reports.snapshots.refresh_portal builds it, so the page reads the
    snapshot the nightly task keeps (one row) instead of counting requests.
    """
    now = now or timezone.now()
    period = Period.containing(now).previous()
    scope = report_scope(User(role=Role.ADMIN, is_active=True))
    report = kept_quarter(scope, period, now=now)
    flags = report.get("flags") or {}
    flagged = [flag["department"] for color in ("red", "yellow") for flag in flags.get(color, [])]
    # The kept figures name them in whichever language computed them: named in the reader's
    # (one query, only when there are flags).
    names = {}
    if flagged:
        ids = [department["id"] for department in flagged]
        names = {d.pk: d.display_name for d in Department.objects.filter(pk__in=ids)}

    def named(department: dict) -> str:
        return names.get(department["id"], department["name"])

    return {
        "period": period,
        "counts": {name: report[name] for name in PUBLIC_COUNTS},
        "rates": {name: percent(report[name]) for name in PUBLIC_RATES},
        # Department names only: public bodies, judged in public.
        "red": [named(flag["department"]) for flag in flags.get("red", [])],
        "yellow": [named(flag["department"]) for flag in flags.get("yellow", [])],
        "provisional": bool(flags.get("provisional")),
    }


@require_GET
# Private: the page carries the language switch's CSRF token, which a shared cache must not
# hand to someone else; a browser may keep it for a few minutes (the figures change nightly).
@cache_control(private=True, max_age=300)
def home(request):
    if request.user.is_authenticated:
        return redirect("requests:list")
    return render(request, "portal/home.html", {"results": public_results()})
