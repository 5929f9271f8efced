"""Visit filings (入企报备): quiet production days, the inspection whitelist, urgent exemptions,
and joint visits (进一次门，办多件事) of the filings for one enterprise whose windows overlap."""

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.models import Exemption, VisitFiling, VisitPurpose
from compliance.selectors import may_keep_records
from officials.models import Enterprise, LinkKind, User
from officials.selectors import enterprises_visible_to

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A filing is for one visit, not a standing permit: a window longer than this is refused.
MAX_WINDOW = dt.timedelta(days=14)
# Purposes that are inspections; a whitelisted enterprise is spared those not required by law.
INSPECTIONS = frozenset({VisitPurpose.INSPECTION, VisitPurpose.ENFORCEMENT})


class VisitRefused(Exception):
    """The filing is refused in the enterprise's interest (HTTP 409 with a code)."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass
class Filed:
    filing: VisitFiling
    joint_with: list[int]


def days_touched(start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    """Every Shanghai calendar day the window [start, end) touches."""
    first = timezone.localtime(start, SHANGHAI).date()
    last = timezone.localtime(end - dt.timedelta(microseconds=1), SHANGHAI).date()
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def quiet_weekdays(enterprise: Enterprise) -> set[int]:
    """The enterprise's quiet production days as ISO weekdays, ignoring anything malformed."""
    days = enterprise.quiet_days if isinstance(enterprise.quiet_days, list) else []
    found = set()
    for day in days:
        try:
            number = int(day)
        except (TypeError, ValueError):
            continue
        if 1 <= number <= 7:
            found.add(number)
    return found


def bars(enterprise: Enterprise, start: dt.datetime, end: dt.datetime, purpose: str) -> list:
    """What stands in the way of this visit: [(code, detail), …], quiet days first."""
    found = []
    quiet = quiet_weekdays(enterprise)
    touched = [day for day in days_touched(start, end) if day.isoweekday() in quiet]
    if touched:
        found.append(
            (
                Exemption.QUIET_DAY.value,
                _(
                    "%(enterprise)s keeps quiet production days (安宁生产日) on %(weekdays)s; "
                    "the visit falls on %(date)s. Only an urgent visit with an exempt reason "
                    "may go ahead."
                )
                % {
                    "enterprise": enterprise.name,
                    "weekdays": ", ".join(_weekday(day) for day in sorted(quiet)),
                    "date": touched[0].isoformat(),
                },
            )
        )
    if enterprise.whitelisted and purpose in INSPECTIONS:
        found.append(
            (
                Exemption.WHITELISTED.value,
                _(
                    "%(enterprise)s is on the inspection whitelist (白名单): inspections not "
                    "required by law are barred. Only an urgent visit with an exempt reason "
                    "may go ahead."
                )
                % {"enterprise": enterprise.name},
            )
        )
    return found


def _weekday(number: int) -> str:
    names = {
        1: _("Monday"),
        2: _("Tuesday"),
        3: _("Wednesday"),
        4: _("Thursday"),
        5: _("Friday"),
        6: _("Saturday"),
        7: _("Sunday"),
    }
    return names[number]


def _validate(by, enterprise, planned_start, planned_end, urgent, reason, now) -> None:
    if not may_keep_records(by):
        raise PermissionDenied(_("Only officials who serve enterprises file visits."))
    if not enterprises_visible_to(by).filter(pk=enterprise.pk).exists():
        raise ValidationError({"enterprise": [_("This enterprise is outside your jurisdiction.")]})
    if planned_end <= planned_start:
        raise ValidationError({"planned_end": [_("The visit must end after it starts.")]})
    if planned_end - planned_start > MAX_WINDOW:
        raise ValidationError(
            {"planned_end": [_("File one visit at a time: at most 14 days from start to end.")]}
        )
    if planned_end <= now:
        raise ValidationError(
            {"planned_end": [_("This visit is over: log it as an interaction instead.")]}
        )
    if urgent and not reason:
        raise ValidationError({"reason": [_("An urgent visit needs a reason from the list.")]})


def file_visit(
    *,
    by: User,
    enterprise: Enterprise,
    planned_start: dt.datetime,
    planned_end: dt.datetime,
    purpose: str,
    urgent: bool = False,
    reason: str = "",
    note: str = "",
    now: dt.datetime | None = None,
) -> Filed:
    """File a planned visit, or refuse it (VisitRefused) on a quiet day or for a whitelisted
    enterprise's non-statutory inspection, unless urgent with an exempt reason — then the
    exemption is recorded for the inspectors."""
    now = now or timezone.now()
    _validate(by, enterprise, planned_start, planned_end, urgent, reason, now)
    standing = bars(enterprise, planned_start, planned_end, purpose)
    exemption = ""
    if standing:
        if not (urgent and reason):
            code, detail = standing[0]
            raise VisitRefused(code, detail)
        exemption = standing[0][0]
    with transaction.atomic():
        filing = VisitFiling.objects.create(
            official=by,
            department_id=by.department_id,
            enterprise=enterprise,
            region=enterprise.region,
            planned_start=planned_start,
            planned_end=planned_end,
            purpose=purpose,
            urgent=urgent,
            reason=reason if urgent else "",
            exemption=exemption,
            note=note,
            created_at=now,
        )
    return Filed(filing, joint_with(filing))


def overlapping(filing: VisitFiling):
    """Other live filings for the same enterprise whose windows overlap this one's."""
    return (
        VisitFiling.objects.filter(
            enterprise_id=filing.enterprise_id,
            cancelled_at__isnull=True,
            planned_start__lt=filing.planned_end,
            planned_end__gt=filing.planned_start,
        )
        .exclude(pk=filing.pk)
        .order_by("planned_start", "pk")
    )


def joint_with(filing: VisitFiling) -> list[int]:
    return list(overlapping(filing).values_list("pk", flat=True))


def cancel_visit(filing: VisitFiling, *, by: User, now: dt.datetime | None = None) -> None:
    """The filer, or the enterprise's liaison coordinating a joint visit, calls a visit off."""
    coordinates = (
        filing.enterprise.links.active().filter(official=by, kind=LinkKind.LIAISON).exists()
    )
    if filing.official_id != by.pk and not coordinates:
        raise PermissionDenied(_("Only the filer or the enterprise's liaison may cancel a visit."))
    VisitFiling.objects.filter(pk=filing.pk, cancelled_at__isnull=True).update(
        cancelled_at=now or timezone.now()
    )


@dataclass
class JointVisit:
    """Filings for one enterprise whose windows overlap (directly or through one another)."""

    enterprise: Enterprise
    filings: list[VisitFiling]

    @property
    def start(self) -> dt.datetime:
        return min(f.planned_start for f in self.filings)

    @property
    def end(self) -> dt.datetime:
        return max(f.planned_end for f in self.filings)

    @property
    def joint(self) -> bool:
        return len(self.filings) > 1


def group_joint_visits(filings) -> list[JointVisit]:
    """Group live filings into joint visits: per enterprise, chains of overlapping windows.

    Pure: sorts what it is given and merges as it goes (an interval union).
    """
    live = sorted(
        (f for f in filings if f.cancelled_at is None),
        key=lambda f: (f.enterprise_id, f.planned_start, f.pk),
    )
    groups: list[JointVisit] = []
    for filing in live:
        last = groups[-1] if groups else None
        if (
            last is not None
            and last.enterprise.pk == filing.enterprise_id
            and filing.planned_start < last.end
        ):
            last.filings.append(filing)
        else:
            groups.append(JointVisit(filing.enterprise, [filing]))
    return sorted(groups, key=lambda g: (g.start, g.enterprise.pk))
