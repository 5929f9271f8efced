"""A fixture quarter (2026-Q3) whose every figure the tests work out by hand.

July–September 2026 has no statutory holiday before late September, so a working day is simply
Monday to Friday. "Now" is 2026-10-15 12:00 (Asia/Shanghai).

    R1 acme → Roads    Mon 07-06 09:00 filed; assigned 15:00 (6 h, on time); answered Wed 07-08
                       09:00 (48 h, on time); closed Thu 07-09 09:00, rating 5 (72 h)
    R2 acme → Roads    Fri 07-10 16:00 filed; assigned Mon 07-13 17:00 (25 h, due 16:00: late);
                       answered Thu 07-16 12:00 (92 h, due Wed 07-15 16:00: a late round);
                       rejected 14:00 (reopened, fresh clock to Tue 07-21 14:00); answered again
                       Fri 07-17 10:00 (this round on time); closed Mon 07-20 10:00, rating 3
                       (138 h). One late round of two: not answered on time.
    R3 acme            Wed 08-05 10:00 filed; never assigned (both clocks breached by now)
    R4 acme            Tue 09-01 10:00 filed; rejected 11:00 (no clock measured)
    R5 acme → Env.     Tue 07-07 08:00 filed; assigned 10:00 (2 h, on time); answered Mon 07-13
                       08:00 (96 h, due Fri 07-10 08:00: late); closed Mon 10:00, rating 4 (98 h)
    R6 globex → Land   Thu 08-20 09:00 filed; assigned 12:00 (3 h, on time); never answered
                       (answer clock breached Tue 08-25 09:00)
    R0 acme            Mon 06-15 09:00 (the previous quarter), never assigned
    R9 acme            Mon 10-12 09:00 (the next quarter)

Cases: one opened in the quarter for R2 (Roads, decided in the quarter), one for R6 (Land).
Findings in the quarter: a violation for Roads/acme, a warning for globex.
"""

import datetime as dt
from dataclasses import dataclass

import pytest
import time_machine

from compliance.models import AccountabilityCase, CaseSource, Finding
from officials.models import Role
from requests_app.models import ServiceRequest
from requests_app.workflow import transition
from tests.conftest import at
from tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    RawServiceRequestFactory,
    ServiceRequestFactory,
    UserFactory,
    category,
)

NOW = "2026-10-15 12:00"


@dataclass
class Quarter:
    r0: ServiceRequest
    r1: ServiceRequest
    r2: ServiceRequest
    r3: ServiceRequest
    r4: ServiceRequest
    r5: ServiceRequest
    r6: ServiceRequest
    r9: ServiceRequest
    now: object


def _file(
    enterprise, by, when, title, code="infrastructure", description="路面破损，货车无法进厂。"
):
    return ServiceRequestFactory(
        enterprise=enterprise,
        by=by,
        now=at(when),
        title=title,
        description=description,
        category=category(code),
    )


def _do(request, action, by, when, **payload):
    return transition(request.pk, action, by=by, now=at(when), **payload)


