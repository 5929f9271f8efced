"""Demo data of the lists in use: officials' records (one of each outcome), visit filings with a
joint visit and an urgent exemption, and a declaration that recuses its official."""

import datetime as dt

from django.utils import timezone

from compliance import services, visits
from compliance.models import Interaction
from officials.models import Enterprise, User


def _local(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _next(weekday: int, after: dt.date) -> dt.date:
    """The next ISO `weekday` strictly after `after`."""
    days = (weekday - after.isoweekday()) % 7 or 7
    return after + dt.timedelta(days=days)


def seed_compliance_demo(stdout) -> None:
    """Call after the demo city exists (seed_demo's people and enterprises)."""
    if Interaction.objects.exists():
        stdout.write("Compliance demo: records exist already, left alone.")
        return
    liaison = User.objects.get(username="liaison1")
    leader = User.objects.get(username="leader1")
    linked = list(Enterprise.objects.filter(links__official=liaison).distinct().order_by("pk"))
    plain = [e for e in linked if not e.whitelisted and not e.quiet_days]
    quiet = next(e for e in linked if e.quiet_days)
    now = timezone.now()
    today = timezone.localdate()

    def interaction(enterprise, kind, hours_ago, **facts):
        return services.record_interaction(
            by=liaison,
            enterprise=enterprise,
            kind=kind,
            occurred_at=now - dt.timedelta(hours=hours_ago),
            **facts,
        )

    interaction(plain[0], "meeting", 50, description="了解扩产用地需求")
    interaction(plain[1], "office_meeting", 30, description="企业来访座谈政策兑现")
    interaction(
        plain[2],
        "meal",
        26,
        description="调研后企业安排晚餐",
        payer="enterprise",
        amount_total=1800,
        headcount=4,
        alcohol=True,
    )
    interaction(plain[3], "site_visit", 6, description="未报备的走访")
    services.record_gift(
        by=liaison,
        enterprise=plain[0],
        direction="received",
        kind="souvenir",
        value_cny=80,
        received_at=now - dt.timedelta(days=2),
        registered_at=now - dt.timedelta(days=1),
    )
    services.record_gift(
        by=liaison,
        enterprise=plain[1],
        direction="received",
        kind="e_red_packet",
        value_cny=888,
        received_at=now - dt.timedelta(days=1),
        refused=True,
    )
    services.record_declaration(
        by=liaison, enterprise=plain[4], relation="relative_employed", note="配偶在该企业任会计"
    )

    # A joint visit: the liaison and the linked leader on the same morning.
    day = today + dt.timedelta(days=2)
    visits.file_visit(
        by=liaison,
        enterprise=plain[5],
        planned_start=_local(day, 9),
        planned_end=_local(day, 11),
        purpose="service",
        note="回访用电诉求办理情况",
    )
    visits.file_visit(
        by=leader,
        enterprise=plain[5],
        planned_start=_local(day, 10),
        planned_end=_local(day, 12),
        purpose="research",
        note="调研产业链配套",
    )
    # An urgent inspection on a quiet production day: let through, exemption recorded.
    wednesday = _next(3, today)
    visits.file_visit(
        by=liaison,
        enterprise=quiet,
        planned_start=_local(wednesday, 14),
        planned_end=_local(wednesday, 16),
        purpose="inspection",
        urgent=True,
        reason="safety",
        note="群众举报燃气泄漏隐患",
    )
    stdout.write(
        "Compliance demo: 4 interactions (one violation of N02, one unfiled visit), 2 gifts, "
        "1 declaration, 3 visit filings (a joint visit and an urgent exemption)."
    )
