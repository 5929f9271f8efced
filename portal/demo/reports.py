"""Demo data for the reports: four past quarters of worked requests for the city's bureaus, so
the dashboard has trends, ratings, peer groups and flags (called by seed_demo after the city)."""

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from officials.models import Department, EnterpriseLink, Role, User
from portal.demo.city import TITLES
from reports import flags
from reports.figures import Period
from requests_app import workflow

PER_BUREAU = 5  # requests per bureau and quarter
QUARTERS = 4


def _bureaus() -> list[Department]:
    """The city's bureaus that have a handler and handle a category: one peer group."""
    return list(
        Department.objects.filter(
            parent__isnull=False,
            parent__parent__isnull=True,
            categories__isnull=False,
            staff__role=Role.HANDLER,
        )
        .distinct()
        .order_by("pk")
    )


def _weekday_moment(rng: random.Random, period: Period) -> dt.datetime:
    days = (period.end - period.start).days
    while True:
        day = period.start + dt.timedelta(days=rng.randrange(days - 7))
        if day.isoweekday() <= 5:
            return day + dt.timedelta(hours=rng.randint(9, 15))


def _work(request, *, bureau, handler, liaison, entrepreneur, weak: bool, rng, start):
    """Take a request through the loop; a weak bureau works slower and worse."""

    def do(action, by, hours, **payload):
        return workflow.transition(
            request.pk, action, by=by, now=start + dt.timedelta(hours=hours), **payload
        )

    assign_after = rng.uniform(20, 40) if weak and rng.random() < 0.6 else rng.uniform(1, 6)
    do("assign", liaison, assign_after, department=bureau, handler=handler)
    do("start", handler, assign_after + 1)
    answer_after = assign_after + (rng.uniform(80, 120) if weak else rng.uniform(10, 50))
    do("feedback", handler, answer_after, message="已按要求办理。")
    if weak and rng.random() < 0.4:
        do("review", entrepreneur, answer_after + 2, accepted=False, comment="问题仍未解决。")
        answer_after += 30
        do("feedback", handler, answer_after, message="已重新办理。")
    rating = rng.choice([2, 3, 3, 4]) if weak else rng.choice([4, 5, 5])
    do("review", entrepreneur, answer_after + 10, accepted=True, rating=rating)


def seed_reports_demo(stdout, *, now=None, seed: int = 5) -> int:
    """Add PER_BUREAU requests per bureau in each of the QUARTERS quarters before `now`'s, then
    award those quarters' flags (the weakest bureaus collect consecutive yellow flags)."""

    rng = random.Random(seed)
    now = now or timezone.now()
    bureaus = _bureaus()
    liaison = User.objects.filter(role=Role.LIAISON).order_by("pk").first()
    links = EnterpriseLink.objects.active().filter(official=liaison).values("enterprise_id")
    entrepreneurs = list(
        User.objects.filter(role=Role.ENTREPRENEUR, enterprises__in=links)
        .prefetch_related("enterprises")
        .order_by("pk")
    )
    if len(bureaus) < 4 or liaison is None or not entrepreneurs:
        stdout.write("Reports demo: the demo city is missing; nothing added.")
        return 0
    periods = [Period.containing(now)]
    for _ in range(QUARTERS):
        periods.insert(0, periods[0].previous())
    made = 0
    for period in periods[:-1]:
        for index, bureau in enumerate(bureaus):
            handler = bureau.staff.filter(role=Role.HANDLER).order_by("pk").first()
            category = bureau.categories.order_by("position").first()
            for _ in range(PER_BUREAU):
                entrepreneur = rng.choice(entrepreneurs)
                enterprise = entrepreneur.enterprises.first()
                title = rng.choice(TITLES.get(category.code, TITLES["other"]))
                start = _weekday_moment(rng, period)
                with transaction.atomic():
                    request = workflow.submit_request(
                        by=entrepreneur,
                        enterprise=enterprise,
                        category=category,
                        title=title,
                        description=f"{title}。希望相关部门尽快协调。",
                        now=start,
                    )
                    _work(
                        request,
                        bureau=bureau,
                        handler=handler,
                        liaison=liaison,
                        entrepreneur=entrepreneur,
                        # The last two bureaus are the weak ones, quarter after quarter.
                        weak=index >= len(bureaus) - 2,
                        rng=rng,
                        start=start,
                    )
                made += 1
        flags.award_flags(period, now=period.end + dt.timedelta(hours=1))
    stdout.write(f"Reports demo: {made} requests over {QUARTERS} quarters; flags awarded.")
    return made
