"""Compliance pages: the public lists, officials' records with their findings, visit filings.

Thin views: resolve access with the selectors, validate with the API's input serializers, call
one service, render. Missing and not-yours are both 404.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from compliance import rules, services, visits
from compliance.forms import page_form
from compliance.models import (
    AssetUse,
    Declaration,
    Finding,
    Gift,
    Interaction,
    ListAlias,
)
from compliance.selectors import (
    active_rules,
    current_versions,
    filings_visible_to,
    get_visible_record,
    may_keep_records,
    records_visible_to,
)
from compliance.serializers import (
    AssetUseInput,
    DeclarationInput,
    GiftInput,
    GiftOutcomeInput,
    InteractionInput,
    VisitFilingInput,
)
from core.forms import flatten_errors
from officials.models import Role

PAGE_SIZE = 50


@dataclass(frozen=True)
class RecordKind:
    slug: str
    model: type
    input_class: type
    keep: object
    title: object
    new_title: object


KINDS = {
    kind.slug: kind
    for kind in [
        RecordKind(
            "interactions",
            Interaction,
            InteractionInput,
            services.record_interaction,
            gettext_lazy("Interactions"),
            gettext_lazy("Log an interaction"),
        ),
        RecordKind(
            "gifts",
            Gift,
            GiftInput,
            services.record_gift,
            gettext_lazy("Gifts"),
            gettext_lazy("Record a gift"),
        ),
        RecordKind(
            "asset-uses",
            AssetUse,
            AssetUseInput,
            services.record_asset_use,
            gettext_lazy("Uses of enterprise assets"),
            gettext_lazy("Record the use of an enterprise asset"),
        ),
        RecordKind(
            "declarations",
            Declaration,
            DeclarationInput,
            services.record_declaration,
            gettext_lazy("Declarations"),
            gettext_lazy("Declare a tie to an enterprise"),
        ),
    ]
}


def _kind(slug: str) -> RecordKind:
    if slug not in KINDS:
        raise Http404
    return KINDS[slug]


# --- the public lists ----------------------------------------------------------------------------


@require_GET
def lists_page(request):
    """The active lists in both languages; the page language's text first. No login needed."""
    english = (get_language() or "").startswith("en")
    versions = current_versions()
    items = []
    for rule in active_rules():
        version = versions.get(rule.code)
        if version is None:
            continue
        items.append((rule, version))
    groups = [
        (gettext_lazy("Positive list: what officials may do"), "positive", "official"),
        (gettext_lazy("Negative list: what officials must not do"), "negative", "official"),
        (gettext_lazy("Negative list: what enterprises must not do"), "negative", "enterprise"),
    ]
    sections = [
        (title, [(r, v) for r, v in items if r.list == lst and r.party == party])
        for title, lst, party in groups
    ]
    aliases: dict[tuple[str, str], list] = {}
    for alias in ListAlias.objects.filter(rule__retired_at__isnull=True).select_related("rule"):
        aliases.setdefault((alias.locality, alias.name), []).append(alias)
    context = {
        "sections": sections,
        "english": english,
        "aliases": sorted(aliases.items()),
    }
    return render(request, "compliance/lists.html", context)


# --- officials' records --------------------------------------------------------------------------


def _require_reader(user) -> None:
    if not user.has_perm("compliance.read_records"):
        raise PermissionDenied


@login_required
@require_GET
def records(request):
    """My records (officials), or the region's (inspectors), one kind at a time."""
    _require_reader(request.user)
    kind = KINDS.get(request.GET.get("kind", ""), KINDS["interactions"])
    queryset = (
        records_visible_to(request.user, kind.model)
        .select_related("enterprise", "official")
        .prefetch_related(Prefetch("findings", queryset=Finding.objects.order_by("rule_code")))
        .order_by("-created_at", "-id")
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "kinds": KINDS.values(),
        "kind": kind,
        "page": page,
        "may_keep": may_keep_records(request.user),
        "region_view": request.user.has_perm("compliance.oversee_records"),
    }
    return render(request, "compliance/records.html", context)


@login_required
def record_new(request, kind):
    """Keep a record; right after saving, its page shows what the rules found."""
    kind = _kind(kind)
    if not may_keep_records(request.user):
        raise PermissionDenied
    errors: dict = {}
    data = request.POST if request.method == "POST" else request.GET
    if request.method == "POST":
        serializer = kind.input_class(data=request.POST)
        if serializer.is_valid():
            try:
                judged = kind.keep(by=request.user, **serializer.validated_data)
            except ValidationError as error:
                errors = flatten_errors(error.message_dict)
            else:
                messages.success(request, _("Saved. The rules have judged it."))
                return redirect("compliance:record-detail", kind.slug, judged.record.pk)
        else:
            errors = flatten_errors(serializer.errors)
    form = page_form(kind.input_class, request.user, data, errors)
    status = 400 if errors else 200
    return render(
        request, "compliance/record_form.html", {"kind": kind, "form": form}, status=status
    )


