"""Every URL of the portal and how it answers each persona, for tests/test_permissions.py.

One or more rows per URL name (as `reverse()` knows it, with its namespace); a URL added to the
portal without a row here fails `test_every_url_is_in_the_table`. A row says what the URL is
called on (`target`, with the request driven to `state` first), what it is sent, and what each
persona gets back (`expect`, built with `scoped()` or `unscoped()`):

- the insiders of tests/conftest.py (alice, liam, hank, leona, ivan, ada) see acme's request;
  those whose role may do the thing get `ok`, the others 403 (API.md: "may see it, may not do
  this"); an insider who cannot see the object in that state (hank before it is assigned) 404;
- the outsiders (mallory, olga, hugo, lars, irene) may not even learn it exists: 404;
- anonymous: 401 for the API, the login page for pages (`LOGIN`).

To add rows for new endpoints: add a target to `tests/test_permissions.py::TARGETS` if the URL
points at a new kind of object, then a `Row` here.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from officials.models import Role

LOGIN = "login"  # a redirect to the login page
ADMIN_LOGIN = "admin-login"  # a redirect to the admin's login page

INSIDERS = {
    "alice": Role.ENTREPRENEUR,
    "liam": Role.LIAISON,
    "hank": Role.HANDLER,
    "leona": Role.LEADER,
    "ivan": Role.INSPECTOR,
    "ada": Role.ADMIN,
}
OUTSIDERS = {
    "mallory": Role.ENTREPRENEUR,
    "olga": Role.LIAISON,
    "hugo": Role.HANDLER,
    "lars": Role.LEADER,
    "irene": Role.INSPECTOR,
}
ANONYMOUS = "anonymous"
PERSONAS = (*INSIDERS, *OUTSIDERS, ANONYMOUS)

ALL = frozenset(Role)
OFFICIALS = ALL - {Role.ENTREPRENEUR}
# States in which hank's department has not (yet) been given the request.
UNASSIGNED = frozenset({"submitted", "rejected"})


def scoped(
    allowed: frozenset,
    ok: int | str = 200,
    *,
    state: str = "",
    api: bool = True,
    denied: int = 403,
    **overrides,
) -> dict[str, int | str]:
    """An endpoint on acme's request (or something else of an insider's): outsiders 404,
    insiders by role; `state` is the request's, for the insiders who cannot see it yet."""
    expect: dict[str, int | str] = {}
    for persona, role in INSIDERS.items():
        hidden = persona == "hank" and state in UNASSIGNED
        expect[persona] = 404 if hidden else (ok if role in allowed else denied)
    expect.update(dict.fromkeys(OUTSIDERS, 404))
    expect[ANONYMOUS] = 401 if api else LOGIN
    expect.update(overrides)
    return expect


def unscoped(
    allowed: frozenset, ok: int | str = 200, *, api: bool = True, denied: int = 403, **overrides
) -> dict[str, int | str]:
    """An endpoint on nothing in particular (a list, a form): every persona by role alone."""
    roles = {**INSIDERS, **OUTSIDERS}
    expect: dict[str, int | str] = {
        persona: ok if role in allowed else denied for persona, role in roles.items()
    }
    expect[ANONYMOUS] = 401 if api else LOGIN
    expect.update(overrides)
    return expect


def public(code: int | str = 200) -> dict[str, int | str]:
    return dict.fromkeys(PERSONAS, code)


Body = Callable[..., dict] | None


@dataclass(frozen=True)
class Row:
    name: str  # the URL name, with its namespace
    expect: dict[str, int | str]  # persona -> status code, or LOGIN / ADMIN_LOGIN
    method: str = "get"
    target: str = "none"  # what the URL's arguments point at: see TARGETS in the test
    state: str = "submitted"  # the state acme's request is driven to first
    kwargs: dict = field(default_factory=dict)  # fixed URL arguments (an action's slug)
    query: str = ""  # appended to the URL, e.g. "?year=2026&quarter=3"
    body: Body = None  # body(world) -> data to send
    multipart: bool = False
    # For a list: the insiders' answers must contain the target and the outsiders' must not,
    # except the outsiders named in `also_sees`.
    lists_target: bool = False
    also_sees: tuple[str, ...] = ()
    note: str = ""

    def __str__(self) -> str:
        extra = f"[{self.kwargs['action']}]" if "action" in self.kwargs else ""
        return f"{self.method.upper()} {self.name}{extra}@{self.state}"


