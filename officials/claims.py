"""Claims to act for an enterprise: an entrepreneur claims one by its credit code, and a liaison
or administrator of its region verifies the claim (the claimant becomes a member and may file
for it) or refuses it with a reason. Until then the claim files nothing."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from officials.credit_code import normalize
from officials.models import (
    ClaimStatus,
    Enterprise,
    EnterpriseClaim,
    EnterpriseMember,
    Role,
    User,
)
from officials.selectors import (
    REGION_NOT_IN_TREE,
    claims_visible_to,
    is_region,
    jurisdiction_regions,
)


class ClaimAlreadyDecided(Exception):
    """The claim was verified or refused already (by someone else, a moment ago perhaps)."""


def claim_enterprise(*, by: User, credit_code: str, name: str, region: str) -> EnterpriseClaim:
    """Ask to act for the enterprise with `credit_code`. A known enterprise keeps its own name
    and region; an unknown one needs the `name` and `region` its verification will register."""
    if not by.has_perm("officials.register_enterprise"):
        raise ValidationError(_("Only entrepreneurs claim enterprises."))
    code = normalize(credit_code)
    enterprise = Enterprise.objects.filter(credit_code=code).first()
    if enterprise is not None:
        if EnterpriseMember.objects.filter(user=by, enterprise=enterprise).exists():
            raise ValidationError(
                {"credit_code": _("You already act for this enterprise.")}, code="member"
            )
        name, region = enterprise.name, enterprise.region
    else:
        errors = {}
        if not name.strip():
            errors["name"] = _(
                "This credit code is not registered yet: give the enterprise's name."
            )
        if not is_region(region):
            errors["region"] = str(REGION_NOT_IN_TREE)
        if errors:
            raise ValidationError(errors)
    if EnterpriseClaim.objects.filter(
        user=by, credit_code=code, status=ClaimStatus.PENDING
    ).exists():
        raise ValidationError(
            {"credit_code": _("You have claimed this enterprise already; wait for verification.")},
            code="pending",
        )
    try:
        with transaction.atomic():
            return EnterpriseClaim.objects.create(
                user=by, enterprise=enterprise, credit_code=code, name=name.strip(), region=region
            )
    except IntegrityError:  # the same claim sent twice at once
        raise ValidationError(
            {"credit_code": _("You have claimed this enterprise already; wait for verification.")},
            code="pending",
        ) from None


def _locked_pending(claim_id: int, by: User) -> EnterpriseClaim:
    """The claim, row-locked, if `by` may decide it (404 otherwise) and it is still open."""
    if not by.has_perm("officials.review_claims"):
        raise Http404
    claim = (
        claims_visible_to(by).exclude(user=by).select_for_update(of=("self",)).filter(pk=claim_id)
    ).first()
    if claim is None:
        raise Http404
    if claim.status != ClaimStatus.PENDING:
        raise ClaimAlreadyDecided
    return claim


def may_register_in(user: User, region: str) -> bool:
    """Whether `user` covers `region`, where verifying a claim would register an enterprise."""
    if not is_region(region):
        return False
    regions = jurisdiction_regions(user)
    if regions is None:  # no department: an administrator covers the portal, a liaison nothing
        return user.role == Role.ADMIN
    return region in regions


@transaction.atomic
def verify_claim(*, claim_id: int, by: User, region: str = "") -> EnterpriseClaim:
    """Verify a claim: the claimant acts for the enterprise from now on. For a code the portal
    does not know, the enterprise is registered here, in `region` (by default the typed one),
    which must be in the verifier's jurisdiction."""
    claim = _locked_pending(claim_id, by)
    enterprise = claim.enterprise
    if enterprise is None:
        # Registered meanwhile (another claim, an administrator): that enterprise it is.
        enterprise = Enterprise.objects.filter(credit_code=claim.credit_code).first()
    if enterprise is None:
        region = region or claim.region
        if not may_register_in(by, region):
            raise ValidationError({"region": _("Choose a region of your jurisdiction.")})
        enterprise = Enterprise.objects.create(
            name=claim.name, credit_code=claim.credit_code, region=region
        )
    EnterpriseMember.objects.get_or_create(user=claim.user, enterprise=enterprise)
    claim.enterprise = enterprise
    claim.status = ClaimStatus.VERIFIED
    claim.decided_by = by
    claim.decided_at = timezone.now()
    claim.save(update_fields=["enterprise", "status", "decided_by", "decided_at"])
    return claim


@transaction.atomic
def refuse_claim(*, claim_id: int, by: User, note: str) -> EnterpriseClaim:
    """Refuse a claim, telling the claimant why (shown on their profile)."""
    if not note.strip():
        raise ValidationError({"note": _("Tell the claimant why the claim is refused.")})
    claim = _locked_pending(claim_id, by)
    claim.status = ClaimStatus.REFUSED
    claim.note = note.strip()
    claim.decided_by = by
    claim.decided_at = timezone.now()
    claim.save(update_fields=["status", "note", "decided_by", "decided_at"])
    return claim
