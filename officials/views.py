"""Pages of people and places: an entrepreneur claims the enterprise they act for, a liaison or
administrator of its region verifies the claim, and everyone keeps their own profile."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from officials import claims as claim_services
from officials.forms import ClaimForm, ProfileForm, RefuseClaimForm, VerifyClaimForm
from officials.models import ClaimStatus
from officials.selectors import claims_visible_to

CLAIMS_SHOWN = 200  # pending claims on the review page at once, oldest first


def _form_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


@login_required
@require_http_methods(["GET", "POST"])
def enterprise_create(request):
    """Claim an enterprise by its credit code; the claimant acts for it once it is verified."""
    if not request.user.has_perm("officials.register_enterprise"):
        raise PermissionDenied
    form = ClaimForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            claim = claim_services.claim_enterprise(by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request,
                _(
                    "Your claim to act for %(name)s is sent. A liaison of its region will "
                    "verify it; until then you cannot file requests for it."
                )
                % {"name": claim.name},
            )
            return redirect("profile")
    return render(request, "officials/enterprise_form.html", {"form": form})


@login_required
@require_http_methods(["GET"])
def claims(request):
    """The claims waiting for this liaison or administrator, oldest first."""
    if not request.user.has_perm("officials.review_claims"):
        raise PermissionDenied
    pending = (
        claims_visible_to(request.user)
        .filter(status=ClaimStatus.PENDING)
        .order_by("created_at", "pk")[:CLAIMS_SHOWN]
    )
    decided = (
        claims_visible_to(request.user)
        .exclude(status=ClaimStatus.PENDING)
        .order_by("-decided_at", "-pk")[:20]
    )
    return render(
        request,
        "officials/claims.html",
        {
            "pending": [
                (
                    claim,
                    VerifyClaimForm(prefix=f"v{claim.pk}"),
                    RefuseClaimForm(prefix=f"r{claim.pk}"),
                )
                for claim in pending
            ],
            "decided": decided,
        },
    )


@login_required
@require_POST
def claim_decide(request, pk: int, decision: str):
    """Verify or refuse one claim (404 outside the reviewer's region, 409 if decided already)."""
    if not request.user.has_perm("officials.review_claims"):
        raise PermissionDenied
    form_class = VerifyClaimForm if decision == "verify" else RefuseClaimForm
    form = form_class(request.POST, prefix=f"{decision[0]}{pk}")
    try:
        if not form.is_valid():
            raise ValidationError(form.errors.as_data())
        if decision == "verify":
            claim = claim_services.verify_claim(
                claim_id=pk, by=request.user, region=form.cleaned_data["region"]
            )
            messages.success(
                request,
                _("%(person)s now acts for %(name)s.")
                % {"person": claim.user.display_name, "name": claim.enterprise},
            )
        else:
            claim = claim_services.refuse_claim(
                claim_id=pk, by=request.user, note=form.cleaned_data["note"]
            )
            messages.success(
                request,
                _("The claim of %(person)s to act for %(name)s is refused.")
                % {"person": claim.user.display_name, "name": claim.name},
            )
    except claim_services.ClaimAlreadyDecided:
        messages.error(request, _("This claim has been decided already."))
        return render(request, "errors/409.html", status=409)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("officials:claims")
    return redirect("officials:claims")


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    """Name, phone and language; links to e-mail, password, two-factor and message settings;
    for an entrepreneur the enterprises they act for and their claims."""
    user = request.user
    initial = {} if user.language else {"language": settings.LANGUAGE_CODE}
    form = ProfileForm(
        request.POST if request.method == "POST" else None, instance=user, initial=initial
    )
    if request.method == "POST":
        if form.is_valid():
            form.save()
            # Said on the next page, which is in the chosen language: so is the message.
            with translation.override(user.language):
                messages.success(request, _("Your profile is saved."))
            response = redirect("profile")
            # The pages follow the chosen language from now on, as with the language switch.
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                user.language,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            )
            return response
        user.refresh_from_db()  # the form wrote the refused values onto the instance
    context = {
        "form": form,
        "enterprises": user.enterprises.order_by("name") if user.role == "entrepreneur" else [],
        "claims": claims_visible_to(user).filter(user=user)[:50],
    }
    return render(request, "officials/profile.html", context, status=400 if form.errors else 200)