# --- the request loop: one row per action, in the state where it is legal ----------------------


def _review(world) -> dict:
    """A verdict; a liaison's records the follow-up call (flat, as the page's form sends it;
    the API reads the same keys, nested)."""
    from django.utils import timezone

    body = {"accepted": "true", "rating": 5}
    if world.user is not None and world.user.role == Role.LIAISON:
        now = timezone.localtime()
        body.update(
            {
                "follow_up.channel": "phone",
                "follow_up.contacted_at": now.strftime("%Y-%m-%dT%H:%M:%S"),
                "follow_up.contact_name": "Alice",
                "follow_up.note": "Fine now.",
            }
        )
    return body


# (action, state, roles that may do it (API.md), body)
ACTIONS: list[tuple[str, str, frozenset, Body]] = [
    (
        "assign",
        "submitted",
        frozenset({Role.LIAISON, Role.ADMIN}),
        lambda w: {"department": w.cast.roads.pk, "handler": w.cast.hank.pk},
    ),
    (
        "reject",
        "submitted",
        frozenset({Role.LIAISON, Role.ADMIN}),
        lambda w: {"reason": "Private."},
    ),
    ("merge", "assigned", frozenset({Role.LIAISON, Role.ADMIN}), lambda w: {"into": w.other.pk}),
    ("start", "assigned", frozenset({Role.HANDLER}), lambda w: {}),
    (
        "transfer",
        "rectifying",
        frozenset({Role.HANDLER, Role.LIAISON, Role.ADMIN}),
        lambda w: {"department": w.cast.environment.pk, "reason": "Not roads."},
    ),
    ("request_info", "rectifying", frozenset({Role.HANDLER}), lambda w: {"question": "Which?"}),
    (
        "provide_info",
        "info_needed",
        frozenset({Role.ENTREPRENEUR}),
        lambda w: {"answer": "Gate 2."},
    ),
    ("feedback", "rectifying", frozenset({Role.HANDLER}), lambda w: {"message": "Repaved."}),
    (
        "extend",
        "rectifying",
        frozenset({Role.HANDLER}),
        lambda w: {
            "until": (w.request.answer_due_at + dt.timedelta(days=14)).isoformat(),
            "plan": "Survey, then repave.",
        },
    ),
    # Decided by acme's linked leader (leona) or an admin; tests/requests_app/test_extensions.py
    # tries the department head and the unlinked leader.
    (
        "approve_extension",
        "rectifying+extension_pending",
        frozenset({Role.LEADER, Role.ADMIN}),
        lambda w: {},
    ),
    (
        "refuse_extension",
        "rectifying+extension_pending",
        frozenset({Role.LEADER, Role.ADMIN}),
        lambda w: {"reason": "No dates in the plan."},
    ),
    ("review", "feedback", frozenset({Role.ENTREPRENEUR, Role.LIAISON}), _review),
    (
        "dispute",
        "closed+follow_up",
        frozenset({Role.ENTREPRENEUR}),
        lambda w: {"reason": "Still broken."},
    ),
    ("withdraw", "rectifying", frozenset({Role.ENTREPRENEUR}), lambda w: {"reason": "Fixed."}),
    ("comment", "rectifying", ALL, lambda w: {"text": "Any news?"}),
]


def _file_upload(field_name: str) -> Callable:
    def body(world) -> dict:
        from django.core.files.uploadedfile import SimpleUploadedFile

        return {field_name: SimpleUploadedFile("survey.pdf", b"%PDF-1.4\n%%EOF\n")}

    return body


ATTACH = frozenset({Role.ENTREPRENEUR, Role.LIAISON, Role.HANDLER, Role.ADMIN})
VERIFY = frozenset({Role.INSPECTOR, Role.ADMIN})
FILING = frozenset({Role.ENTREPRENEUR, Role.LIAISON, Role.LEADER, Role.ADMIN})
ADMIN = frozenset({Role.ADMIN})


def _new_request(world) -> dict:
    body = {
        "enterprise": world.cast.acme.pk,
        "category": "infrastructure",
        "title": "Broken road",
        "description": "Gate 2.",
    }
    if world.user is not None and world.user.role != Role.ENTREPRENEUR:
        body["source"] = "visit"
    return body


