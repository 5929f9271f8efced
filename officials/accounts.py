"""Accounts with django-allauth: the portal's adapter and forms, the login page with django-axes
and the per-client throttle, and the two-factor requirement for some roles."""

from allauth.account import forms as account_forms
from allauth.account import views as allauth_views
from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.base import forms as mfa_forms
from allauth.mfa.models import Authenticator
from allauth.mfa.totp import forms as totp_forms
from axes.decorators import axes_dispatch, axes_form_invalid
from django import forms
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.forms import PageFormMixin
from core.throttles import client_allowed
from officials.models import Role, User


def supported_language(code: str | None) -> str:
    """`code` if the portal speaks it, else the default language."""
    codes = {language for language, _name in settings.LANGUAGES}
    return code if code in codes else settings.LANGUAGE_CODE


# --- django-axes ----------------------------------------------------------------------------------


def axes_username(request, credentials) -> str:
    """The name django-axes counts failures under: the user name, whether it was typed as such
    or as the account's e-mail address, so that switching between the two gains no tries.

    `credentials` are what authenticate() was given (the API sends "username"; allauth's form
    sends "username" and, for an address, "email"); without them, the posted form.
    """
    credentials = credentials or {}
    data = getattr(request, "data", None) or getattr(request, "POST", {}) or {}
    typed = (
        credentials.get("username")
        or credentials.get("email")
        or data.get("login")
        or data.get("username")
        or ""
    )
    typed = str(typed).strip()
    if "@" in typed:
        usernames = list(
            User.objects.filter(email__iexact=typed).values_list("username", flat=True)[:2]
        )
        if len(usernames) == 1:
            return usernames[0]
    return typed


# --- forms --------------------------------------------------------------------------------------


# allauth's forms, rendered like every other page form (includes/field.html): settings.ACCOUNT_FORMS
# and settings.MFA_FORMS name them.


class LoginForm(PageFormMixin, account_forms.LoginForm):
    """A user name (officials) or e-mail address, and the password.

    Clients that posted the old form's `username` field are still understood.
    """

    def __init__(self, *args, **kwargs):
        data = kwargs.get("data")
        if data is not None and "login" not in data and "username" in data:
            data = data.copy()
            data["login"] = data["username"]
            kwargs["data"] = data
        super().__init__(*args, **kwargs)
        self.fields["login"].label = gettext_lazy("User name or e-mail address")
        self.fields["password"].help_text = ""  # the page links to the reset itself
        for field in self.fields.values():
            field.widget.attrs.pop("placeholder", None)  # labels say it; placeholders vanish


class SignupForm(PageFormMixin, account_forms.SignupForm):
    """Sign-up is for entrepreneurs: their name, a user name, an e-mail address, a password."""

    name = forms.CharField(label=gettext_lazy("Full name"), max_length=100)

    field_order = ["name", "username", "email", "password1", "password2"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(self.field_order)
        for field in self.fields.values():
            field.widget.attrs.pop("placeholder", None)  # labels say it; placeholders vanish


class ChangePasswordForm(PageFormMixin, account_forms.ChangePasswordForm):
    pass


class ResetPasswordForm(PageFormMixin, account_forms.ResetPasswordForm):
    pass


class ResetPasswordKeyForm(PageFormMixin, account_forms.ResetPasswordKeyForm):
    pass


class AddEmailForm(PageFormMixin, account_forms.AddEmailForm):
    pass


class AuthenticateForm(PageFormMixin, mfa_forms.AuthenticateForm):
    pass


class ActivateTOTPForm(PageFormMixin, totp_forms.ActivateTOTPForm):
    pass


# --- the adapter --------------------------------------------------------------------------------


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        # Officials are provisioned by administrators; whoever signs up acts for enterprises,
        # and only once a claim is verified (officials/claims.py).
        user.role = Role.ENTREPRENEUR
        user.name = form.cleaned_data.get("name", "")
        user.language = supported_language(translation.get_language())
        return super().save_user(request, user, form, commit=commit)

    def get_signup_redirect_url(self, request):
        return reverse("officials:enterprise-create")

    def send_mail(self, template_prefix, email, context):
        """Every account e-mail in the language of the user it is for."""
        user = context.get("user")
        if not isinstance(user, User):
            user = User.objects.filter(email__iexact=email).first()
        # A user who never chose a language reads the one of the page that sent the e-mail.
        chosen = user.language if user is not None and user.language else None
        with translation.override(supported_language(chosen or translation.get_language())):
            super().send_mail(template_prefix, email, context)


# --- the login page -----------------------------------------------------------------------------


@method_decorator(axes_dispatch, name="dispatch")
class LoginView(allauth_views.LoginView):
    """allauth's login, locked by django-axes (a locked pair answers 429) and throttled per
    client with the API token's tries (portal/settings.py)."""

    def post(self, request, *args, **kwargs):
        # A password costs CPU to check, and django-axes locks only the (user name, client) pair.
        allowed, wait = client_allowed(request, "login")
        if not allowed:
            response = render(request, "registration/locked_out.html", status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)

    @axes_form_invalid
    def form_invalid(self, form):
        return super().form_invalid(form)


# --- two-factor where the role requires it --------------------------------------------------------

# What a user who still has to set up two-factor may reach: their account pages (the set-up
# itself, re-authentication, e-mail, logout), the language switch, and what is not a page.
MFA_EXEMPT_PREFIXES = ("/accounts/", "/i18n/", "/static/", "/api/", "/health/", "/favicon.ico")


def mfa_required(user) -> bool:
    return bool(
        user.is_authenticated
        and getattr(user, "role", None) in settings.MFA_REQUIRED_ROLES
        and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    )


class MfaRequiredMiddleware:
    """Sends a user whose role must use two-factor (MFA_REQUIRED_ROLES) and who has no TOTP yet
    to set it up, before any other page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(MFA_EXEMPT_PREFIXES) and mfa_required(request.user):
            messages.warning(
                request, _("Your role requires two-factor authentication: set it up to continue.")
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)