@login_required
@require_GET
def record_detail(request, kind, pk):
    kind = _kind(kind)
    _require_reader(request.user)
    record = get_visible_record(request.user, kind.model, pk)
    return _render_detail(request, kind, record)


def _render_detail(request, kind: RecordKind, record, outcome_errors=None, status=200):
    findings = list(record.findings.select_related("rule_version").order_by("rule_code", "id"))
    for finding in findings:
        # In the reader's language, from the message id; the stored text is the fallback.
        finding.text = (
            rules.render(finding.message_id, finding.params)
            if finding.message_id
            else finding.message
        )
    context = {
        "kind": kind,
        "record": record,
        "findings": findings,
        "fields": _facts(record),
        "outcome_form": _outcome_form(request, record, outcome_errors),
    }
    return render(request, "compliance/record_detail.html", context, status=status)


def _outcome_form(request, record, errors=None):
    """On a gift's page, for the official who recorded it: the times still missing."""
    if not isinstance(record, Gift) or record.official_id != request.user.pk:
        return None
    missing = [
        name for name in ("registered_at", "surrendered_at") if getattr(record, name) is None
    ]
    if not missing:
        return None
    data = request.POST if request.method == "POST" else {}
    return page_form(GiftOutcomeInput, request.user, data, errors, only=missing)


@login_required
@require_POST
def gift_outcome(request, pk):
    """The official records when a gift was registered or surrendered; it is judged again."""
    _require_reader(request.user)
    gift = get_visible_record(request.user, Gift, pk)
    if gift.official_id != request.user.pk:
        raise PermissionDenied
    serializer = GiftOutcomeInput(data=request.POST)
    if serializer.is_valid():
        try:
            services.record_gift_outcome(gift=gift, by=request.user, **serializer.validated_data)
        except ValidationError as error:
            errors = flatten_errors(error.message_dict)
        else:
            messages.success(request, _("Saved. The rules have judged the gift again."))
            return redirect("compliance:record-detail", "gifts", gift.pk)
    else:
        errors = flatten_errors(serializer.errors)
    return _render_detail(request, KINDS["gifts"], gift, errors, status=400)


def _facts(record) -> list[tuple[str, object]]:
    """The record's own fields as (label, shown value), choices by their labels."""
    skip = {"id", "official", "department", "enterprise", "region", "created_at"}
    rows = []
    for model_field in record._meta.concrete_fields:
        if model_field.name in skip:
            continue
        value = getattr(record, model_field.name)
        if model_field.choices:
            value = getattr(record, f"get_{model_field.name}_display")()
        if value in (None, ""):
            continue
        if isinstance(value, bool):
            value = _("yes") if value else _("no")
        rows.append((model_field.verbose_name, value))
    return rows


# --- visits --------------------------------------------------------------------------------------


@login_required
@require_GET
def visit_list(request):
    """Filings grouped as joint visits. The liaison coordinates those for their enterprises; the
    enterprise sees who is coming, when and why; inspectors see the exemptions."""
    user = request.user
    upcoming = request.GET.get("show") != "all"
    filings = filings_visible_to(user).select_related("enterprise", "official", "department")
    if upcoming:
        filings = filings.filter(planned_end__gte=timezone.now(), cancelled_at__isnull=True)
    filings = list(filings.order_by("planned_start", "id")[:500])
    context = {
        "groups": visits.group_joint_visits(filings),
        "cancelled": [f for f in filings if f.cancelled_at is not None],
        "upcoming": upcoming,
        "may_file": may_keep_records(user),
        "show_exemptions": user.role != Role.ENTREPRENEUR,
        "for_enterprise": user.role == Role.ENTREPRENEUR,
    }
    return render(request, "compliance/visits.html", context)


@login_required
def visit_new(request):
    """File a visit; a refusal (quiet day, whitelist) is shown with its reason."""
    if not may_keep_records(request.user):
        raise PermissionDenied
    errors: dict = {}
    refusal = None
    if request.method == "POST":
        serializer = VisitFilingInput(data=request.POST)
        if serializer.is_valid():
            try:
                filed = visits.file_visit(by=request.user, **serializer.validated_data)
            except ValidationError as error:
                errors = flatten_errors(error.message_dict)
            except visits.VisitRefused as refused:
                refusal = refused
            else:
                if filed.joint_with:
                    messages.success(
                        request,
                        _("Visit filed. It overlaps %(n)d other filing(s): a joint visit.")
                        % {"n": len(filed.joint_with)},
                    )
                else:
                    messages.success(request, _("Visit filed."))
                return redirect("compliance:visits")
        else:
            errors = flatten_errors(serializer.errors)
    form = page_form(VisitFilingInput, request.user, request.POST, errors)
    status = 409 if refusal else (400 if errors else 200)
    return render(
        request, "compliance/visit_form.html", {"form": form, "refusal": refusal}, status=status
    )


@login_required
@require_POST
def visit_cancel(request, pk):
    filing = get_object_or_404(filings_visible_to(request.user), pk=pk)
    visits.cancel_visit(filing, by=request.user)
    messages.success(request, _("The visit was cancelled."))
    return redirect("compliance:visits")