ROWS: list[Row] = [
    # --- portal -------------------------------------------------------------------------------
    Row("home", unscoped(ALL, 302, api=False, anonymous=200), note="public page; users go on"),
    Row("login", public(200) | dict.fromkeys([*INSIDERS, *OUTSIDERS], 302)),
    Row("logout", public(302), method="post"),
    Row("set_language", public(302), method="post", body=lambda w: {"language": "en"}),
    Row("admin:*", unscoped(ADMIN, 200, api=False, denied=ADMIN_LOGIN, anonymous=ADMIN_LOGIN)),
    Row("health", public(200)),
    Row("favicon", public(302), note="a redirect to the static icon"),
    Row("schema", public(200), note="the OpenAPI schema is public, like the API's docs"),
    Row("api-docs", public(200)),
    Row(
        "api-token",
        public(200),
        method="post",
        body=lambda w: {"username": "alice", "password": w.password},
    ),
    Row("api-token-revoke", unscoped(ALL, 204), method="post"),
    Row("api-root", unscoped(ALL)),
    Row("portal:inbox", unscoped(ALL, api=False)),
    Row("portal:inbox-open", scoped(ALL, 302, api=False), target="notification"),
    Row("portal:inbox-read-all", unscoped(ALL, 302, api=False), method="post"),
    Row("portal:inbox-settings", unscoped(ALL, api=False)),
    Row("me", unscoped(ALL)),
    Row("me", unscoped(ALL), method="patch", body=lambda w: {"language": "en"}),
    Row("inbox-list", unscoped(ALL), target="notification", lists_target=True),
    Row("inbox-read", unscoped(ALL, 204), method="post", body=lambda w: {}),
    # --- reference data and provisioning ------------------------------------------------------
    Row("category-list", unscoped(ALL)),
    Row("department-list", unscoped(ALL)),
    Row(
        "department-list",
        unscoped(ADMIN, 201),
        method="post",
        body=lambda w: {"name": "Harbour Bureau", "parent": w.cast.gulou.pk},
    ),
    Row(
        "department-detail",
        unscoped(ALL),
        target="department",
        note="departments are public reference data for everyone logged in",
    ),
    Row(
        "enterprise-list",
        unscoped(ALL),
        target="enterprise",
        lists_target=True,
        also_sees=("hugo",),
    ),
    Row(
        "enterprise-list",
        unscoped(ADMIN, 201),
        method="post",
        body=lambda w: {"name": "Initech", "credit_code": w.credit_code},
    ),
    Row(
        "enterprise-detail",
        # hugo's department is in Gulou too: acme is in his jurisdiction.
        scoped(ALL, hugo=200),
        target="enterprise",
    ),
    Row("user-list", unscoped(ADMIN)),
    Row(
        "user-list",
        unscoped(ADMIN, 201),
        method="post",
        body=lambda w: {
            "username": "newcomer",
            "password": w.password,
            "name": "Newcomer",
            "role": "entrepreneur",
        },
    ),
    Row("user-detail", unscoped(ADMIN), target="user"),
    # PUT (admin only) is tried per persona in tests/requests_app/test_calendar_api.py.
    Row("calendar-year", unscoped(OFFICIALS), kwargs={"year": 2027}),
    # --- service requests: the API ------------------------------------------------------------
    Row("request-list", unscoped(ALL), target="request", state="assigned", lists_target=True),
    Row(
        "request-list",
        unscoped(FILING, 201, mallory=400, olga=400, lars=400, irene=400),
        method="post",
        body=_new_request,
        note="acme is not the outsiders' to name: 400 on the field, as if it did not exist",
    ),
    Row("request-detail", scoped(ALL, state="assigned"), target="request", state="assigned"),
    Row("request-events", scoped(ALL, state="assigned"), target="request", state="assigned"),
    Row("request-verify", scoped(VERIFY, state="assigned"), target="request", state="assigned"),
    # The signed checkpoints hold every request's head: for those who verify timelines.
    Row("timeline-checkpoints", unscoped(VERIFY)),
    Row(
        "request-attachments",
        scoped(ATTACH, 201, state="rectifying"),
        method="post",
        target="request",
        state="rectifying",
        body=_file_upload("file"),
        multipart=True,
    ),
    *[
        Row(
            f"request-{action.replace('_', '-')}",
            scoped(roles, state=state),
            method="post",
            target="request",
            state=state,
            body=body,
            # A form body: DRF reads a review's "follow_up.*" fields as the nested object.
            multipart=action == "review",
        )
        for action, state, roles, body in ACTIONS
    ],
    # --- service requests: the pages ----------------------------------------------------------
    Row(
        "requests:list",
        unscoped(ALL, api=False),
        target="request",
        state="assigned",
        lists_target=True,
    ),
    Row("requests:create", unscoped(FILING, api=False)),
    Row(
        "requests:detail",
        scoped(ALL, state="assigned", api=False),
        target="request",
        state="assigned",
    ),
    *[
        Row(
            "requests:act",
            scoped(roles, 302, state=state, api=False),
            method="post",
            target="request",
            state=state,
            kwargs={"action": action},
            body=body,
        )
        for action, state, roles, body in ACTIONS
    ],
    Row(
        "requests:attach",
        scoped(ATTACH, 302, state="rectifying", api=False),
        method="post",
        target="request",
        state="rectifying",
        body=_file_upload("files"),
        multipart=True,
    ),
    Row(
        "requests:verify",
        scoped(VERIFY, 302, state="assigned", api=False),
        method="post",
        target="request",
        state="assigned",
    ),
    Row(
        "requests:attachment",
        scoped(ALL, state="rectifying", api=False),
        target="attachment",
        state="rectifying",
    ),
    Row(
        "requests:attachment-preview",
        scoped(ALL, state="rectifying", api=False),
        target="attachment",
        state="rectifying",
    ),
    Row(
        "requests:attachment-view",
        scoped(ALL, state="rectifying", api=False),
        target="attachment",
        state="rectifying",
    ),
    Row(
        "requests:bulk",
        unscoped(frozenset({Role.LIAISON, Role.HANDLER, Role.ADMIN}), 302, api=False),
        method="post",
        body=lambda w: {"action": "assign"},
    ),
    Row(
        "requests:view-save",
        unscoped(ALL, 302, api=False),
        method="post",
        body=lambda w: {"name": "Overdue", "overdue": "true"},
    ),
    # Everyone deletes their own; another's answers 404, as if it did not exist.
    Row(
        "requests:view-delete",
        unscoped(ALL, 302, api=False, **dict.fromkeys(OUTSIDERS, 404)),
        method="post",
        target="saved_view",
    ),
    Row("requests:extensions", unscoped(OFFICIALS, api=False)),
    Row("requests:ledger", unscoped(frozenset({Role.LEADER, Role.ADMIN}), api=False)),
    Row("officials:enterprise-create", unscoped(frozenset({Role.ENTREPRENEUR}), api=False)),
    # --- accounts (django-allauth and the portal's own pages) ------------------------------------
    Row("profile", unscoped(ALL, api=False)),
    Row(
        "profile",
        unscoped(ALL, 302, api=False),
        method="post",
        body=lambda w: {"name": "Someone Else", "phone": "0591 12345", "language": "en"},
    ),
    Row("officials:claims", unscoped(frozenset({Role.LIAISON, Role.ADMIN}), api=False)),
    # A pending claim to act for acme: its linked liaison and the admin decide; olga, the other
    # region's liaison, may not learn it exists.
    Row(
        "officials:claim-verify",
        unscoped(frozenset({Role.LIAISON, Role.ADMIN}), 302, api=False, olga=404),
        method="post",
        target="claim",
    ),
    Row(
        "officials:claim-refuse",
        unscoped(frozenset({Role.LIAISON, Role.ADMIN}), 302, api=False, olga=404),
        method="post",
        target="claim",
        body=lambda w: {f"r{w.other.pk}-note": "Nobody of this name works there."},
    ),
    Row("account_login", public(200) | dict.fromkeys([*INSIDERS, *OUTSIDERS], 302)),
    Row("account_logout", public(302), method="post"),
    Row("account_signup", public(302) | {ANONYMOUS: 200}, note="signed-in users go on"),
    Row("account_change_password", unscoped(ALL, api=False)),
    Row("account_set_password", unscoped(ALL, 302, api=False), note="to change it: all have one"),
    Row("account_email", unscoped(ALL, api=False)),
    Row("account_confirm_email", public(200), kwargs={"key": "unknown"}, note="a dead link"),
    Row("account_email_verification_sent", public(200)),
    Row("account_inactive", public(200)),
    Row("account_reauthenticate", unscoped(ALL, api=False)),
    # Login and reauthentication by e-mailed code are off: these pages send everyone on.
    Row("account_request_reauthentication_code", unscoped(ALL, 302, api=False)),
    Row("account_confirm_reauthentication_code", unscoped(ALL, 302, api=False)),
    Row("account_confirm_login_code", public(302)),
    Row("account_reset_password", public(200)),
    Row("account_reset_password_done", public(200)),
    Row(
        "account_reset_password_from_key",
        public(200),
        kwargs={"uidb36": "0", "key": "unknown"},
        note="a dead link says so",
    ),
    Row("account_reset_password_from_key_done", public(200)),
    Row("mfa_index", unscoped(ALL, api=False)),
    Row("mfa_activate_totp", unscoped(ALL, 302, api=False), note="after a fresh login only"),
    Row("mfa_authenticate", public(302), note="only halfway through a login"),
    Row("mfa_reauthenticate", unscoped(ALL, 302, api=False)),
    Row("mfa_generate_recovery_codes", unscoped(ALL, 302, api=False)),
    # Nobody of the cast has two-factor on: nothing to turn off or to show.
    Row("mfa_deactivate_totp", unscoped(ALL, 404, api=False)),
    Row("mfa_view_recovery_codes", unscoped(ALL, 404, api=False)),
    Row("mfa_download_recovery_codes", unscoped(ALL, 404, api=False)),
    # --- reports --------------------------------------------------------------------------------
    Row("reports:api-quarterly", unscoped(OFFICIALS), query="?year=2026&quarter=3"),
    Row("reports:dashboard", unscoped(OFFICIALS, api=False)),
    Row(
        "reports:requests",
        unscoped(OFFICIALS, api=False),
        query="?year=2026&quarter=3&figure=received",
    ),
    *[
        Row(
            "reports:download",
            unscoped(OFFICIALS, api=False),
            kwargs={"fmt": fmt},
            query="?year=2026&quarter=3",
        )
        for fmt in ("csv", "xlsx")
    ],
    *[
        Row(
            name,
            public(404) | {"liam": 200, "ada": 200, ANONYMOUS: LOGIN},
            target="export-job",
            note="an export is its requester's (liam's) and the admins'; anyone else: 404",
        )
        for name in ("reports:job", "reports:job-status", "reports:job-download")
    ],
]