@pytest.fixture
def quarter(cast, statutory) -> Quarter:
    c = cast
    land_handler = UserFactory(username="lena", role=Role.HANDLER, department=c.land)

    r1 = _file(c.acme, c.alice, "2026-07-06 09:00", "厂区门口道路破损")
    _do(r1, "assign", c.liam, "2026-07-06 15:00", department=c.roads, handler=c.hank)
    _do(r1, "start", c.hank, "2026-07-06 16:00")
    _do(r1, "feedback", c.hank, "2026-07-08 09:00", message="已修复。")
    _do(r1, "review", c.alice, "2026-07-09 09:00", accepted=True, rating=5)

    r2 = _file(c.acme, c.alice, "2026-07-10 16:00", "道路破损再次出现", description="道路破损严重")
    _do(r2, "assign", c.liam, "2026-07-13 17:00", department=c.roads, handler=c.hank)
    _do(r2, "start", c.hank, "2026-07-14 09:00")
    _do(r2, "feedback", c.hank, "2026-07-16 12:00", message="已处理。")
    _do(r2, "review", c.alice, "2026-07-16 14:00", accepted=False, comment="没有修好。")
    _do(r2, "feedback", c.hank, "2026-07-17 10:00", message="重新铺设。")
    _do(r2, "review", c.alice, "2026-07-20 10:00", accepted=True, rating=3)

    r3 = _file(c.acme, c.alice, "2026-08-05 10:00", "Streetlights broken near the plant", "other")
    r4 = _file(c.acme, c.alice, "2026-09-01 10:00", "合同纠纷", "legal")
    _do(r4, "reject", c.liam, "2026-09-01 11:00", reason="民事纠纷。")

    r5 = _file(c.acme, c.alice, "2026-07-07 08:00", "污水管道堵塞", "environment")
    _do(r5, "assign", c.liam, "2026-07-07 10:00", department=c.environment, handler=c.hugo)
    _do(r5, "start", c.hugo, "2026-07-07 11:00")
    _do(r5, "feedback", c.hugo, "2026-07-13 08:00", message="已疏通。")
    _do(r5, "review", c.alice, "2026-07-13 10:00", accepted=True, rating=4)

    r6 = _file(c.globex, c.mallory, "2026-08-20 09:00", "用地审批缓慢", "land")
    _do(r6, "assign", c.ada, "2026-08-20 12:00", department=c.land, handler=land_handler)

    r0 = _file(c.acme, c.alice, "2026-06-15 09:00", "厂区门口道路积水")
    r9 = _file(c.acme, c.alice, "2026-10-12 09:00", "十月的诉求")

    AccountabilityCase.objects.create(
        source=CaseSource.BREACH,
        request=r2,
        department=c.roads,
        region="gulou",
        cause="Answer clock breached",
        opened_at=at("2026-07-16 00:00"),
        decided_at=at("2026-09-01 10:00"),
    )
    AccountabilityCase.objects.create(
        source=CaseSource.BREACH,
        request=r6,
        department=c.land,
        region="minhou",
        cause="Answer clock breached",
        opened_at=at("2026-08-26 00:00"),
    )
    # Outside the quarter: not counted.
    AccountabilityCase.objects.create(
        source=CaseSource.BREACH,
        request=r0,
        region="gulou",
        cause="Assign clock breached",
        opened_at=at("2026-06-17 00:00"),
    )
    Finding.objects.create(
        rule_code="N11",
        severity="violation",
        message="推诿扯皮",
        department=c.roads,
        enterprise=c.acme,
        region="gulou",
        created_at=at("2026-07-20 12:00"),
    )
    Finding.objects.create(
        rule_code="P02",
        severity="warning",
        message="工作餐超标",
        enterprise=c.globex,
        region="minhou",
        created_at=at("2026-08-21 12:00"),
    )
    with time_machine.travel(at(NOW), tick=False):
        yield Quarter(
            *(ServiceRequest.objects.get(pk=r.pk) for r in (r0, r1, r2, r3, r4, r5, r6, r9)),
            now=at(NOW),
        )


@pytest.fixture
def bureaus(db):
    """Five sibling bureaus; bureau k closed 4 − k of its 4 requests in each of Q2 and Q3 2026."""
    parent = DepartmentFactory(name="Bureaus", region="city")
    enterprise = EnterpriseFactory()
    departments = [DepartmentFactory(name=f"Bureau {k}", parent=parent) for k in range(5)]
    for start in (at("2026-04-06 09:00"), at("2026-07-06 09:00")):
        for k, department in enumerate(departments):
            for n in range(4):
                closed = n < 4 - k
                RawServiceRequestFactory(
                    enterprise=enterprise,
                    department=department,
                    status="closed" if closed else "feedback",
                    submitted_at=start,
                    assigned_at=start + dt.timedelta(hours=1),
                    answered_at=start + dt.timedelta(hours=2),
                    closed_at=start + dt.timedelta(hours=3) if closed else None,
                    rating=5 if closed else None,
                )
    return departments


@pytest.fixture(autouse=True)
def _no_kept_figures():
    """The dashboard keeps figures in the cache (reports.snapshots), which no test rolls back:
    each test starts without the figures of another test's data."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
