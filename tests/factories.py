"""Factories for test data: people, places and requests, built as the application builds them."""

import datetime as dt

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from officials.credit_code import check_character
from officials.models import (
    Category,
    Department,
    Enterprise,
    EnterpriseLink,
    EnterpriseMember,
    LinkKind,
    Role,
    User,
)
from requests_app.models import ServiceRequest, Status
from requests_app.workflow import submit_request

PASSWORD = "correct horse battery staple"


def credit_code(n: int, prefix: str = "91350100") -> str:
    """A valid 18-character unified social credit code, different for every `n`."""
    first17 = f"{prefix}{n:0{17 - len(prefix)}d}"
    return first17 + check_character(first17)


def category(code: str = "infrastructure") -> Category:
    """The categories are seeded by a data migration; tests pick one by its code."""
    return Category.objects.get(code=code)


class DepartmentFactory(DjangoModelFactory):
    class Meta:
        model = Department

    name = factory.Sequence(lambda n: f"Department {n}")
    region = ""
    parent = None


class EnterpriseFactory(DjangoModelFactory):
    class Meta:
        model = Enterprise

    name = factory.Sequence(lambda n: f"Enterprise {n} Co., Ltd.")
    # Another prefix than credit_code()'s default, which tests pick codes of their own from
    # (credit_code(4242)): the sequence runs on through a worker's session, and on the same
    # prefix it reached a picked number once and took its code.
    credit_code = factory.Sequence(lambda n: credit_code(n, prefix="92350100"))
    region = "gulou"
    industry = "manufacturing"


class UserFactory(DjangoModelFactory):
    """A user with a known password (the test settings hash it cheaply)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    name = factory.LazyAttribute(lambda o: o.username.title())
    role = Role.ENTREPRENEUR
    department = None
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])

    @factory.post_generation
    def enterprises(obj, create, extracted, **kwargs):
        """Entrepreneurs act for `enterprises`; liaisons and leaders are linked to them."""
        if not create or not extracted:
            return
        for enterprise in extracted:
            if obj.role == Role.ENTREPRENEUR:
                EnterpriseMember.objects.create(user=obj, enterprise=enterprise)
            else:
                kind = LinkKind.LEADER if obj.role == Role.LEADER else LinkKind.LIAISON
                EnterpriseLinkFactory(official=obj, enterprise=enterprise, kind=kind)


class EnterpriseLinkFactory(DjangoModelFactory):
    class Meta:
        model = EnterpriseLink

    official = factory.SubFactory(UserFactory, role=Role.LIAISON)
    enterprise = factory.SubFactory(EnterpriseFactory)
    kind = LinkKind.LIAISON
    # Long before any date a test travels to, so the link is active whenever the test runs.
    start = dt.date(2000, 1, 1)
    end = None


class ServiceRequestFactory(DjangoModelFactory):
    """A request filed through the workflow (`submit_request`): clocks, reference, first event.

    `by` is who files it; by default a member of the enterprise (made if there is none).
    """

    class Meta:
        model = ServiceRequest

    enterprise = factory.SubFactory(EnterpriseFactory)
    category = factory.LazyFunction(category)
    title = factory.Sequence(lambda n: f"Road to the plant gate is broken ({n})")
    description = "Trucks cannot reach the loading bay since the flood."
    source = "web"

    @classmethod
    def _create(cls, model_class, *, by=None, now=None, **kwargs):
        enterprise = kwargs["enterprise"]
        if by is None:
            by = enterprise.members.first() or UserFactory(enterprises=[enterprise])
        return submit_request(by=by, now=now, **kwargs)


class RawServiceRequestFactory(DjangoModelFactory):
    """A bare request row, written directly (no event): only for bulk lists and paging.

    Tests use it where the timeline does not matter; the workflow is bypassed on purpose.
    """

    class Meta:
        model = ServiceRequest

    enterprise = factory.SubFactory(EnterpriseFactory)
    category = factory.LazyFunction(category)
    title = factory.Sequence(lambda n: f"Bulk request {n}")
    description = "Generated for a list test."
    status = Status.SUBMITTED
    reference = factory.Sequence(lambda n: f"QQRAW{n:07d}")
    submitted_at = factory.LazyFunction(timezone.now)
    assign_due_at = factory.LazyAttribute(lambda o: o.submitted_at + dt.timedelta(days=1))
    answer_due_at = factory.LazyAttribute(lambda o: o.submitted_at + dt.timedelta(days=3))