# --- confidential reports, accountability cases, the inspector's console ----------------------
# A report about acme (region gulou) is read by ivan (the whole portal) and by nobody else: the
# reported official, the reporter, the admin and the other region's inspector all get 404.
# Cases: ivan and ada read them (ada acts on none: 403), irene is outside the region (404), the
# other roles have no cases (403 on lists and console pages, 404 on a case).
INSPECTORS = frozenset({Role.INSPECTOR})
CONSOLE = frozenset({Role.INSPECTOR, Role.ADMIN})
REPORT_READER = public(404) | {"ivan": 200}
NOT_CONSOLE = {"mallory": 403, "olga": 403, "hugo": 403, "lars": 403}
DECISION = {"outcome": "cleared", "reasoning": "The enterprise asked to wait."}


def _report_body(world) -> dict:
    # Not anonymous: a logged-in persona asking for anonymity is refused (400, test_anonymity.py);
    # a logged-out one files anonymously whatever the body says.
    return {"kind": "petty_extortion", "text": "A red packet was asked for.", "anonymous": False}


def _receipt_body(world) -> dict:
    from tests.compliance.inspection_helpers import report_about_acme

    return {"receipt": report_about_acme(world.cast).receipt}


def _addition_body(world) -> dict:
    from tests.compliance.inspection_helpers import report_about_acme

    return {"receipt": report_about_acme(world.cast).receipt, "text": "One more thing."}


