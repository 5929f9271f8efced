"""Entrepreneurs sign up, claim an enterprise by its credit code, and act for it only once a
liaison or administrator of its region has verified the claim."""

import pytest
from django.test import Client
from django.urls import reverse

from officials.models import ClaimStatus, Enterprise, EnterpriseClaim, EnterpriseMember, Role, User
from requests_app.models import ServiceRequest
from tests.factories import PASSWORD, UserFactory, category, credit_code
from tests.pages import page_client

pytestmark = pytest.mark.django_db

CLAIMS = "/accounts/claims/"


@pytest.fixture
def gina(cast) -> User:
    """A liaison of the Gulou district (acme's region) with no link to acme."""
    return UserFactory(username="gina", name="Gina", role=Role.LIAISON, department=cast.gulou)


def sign_up(username: str = "nora") -> tuple[Client, User]:
    """A newcomer signs up on the page, as a person would."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        "/accounts/signup/",
        {
            "name": "Nora Newcomer",
            "username": username,
            "email": f"{username}@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == reverse("officials:enterprise-create")
    return client, User.objects.get(username=username)


def claim(client: Client, code: str, **fields):
    return client.post("/enterprises/new/", {"credit_code": code, **fields})


def file_for(client: Client, enterprise: Enterprise):
    category("infrastructure")
    return client.post(
        "/requests/new/",
        {
            "enterprise": enterprise.pk,
            "category": "infrastructure",
            "title": "The road to our gate is broken",
            "description": "Lorries cannot reach the loading bay since the rain.",
        },
    )


def test_sign_up_claim_verify_and_file(cast, gina):
    """The whole way, with every one who must not decide trying to."""
    client, nora = sign_up()
    assert nora.role == Role.ENTREPRENEUR and nora.name == "Nora Newcomer"

    # A claim of a known enterprise: pending, and nobody acts for anything yet.
    response = claim(client, cast.acme.credit_code.lower())
    assert response.status_code == 302
    pending = EnterpriseClaim.objects.get(user=nora)
    assert (pending.enterprise, pending.status) == (cast.acme, ClaimStatus.PENDING)
    assert not EnterpriseMember.objects.filter(user=nora).exists()

    # Unverified, the claim files nothing: not on the page and not through the API.
    refused = file_for(client, cast.acme)
    assert refused.status_code == 200  # the form again, nothing filed
    api = client.post(
        "/api/v1/requests/",
        {
            "enterprise": cast.acme.pk,
            "category": "infrastructure",
            "title": "Broken road",
            "description": "Lorries cannot reach the loading bay.",
        },
        content_type="application/json",
    )
    assert api.status_code == 400
    assert not ServiceRequest.objects.exists()

    # Another region's liaison neither sees nor verifies it; other roles may not review at all.
    olga = page_client(cast.olga)
    assert cast.acme.credit_code not in olga.get(CLAIMS).content.decode()
    assert olga.post(f"{CLAIMS}{pending.pk}/verify/").status_code == 404
    assert page_client(cast.irene).get(CLAIMS).status_code == 403
    assert page_client(cast.hank).post(f"{CLAIMS}{pending.pk}/verify/").status_code == 403
    assert page_client(cast.mallory).post(f"{CLAIMS}{pending.pk}/verify/").status_code == 403
    assert client.post(f"{CLAIMS}{pending.pk}/verify/").status_code == 403  # not herself
    pending.refresh_from_db()
    assert pending.status == ClaimStatus.PENDING

    # The liaison linked to acme, and the one of its region, see it; the linked one verifies.
    assert cast.acme.credit_code in page_client(gina).get(CLAIMS).content.decode()
    liam = page_client(cast.liam)
    assert cast.acme.credit_code in liam.get(CLAIMS).content.decode()
    assert liam.post(f"{CLAIMS}{pending.pk}/verify/").status_code == 302
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == (ClaimStatus.VERIFIED, cast.liam)
    assert EnterpriseMember.objects.filter(user=nora, enterprise=cast.acme).exists()

    # Decided once: a second decision changes nothing.
    assert (
        page_client(gina)
        .post(f"{CLAIMS}{pending.pk}/refuse/", {f"r{pending.pk}-note": "Too late."})
        .status_code
        == 409
    )
    pending.refresh_from_db()
    assert pending.status == ClaimStatus.VERIFIED

    # Now she files for acme.
    filed = file_for(client, cast.acme)
    assert filed.status_code == 302
    assert ServiceRequest.objects.get().enterprise == cast.acme


def test_an_unknown_code_is_registered_when_verified_in_the_verifiers_region(cast, gina):
    client, nora = sign_up()
    code = credit_code(901)
    # Unknown: the name and a region of the tree are needed.
    missing = claim(client, code)
    assert missing.status_code == 200
    assert 'id="err-name"' in missing.content.decode()
    assert 'id="err-region"' in missing.content.decode()
    assert not EnterpriseClaim.objects.exists()

    assert claim(client, code, name="Nora Noodles", region="gulou").status_code == 302
    pending = EnterpriseClaim.objects.get()
    assert pending.enterprise is None
    # Minhou's liaison does not see it; Gulou's does, and cannot register it in Minhou.
    assert "Nora Noodles" not in page_client(cast.olga).get(CLAIMS).content.decode()
    reviewer = page_client(gina)
    assert "Nora Noodles" in reviewer.get(CLAIMS).content.decode()
    reviewer.post(f"{CLAIMS}{pending.pk}/verify/", {f"v{pending.pk}-region": "minhou"})
    pending.refresh_from_db()
    assert pending.status == ClaimStatus.PENDING
    assert not Enterprise.objects.filter(credit_code=code).exists()

    assert reviewer.post(f"{CLAIMS}{pending.pk}/verify/").status_code == 302
    enterprise = Enterprise.objects.get(credit_code=code)
    assert (enterprise.name, enterprise.region) == ("Nora Noodles", "gulou")
    assert list(enterprise.members.all()) == [nora]


def test_a_refusal_says_why_and_makes_no_member(cast):
    client, nora = sign_up()
    claim(client, cast.globex.credit_code)
    pending = EnterpriseClaim.objects.get()
    olga = page_client(cast.olga)
    # A refusal needs a reason.
    olga.post(f"{CLAIMS}{pending.pk}/refuse/", {f"r{pending.pk}-note": "  "})
    pending.refresh_from_db()
    assert pending.status == ClaimStatus.PENDING

    reason = "Globex says nobody of this name works there."
    assert (
        olga.post(f"{CLAIMS}{pending.pk}/refuse/", {f"r{pending.pk}-note": reason}).status_code
        == 302
    )
    pending.refresh_from_db()
    assert (pending.status, pending.note, pending.decided_by) == (
        ClaimStatus.REFUSED,
        reason,
        cast.olga,
    )
    assert not EnterpriseMember.objects.filter(user=nora).exists()
    assert reason in client.get("/accounts/profile/").content.decode()


def test_one_pending_claim_per_code_and_none_for_an_own_enterprise(cast):
    client, _nora = sign_up()
    assert claim(client, cast.acme.credit_code).status_code == 302
    again = claim(client, cast.acme.credit_code)
    assert again.status_code == 200
    assert "wait for verification" in again.content.decode()
    assert EnterpriseClaim.objects.count() == 1
    own = claim(page_client(cast.alice), cast.acme.credit_code)
    assert "already act for this enterprise" in own.content.decode()
    assert not EnterpriseClaim.objects.filter(user=cast.alice).exists()


def test_an_admin_without_department_sees_every_claim(cast):
    client, _nora = sign_up()
    claim(client, cast.globex.credit_code)
    assert cast.globex.credit_code in page_client(cast.ada).get(CLAIMS).content.decode()
    # Officials do not claim enterprises.
    assert page_client(cast.liam).get("/enterprises/new/").status_code == 403
