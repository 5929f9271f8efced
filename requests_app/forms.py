"""Page forms of the request loop: what each form shows; the API's input serializers judge it."""

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from compliance.selectors import declared_official_ids
from core.forms import QuickSelect, SerializerForm, empty_choice
from officials.models import Category, Department, Role, User
from requests_app.attachments import ACCEPT, MAX_FILES
from requests_app.changes import FOLLOW_UP_CHANNELS
from requests_app.deadlines import dispute_until
from requests_app.models import ON_BEHALF_SOURCES, Source
from requests_app.workflow import TRANSITIONS

RATING_CHOICES = [
    ("5", gettext_lazy("5 — very satisfied")),
    ("4", gettext_lazy("4 — satisfied")),
    ("3", gettext_lazy("3 — basically satisfied")),
    ("2", gettext_lazy("2 — dissatisfied")),
    ("1", gettext_lazy("1 — very dissatisfied")),
]
CHANNEL_CHOICES = list(FOLLOW_UP_CHANNELS.items())
# Destructive actions get a warning style on the page.
DANGER_ACTIONS = frozenset({"reject", "merge", "withdraw", "refuse_extension", "dispute"})
# The follow-up call's fields, flat on the page ("follow_up_channel"); the view nests them as
# the API's `follow_up` object before the input serializer reads them.
FOLLOW_UP_PREFIX = "follow_up_"


class _MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


def _text(label, *, required=True, rows=3):
    return forms.CharField(
        label=label, required=required, widget=forms.Textarea(attrs={"rows": rows})
    )


def _select(label, *, required=True, choices=()):
    return forms.ChoiceField(label=label, required=required, choices=choices)


def _department_choices():
    return [empty_choice(True), *((d.pk, d.display_name) for d in Department.objects.all())]