INSPECTION_ROWS: list[Row] = [
    Row(
        "confidential-report-list",
        public(404) | {"ivan": 200, "irene": 200},
        note="inspectors list their region's reports; everyone else: 404",
    ),
    Row("confidential-report-list", public(201), method="post", body=_report_body),
    Row("confidential-report-challenge", public(200), note="the proof-of-work challenge"),
    Row("confidential-report-detail", REPORT_READER, target="report"),
    Row("confidential-report-status", public(200), target="receipt"),
    Row(
        "confidential-report-additions",
        public(201),
        method="post",
        body=_addition_body,
        note="anyone holding the receipt adds to the report; nothing about them is kept",
    ),
    Row("confidential-report-evidence", REPORT_READER, target="evidence"),
    Row(
        "confidential-report-move",
        REPORT_READER,
        method="post",
        target="report",
        body=lambda w: {"status": "in_review"},
    ),
    Row(
        "confidential-report-open-case",
        public(404) | {"ivan": 201},
        method="post",
        target="report",
    ),
    Row("accountability-case-list", unscoped(CONSOLE)),
    Row("accountability-case-detail", scoped(CONSOLE, denied=404), target="case"),
    Row(
        "accountability-case-take",
        scoped(INSPECTORS, denied=404, ada=403),
        method="post",
        target="case",
    ),
    Row(
        "accountability-case-notes",
        scoped(INSPECTORS, 201, denied=404, ada=403),
        method="post",
        target="case",
        body=lambda w: {"text": "Met the handler."},
    ),
    Row(
        "accountability-case-decide",
        scoped(INSPECTORS, 201, denied=404, ada=403),
        method="post",
        target="case",
        body=lambda w: DECISION,
    ),
    Row(
        "accountability-case-correct",
        scoped(INSPECTORS, 409, denied=404, ada=403),
        method="post",
        target="case",
        body=lambda w: DECISION,
        note="the case is not decided yet: ivan gets 409 not_decided",
    ),
    # pages
    Row("inspector:report-file", public(200)),
    Row("inspector:report-file", public(200), method="post", body=_report_body),
    Row("inspector:report-anonymous", public(200), note="logged in: why to log out first"),
    Row(
        "inspector:report-anonymous",
        public(400) | {ANONYMOUS: 200},
        method="post",
        body=_report_body,
        note="the anonymous form files for logged-out visitors only",
    ),
    Row("inspector:report-status", public(200)),
    Row("inspector:report-status", public(200), method="post", body=_receipt_body),
    Row("inspector:report-add", public(200), method="post", body=_addition_body),
    Row("inspector:report-evidence", REPORT_READER | {ANONYMOUS: LOGIN}, target="evidence"),
    *[
        Row(f"inspector:{name}", unscoped(CONSOLE, api=False))
        for name in ("alerts", "findings", "cases", "search", "officials")
    ],
    Row("inspector:case", scoped(CONSOLE, api=False, **NOT_CONSOLE), target="case"),
    *[
        Row(
            "inspector:case-act",
            scoped(INSPECTORS, 302, api=False, ada=403, **NOT_CONSOLE),
            method="post",
            target="case",
            kwargs={"action": action},
            body=body,
        )
        for action, body in (
            ("take", None),
            ("note", lambda w: {"text": "Met the handler."}),
            ("decide", lambda w: DECISION),
        )
    ],
    Row(
        "inspector:reports",
        public(404) | {"ivan": 200, "irene": 200, ANONYMOUS: LOGIN},
    ),
    Row("inspector:report", REPORT_READER | {ANONYMOUS: LOGIN}, target="report"),
    *[
        Row(
            "inspector:report-act",
            public(404) | {"ivan": 302, ANONYMOUS: LOGIN},
            method="post",
            target="report",
            kwargs={"action": action},
            body=body,
        )
        for action, body in (("move", lambda w: {"status": "in_review"}), ("open-case", None))
    ],
    Row("inspector:official", unscoped(CONSOLE, api=False), target="official"),
]
ROWS += INSPECTION_ROWS


