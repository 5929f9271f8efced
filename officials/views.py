"""Pages of people and places: an entrepreneur registers the enterprise they act for."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.forms import PageFormMixin
from officials.credit_code import normalize
from officials.forms import RegionField
from officials.models import Enterprise, EnterpriseMember


class EnterpriseForm(PageFormMixin, forms.ModelForm):
    """The model's own validators check the credit code; this adds the 'already registered' hint."""

    error_id = "err-%(name)s"  # the page's error lists are named after the fields
    region = RegionField(
        help_text=gettext_lazy("Where the enterprise is: its liaison serves this region.")
    )

    class Meta:
        model = Enterprise
        fields = ["name", "credit_code", "region", "industry"]
        widgets = {
            # A code is typed in capitals and is no word to correct.
            "credit_code": forms.TextInput(
                attrs={"autocapitalize": "characters", "spellcheck": "false"}
            ),
        }
        help_texts = {
            "credit_code": gettext_lazy(
                "18 characters, as printed on the business licence (统一社会信用代码)."
            ),
        }

    def clean_credit_code(self):
        code = normalize(self.cleaned_data["credit_code"])
        if Enterprise.objects.filter(credit_code=code).exists():
            raise forms.ValidationError(
                _(
                    "This enterprise is already registered. Ask your liaison to add you "
                    "to it as a contact person."
                ),
                code="registered",
            )
        return code

    def validate_unique(self):
        # clean_credit_code already said it better than the model's generic unique message.
        if "credit_code" not in self.errors:
            super().validate_unique()


@login_required
def enterprise_create(request):
    """Register an enterprise; the entrepreneur who registers it becomes its contact person."""
    if not request.user.has_perm("officials.register_enterprise"):
        raise PermissionDenied
    form = EnterpriseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                enterprise = form.save()
                EnterpriseMember.objects.create(user=request.user, enterprise=enterprise)
        except IntegrityError:
            # Registered by someone else between the check and the insert.
            form.add_error("credit_code", _("This enterprise was registered a moment ago."))
        else:
            messages.success(
                request, _("%(name)s is registered; you act for it now.") % {"name": enterprise}
            )
            return redirect("requests:create")
    return render(request, "officials/enterprise_form.html", {"form": form})