class HandlerSelect(QuickSelect):
    """Handlers grouped by department, each option naming its department in
    `data-department`: static/requests/pickers.js then offers only the chosen department's
    handlers. Without JavaScript the groups still say whose handler is whose, and the
    workflow refuses a handler of another department."""

    def __init__(self, *args, department_of=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.department_of: dict[str, int] = department_of or {}
        self.attrs.setdefault("data-follows", "department")

    def option_attrs(self, value: str, selected: bool) -> dict:
        attrs = super().option_attrs(value, selected)
        if value in self.department_of:
            attrs["data-department"] = str(self.department_of[value])
        return attrs


def _handler_choices(service_request) -> tuple[list, dict[str, int]]:
    """(choices grouped by department, {handler id: department id})."""
    handlers = (
        User.objects.filter(role=Role.HANDLER, is_active=True, department__isnull=False)
        .select_related("department")
        .order_by("department__path", "name", "username")
    )
    if service_request is not None:
        # Who may take it: officials with a declared tie to the enterprise recuse (回避).
        handlers = handlers.exclude(pk__in=declared_official_ids(service_request.enterprise_id))
    groups: dict[str, list] = {}
    department_of = {}
    for h in handlers:
        groups.setdefault(h.department.display_name, []).append((str(h.pk), h.display_name))
        department_of[str(h.pk)] = h.department_id
    return [empty_choice(False), *groups.items()], department_of


def bulk_department_select() -> str:
    """The queue's bulk bar's department picker: every department, "choose one" first."""
    departments = [(d.pk, d.display_name) for d in Department.objects.order_by("path")]
    widget = QuickSelect(
        attrs={"id": "bulk-department"},
        choices=[("", _("Choose a department")), *departments],
    )
    return widget.render("department", None)


def bulk_handler_select() -> str:
    """The queue's bulk bar's handler picker: the assign form's picker (every active handler,
    grouped by department), following the bar's own department select."""
    choices, department_of = _handler_choices(None)
    widget = HandlerSelect(
        department_of=department_of,
        attrs={"data-follows": "bulk-department", "id": "bulk-handler"},
        choices=choices,
    )
    return widget.render("handler", None)


# The queue's bulk bar offers every department and every active handler of the city, on every
# page of the queue: the bar cost a fifth of the pages two cores serve a second, its two
# queries and picker about half of that (docs/performance.md). They change seldom, so they
# are kept in the cache, a copy per language, and dropped when a department or a user is saved
# or deleted (at once, and again on commit for the other processes). A bulk UPDATE sends no
# signal: the time limit bounds what it leaves, and the workflow refuses a handler who left or
# moved meanwhile (changes._check_handler).
BULK_CHOICES_KEY = "requests:bulk-choices:{language}"
BULK_CHOICES_SECONDS = 300


def bulk_assign_choices() -> tuple[str, str]:
    """The markup of the queue's bulk bar's two pickers, (department, handler), in the current
    language. Kept as markup, not as choices: the page then writes neither picker again."""
    key = BULK_CHOICES_KEY.format(language=get_language())
    kept = cache.get(key)
    if kept is None:
        kept = (bulk_department_select(), bulk_handler_select())
        cache.set(key, kept, BULK_CHOICES_SECONDS)
    return kept


def forget_bulk_choices() -> None:
    keys = [BULK_CHOICES_KEY.format(language=code) for code, _name in settings.LANGUAGES]
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


@receiver(post_save, sender="officials.Department")
@receiver(post_delete, sender="officials.Department")
@receiver(post_save, sender="officials.User")
@receiver(post_delete, sender="officials.User")
def _on_staff_row(update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a login: nothing the bar shows
    forget_bulk_choices()


# --- the action forms of the detail page ---------------------------------------------------------


class ActionForm(SerializerForm):
    """The form of one workflow action; its fields are those of the action's input serializer.

    An action may have more than one form (the review: accept, reject), each with a `key` of its
    own and values it fixes (`fixed`, sent as hidden inputs: the verdict).
    """

    action = ""
    key = ""  # the form's name on the page (ids, ?act=); the action's when it has one form
    fixed: dict[str, str] = {}

    def __init__(self, data=None, *, user: User, service_request=None, errors=None):
        self.key = self.key or self.action
        # Several action forms share a page: their ids carry the form ("reject-reason").
        super().__init__(data, errors=errors, auto_id=f"{self.key}-%s")
        self.user, self.service_request = user, service_request

    @property
    def label(self):
        return TRANSITIONS[self.action].label

    @property
    def danger(self) -> bool:
        return self.action in DANGER_ACTIONS


class AssignForm(ActionForm):
    action = "assign"
    department = _select(gettext_lazy("Department"), choices=_department_choices)
    handler = _select(gettext_lazy("Handler (optional)"), required=False)
    note = _text(gettext_lazy("Note"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices, department_of = _handler_choices(self.service_request)
        # The picker follows the department select of this very form (ids carry the action).
        self.fields["handler"].widget = HandlerSelect(
            department_of=department_of, attrs={"data-follows": f"{self.action}-department"}
        )
        self.fields["handler"].choices = choices


class RejectForm(ActionForm):
    action = "reject"
    reason = _text(gettext_lazy("Reason"))


class ReferenceInput(forms.TextInput):
    """A request number typed by hand, with the likely ones offered as the person types: a
    <datalist> the browser filters itself (type-ahead without a script or a round trip)."""

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = list(candidates)

    def render(self, name, value, attrs=None, renderer=None):
        list_id = f"{(attrs or {}).get('id', name)}-candidates"
        self.attrs["list"] = list_id
        field = super().render(name, value, attrs, renderer)
        options = format_html_join(
            "", '<option value="{}">{}</option>', ((ref, title) for ref, title in self.candidates)
        )
        return format_html('{}<datalist id="{}">{}</datalist>', field, list_id, options)


MERGE_CANDIDATES = 20


def merge_candidates(service_request, user) -> list[tuple[str, str]]:
    """(reference, title) of the open requests a duplicate is most likely of: the same
    enterprise's, newest first, among those the user may see."""
    from requests_app.models import OPEN_STATUSES
    from requests_app.selectors import requests_visible_to

    rows = (
        requests_visible_to(user)
        .filter(enterprise_id=service_request.enterprise_id, status__in=OPEN_STATUSES)
        .exclude(pk=service_request.pk)
        .order_by("-submitted_at", "-id")
        .values_list("reference", "title")[:MERGE_CANDIDATES]
    )
    return [(reference, title) for reference, title in rows if reference]


class MergeForm(ActionForm):
    action = "merge"
    into = forms.CharField(label=gettext_lazy("Merge into (request number or id)"))
    note = _text(gettext_lazy("Note"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.service_request is not None:
            candidates = merge_candidates(self.service_request, self.user)
            self.fields["into"].widget = ReferenceInput(
                candidates=candidates, attrs={"autocomplete": "off"}
            )


class StartForm(ActionForm):
    action = "start"


class TransferForm(ActionForm):
    action = "transfer"
    department = _select(gettext_lazy("Department"), choices=_department_choices)
    reason = _text(gettext_lazy("Reason"))


class RequestInfoForm(ActionForm):
    action = "request_info"
    question = _text(gettext_lazy("Question for the enterprise"))


class ProvideInfoForm(ActionForm):
    """The enterprise's answer to a question, with its files, in one form."""

    action = "provide_info"
    answer = _text(gettext_lazy("Your answer"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["files"] = _files(gettext_lazy("Files (optional)"), accept=ACCEPT)
        self.fields["files"].help_text = files_help()


class FeedbackForm(ActionForm):
    """The department's answer: what was done, with the documents that show it. The
    enterprise reads it in full above its Accept and Reject."""

    action = "feedback"
    message = _text(gettext_lazy("What was done"), rows=6)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["files"] = _files(gettext_lazy("Documents (optional)"), accept=ACCEPT)
        self.fields["files"].help_text = files_help()


class ExtendForm(ActionForm):
    action = "extend"
    until = forms.DateTimeField(
        label=gettext_lazy("New deadline"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    plan = _text(gettext_lazy("Plan: steps and dates"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["until"].help_text = _(
            "At most %(days)d working days from now; the leader linked to the enterprise (or "
            "the head of your department) decides."
        ) % {"days": settings.DEADLINE_EXTENSION_MAX_DAYS}


class ApproveExtensionForm(ActionForm):
    action = "approve_extension"
    note = _text(gettext_lazy("Note"), required=False)


class RefuseExtensionForm(ActionForm):
    action = "refuse_extension"
    reason = _text(gettext_lazy("Why the extension is refused"))


class _ReviewForm(ActionForm):
    """The enterprise's verdict on the answer; a liaison records it after a follow-up call
    (回访), whose fields come first: whom they reached, how and when, and what was said. Two
    forms, one per verdict, both the one `review` action: each asks only what its verdict
    needs, and the workflow judges it as it judges the API's."""

    action = "review"
    follow_up_channel = _select(
        gettext_lazy("How the enterprise was reached"),
        choices=[empty_choice(True), *CHANNEL_CHOICES],
    )
    follow_up_contacted_at = forms.DateTimeField(
        label=gettext_lazy("When the call took place"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    follow_up_contact_name = forms.CharField(
        label=gettext_lazy("Spoke with (name at the enterprise)"), max_length=100
    )
    follow_up_note = _text(gettext_lazy("What the enterprise said"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.user.role == Role.ENTREPRENEUR:  # the enterprise speaks for itself: no call
            for name in [name for name in self.fields if name.startswith(FOLLOW_UP_PREFIX)]:
                del self.fields[name]


class AcceptReviewForm(_ReviewForm):
    """Accept: the problem is solved. A rating is needed, a comment is not."""

    key = "review_accept"
    fixed = {"accepted": "true"}
    rating = _select(gettext_lazy("Rating"), choices=[empty_choice(True), *RATING_CHOICES])
    comment = _text(gettext_lazy("Comment (optional)"), required=False)

    @property
    def label(self):
        return _("Accept the answer")


class RejectReviewForm(_ReviewForm):
    """Reject: the request is reopened. What is still wrong is needed; no rating."""

    key = "review_reject"
    fixed = {"accepted": "false"}
    comment = _text(gettext_lazy("What is still wrong"))

    @property
    def label(self):
        return _("Reject the answer")

    @property
    def danger(self) -> bool:
        return True


class DisputeForm(ActionForm):
    """The enterprise disputes a close its liaison recorded after a follow-up call."""

    action = "dispute"
    reason = _text(gettext_lazy("What is still wrong"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        closed_at = getattr(self.service_request, "closed_at", None)
        if closed_at is not None:
            until = timezone.localtime(dispute_until(closed_at))
            self.fields["reason"].help_text = _(
                "Your liaison closed this request after a follow-up call. If the problem is "
                "not solved, you may dispute it until %(until)s: it is then reopened."
            ) % {"until": until.strftime("%Y-%m-%d %H:%M")}


class WithdrawForm(ActionForm):
    action = "withdraw"
    reason = _text(gettext_lazy("Reason"), required=False)


class CommentForm(ActionForm):
    action = "comment"
    text = _text(gettext_lazy("Comment"))


# Each form by its key; an action's forms by the action (the review has two).
FORMS: dict[str, type[ActionForm]] = {
    form.key or form.action: form
    for form in [
        AssignForm,
        RejectForm,
        MergeForm,
        StartForm,
        TransferForm,
        RequestInfoForm,
        ProvideInfoForm,
        FeedbackForm,
        ExtendForm,
        ApproveExtensionForm,
        RefuseExtensionForm,
        AcceptReviewForm,
        RejectReviewForm,
        DisputeForm,
        WithdrawForm,
        CommentForm,
    ]
}


ACTION_FORMS: dict[str, tuple[type[ActionForm], ...]] = {}
for _form in FORMS.values():
    ACTION_FORMS[_form.action] = (*ACTION_FORMS.get(_form.action, ()), _form)


def form_key(action: str, data) -> str | None:
    """Which of the action's forms `data` was posted from: the one whose fixed values it
    carries (None: no form of the action has them, e.g. a review without a verdict)."""
    for form in ACTION_FORMS[action]:
        if all(data.get(name) == value for name, value in form.fixed.items()):
            return form.key or form.action
    return None


def action_form(key: str, user: User, data=None, errors=None, service_request=None) -> ActionForm:
    """One form by its key (see `FORMS`), with what was entered and what was wrong.

    `errors` is {field: [message, ...]} as `flatten_errors` gives it; with `service_request`,
    the handlers offered are those who may take it (no conflict of interest).
    """
    return FORMS[key](data, user=user, service_request=service_request, errors=errors)


# --- filing and attaching ------------------------------------------------------------------------


def _files(label, **attrs):
    return forms.FileField(label=label, required=False, widget=_MultipleFileInput(attrs=attrs))


class RequestCreateForm(SerializerForm):
    """Filing a request (受理), judged by `RequestCreateInput`; the files by `attachments`."""

    # The page's error lists are named after the fields ("err-title"), as they always were.
    error_id = "err-%(name)s"

    enterprise = _select(gettext_lazy("Enterprise"))
    source = _select(gettext_lazy("Where the request came from"), required=False)
    category = _select(gettext_lazy("Category"))
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Describe the problem"),
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy(
            "What happened, since when, whom you have already asked, and what you need."
        ),
    )
    files = _files(gettext_lazy("Attachments (optional)"), accept=ACCEPT)

    def __init__(self, data=None, *, user: User, enterprises, errors=None):
        super().__init__(data, errors=errors)
        on_behalf = user.role != Role.ENTREPRENEUR
        # One enterprise needs no choice: the serializer fills it in for an entrepreneur.
        self.choose_enterprise = on_behalf or len(enterprises) > 1
        if self.choose_enterprise:
            self.fields["enterprise"].choices = [empty_choice(True)] + [
                (str(e.pk), e.name) for e in enterprises
            ]
        else:
            del self.fields["enterprise"]
        if on_behalf:
            self.fields["source"].choices = [
                (s.value, s.label) for s in Source if s in ON_BEHALF_SOURCES
            ]
        else:
            del self.fields["source"]
        self.fields["category"].choices = [empty_choice(True)] + [
            (c.code, c.name) for c in Category.objects.all()
        ]
        self.fields["files"].help_text = files_help()


def files_help() -> str:
    """What files a form takes, with the running settings' limits."""
    return _(
        "Up to %(max_files)s files, each at most %(size)s: PDF, images, office documents "
        "or plain text."
    ) % {"max_files": MAX_FILES, "size": filesizeformat(settings.ATTACHMENT_MAX_BYTES)}


class AttachForm(SerializerForm):
    """More files on an open request; `attachments` judges them."""

    error_id = "err-%(name)s"

    files = _files(gettext_lazy("Add files"))