# --- the lists, officials' records and visit filings (compliance) -----------------------------
# Records are kept by the officials who serve enterprises (liaison, handler, leader) about any
# enterprise of the portal (API.md): olga and lars (Minhou) record about acme too. Visits follow
# the jurisdiction: hank, hugo (Gulou), liam and leona (linked to acme) may file one; olga and
# lars get 400 on the enterprise field. The other roles keep none (403). A record is read by its
# official and the region's inspectors (ivan); filings also by the enterprise and its links.
KEEPERS = frozenset({Role.LIAISON, Role.HANDLER, Role.LEADER})
RECORD_READERS = frozenset({Role.LIAISON, Role.HANDLER, Role.LEADER, Role.INSPECTOR, Role.ADMIN})
OUT_OF_REACH = {"olga": 400, "lars": 400, "hugo": 201}
RECORD_DETAIL = {"liam": 404, "leona": 404, "olga": 404, "hugo": 404, "lars": 404, "irene": 404}


def _recent(hours: int = 1) -> str:
    from django.utils import timezone

    return (timezone.now() - dt.timedelta(hours=hours)).isoformat()


RECORD_BODIES: dict[str, Callable] = {
    "interaction": lambda w: {
        "enterprise": w.cast.acme.pk,
        "kind": "meeting",
        "occurred_at": _recent(),
    },
    "gift": lambda w: {
        "enterprise": w.cast.acme.pk,
        "direction": "received",
        "kind": "goods",
        "value_cny": "50",
        "received_at": _recent(),
    },
    "asset-use": lambda w: {
        "enterprise": w.cast.acme.pk,
        "asset": "equipment",
        "start": dt.date.today().isoformat(),
        "returned": True,
    },
    "declaration": lambda w: {"enterprise": w.cast.acme.pk, "relation": "part_time_role"},
}
RECORD_TARGET = {
    "interaction": "interaction",
    "gift": "gift",
    "asset-use": "asset_use",
    "declaration": "declaration",
}
RECORD_PAGE_KIND = {
    "interaction": "interactions",
    "gift": "gifts",
    "asset-use": "asset-uses",
    "declaration": "declarations",
}


def _visit_body(world) -> dict:
    from django.utils import timezone

    start = timezone.now() + dt.timedelta(days=7)
    return {
        "enterprise": world.cast.acme.pk,
        "planned_start": start.isoformat(),
        "planned_end": (start + dt.timedelta(hours=2)).isoformat(),
        "purpose": "service",
    }


COMPLIANCE_ROWS: list[Row] = [
    Row("rule-list", public(200), note="the lists are public, like their page"),
    *[
        row
        for name in RECORD_BODIES
        for row in (
            Row(f"{name}-list", unscoped(RECORD_READERS)),
            Row(
                f"{name}-list",
                unscoped(KEEPERS, 201),
                method="post",
                body=RECORD_BODIES[name],
                note="any enterprise of the portal, whatever the official's jurisdiction",
            ),
            Row(
                f"{name}-detail",
                scoped(RECORD_READERS, mallory=403, **RECORD_DETAIL),
                target=RECORD_TARGET[name],
                note="a record is its official's and the region inspectors'",
            ),
            Row(
                "compliance:record-detail",
                scoped(RECORD_READERS, api=False, mallory=403, **RECORD_DETAIL),
                target=RECORD_TARGET[name],
                kwargs={"kind": RECORD_PAGE_KIND[name]},
            ),
            Row(
                "compliance:record-new",
                unscoped(KEEPERS, api=False),
                kwargs={"kind": RECORD_PAGE_KIND[name]},
            ),
        )
    ],
    Row(
        "gift-outcome",
        scoped(frozenset({Role.HANDLER}), mallory=403, **RECORD_DETAIL),
        method="post",
        target="gift",
        body=lambda w: {"registered_at": _recent()},
        note="only the official who recorded the gift (hank); others who see it: 403",
    ),
    Row(
        "compliance:gift-outcome",
        scoped(frozenset({Role.HANDLER}), 302, api=False, mallory=403, **RECORD_DETAIL),
        method="post",
        target="gift",
        body=lambda w: {"registered_at": _recent()},
        note="only the official who recorded the gift (hank); others who see it: 403",
    ),
    Row("visit-filing-list", unscoped(ALL), note="each sees the filings that are theirs to see"),
    Row(
        "visit-filing-list",
        unscoped(KEEPERS, 201, **OUT_OF_REACH),
        method="post",
        body=_visit_body,
    ),
    Row(
        "visit-filing-detail",
        scoped(ALL),
        target="visit",
        note="the filer, the enterprise, its liaison and leader, the region's inspectors",
    ),
    Row(
        "request-eligible-handlers",
        scoped(OFFICIALS, state="assigned"),
        target="request",
        state="assigned",
    ),
    Row("compliance:lists", public(200)),
    Row("compliance:records", unscoped(RECORD_READERS, api=False)),
    Row("compliance:visits", unscoped(ALL, api=False)),
    Row("compliance:visit-new", unscoped(KEEPERS, api=False)),
    Row(
        "compliance:visit-cancel",
        scoped(frozenset({Role.LIAISON, Role.HANDLER}), 302, api=False),
        method="post",
        target="visit",
        note="the filer (hank) or acme's liaison (liam); others who see it: 403",
    ),
]
ROWS += COMPLIANCE_ROWS
