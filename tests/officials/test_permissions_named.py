"""The named permissions (officials/permissions.py): each one for each role, from a table, and
that nothing else in the code base keeps its own set of roles or asks for a name not declared."""

import ast
import re

import pytest
from django.conf import settings
from django.contrib.auth.context_processors import PermWrapper
from django.contrib.auth.models import AnonymousUser
from rest_framework.test import APIRequestFactory

from officials.models import Role, User
from officials.permissions import PERMISSIONS, permission
from tests.test_architecture import ROOT, relative, source_files

E, LI, H, LE, IN, AD = (
    Role.ENTREPRENEUR,
    Role.LIAISON,
    Role.HANDLER,
    Role.LEADER,
    Role.INSPECTOR,
    Role.ADMIN,
)
OFFICIALS = frozenset({LI, H, LE, IN, AD})

# Who may, by role: the table a reviewer reads; a permission added without a row here fails.
TABLE: dict[str, frozenset[Role]] = {
    "requests.file": frozenset({E, LI, LE, AD}),
    "requests.attach": frozenset({E, LI, H, AD}),
    "requests.verify_chain": frozenset({IN, AD}),
    "requests.view_ledger": frozenset({LE, AD}),
    "requests.work_queue": frozenset({LI, H, LE, AD}),
    "requests.list_extensions": OFFICIALS,
    "requests.list_eligible_handlers": OFFICIALS,
    "compliance.read_records": OFFICIALS,
    "compliance.oversee_records": frozenset({IN, AD}),
    "inspection.use_console": frozenset({IN, AD}),
    "inspection.list_cases": frozenset({IN, AD}),
    "inspection.read_reports": frozenset({IN}),
    "reports.view": OFFICIALS,
    "officials.provision": frozenset({AD}),
    "officials.register_enterprise": frozenset({E}),
    "officials.review_claims": frozenset({LI, AD}),
}
PERMISSIONS_MODULE = "officials/permissions.py"


def person(role: Role, **fields) -> User:
    # Unsaved: a named permission is a fact of the role and the account, never of rows.
    return User(username=f"someone-{role}", role=role, **fields)


def test_the_table_names_every_permission():
    assert set(TABLE) == set(PERMISSIONS)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", sorted(TABLE))
def test_a_role_has_a_named_permission_as_the_table_says(name, role):
    assert person(role).has_perm(name) is (role in TABLE[name])


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", sorted(TABLE))
def test_a_deactivated_account_may_do_nothing_named(name, role):
    assert not person(role, is_active=False).has_perm(name)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_an_anonymous_visitor_may_do_nothing_named(name):
    assert not AnonymousUser().has_perm(name)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_a_superuser_administrator_follows_the_table_too(name):
    """Django grants an active superuser every permission; the portal's administrators are
    superusers (to run Django's admin) but still may not read confidential reports."""
    admin = person(AD, is_superuser=True, is_staff=True)
    assert admin.has_perm(name) is (AD in TABLE[name])


def test_a_superuser_keeps_djangos_model_permissions():
    admin = person(AD, is_superuser=True, is_staff=True)
    assert admin.has_perm("requests_app.change_servicerequest")


def test_templates_ask_through_perms():
    """`perms.inspection.read_reports` in a template asks the same table."""
    assert PermWrapper(person(IN))["inspection"]["read_reports"]
    assert not PermWrapper(person(AD, is_superuser=True))["inspection"]["read_reports"]


@pytest.mark.parametrize("role", list(Role))
def test_the_drf_permission_class_lets_through_whom_the_table_says(role):
    request = APIRequestFactory().get("/")
    request.user = person(role)
    allowed = permission("reports.view")().has_permission(request, view=None)
    assert allowed is (role in TABLE["reports.view"])


def test_a_drf_permission_class_for_an_unknown_name_is_refused_at_once():
    with pytest.raises(KeyError):
        permission("reports.veiw")


def test_axes_still_sees_every_login_first():
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert "rules.permissions.ObjectPermissionBackend" in settings.AUTHENTICATION_BACKENDS


# --- the code base asks the table, and only names it declares ------------------------------------


def _roles_sets_defined(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name | ast.Attribute):
                    label = name.id if isinstance(name, ast.Name) else name.attr
                    if label.upper().endswith("_ROLES"):
                        names.append(f"{label} (line {node.lineno})")
    return names


def test_no_module_but_the_permissions_module_keeps_a_set_of_roles():
    """Who may do what is declared once: a `*_ROLES` set anywhere else is a second answer."""
    found = {
        relative(path): names
        for path in source_files()
        if relative(path) != PERMISSIONS_MODULE
        and (names := _roles_sets_defined(ast.parse(path.read_text(), filename=str(path))))
    }
    # A deployment's choice, not an answer to "who may": which roles must use two-factor.
    in_settings = found.pop("portal/settings.py", [])
    if rest := [name for name in in_settings if not name.startswith("MFA_REQUIRED_ROLES ")]:
        found["portal/settings.py"] = rest
    assert found == {}


_ASKED_IN_CODE = re.compile(r"""(?:has_perm|permission)\(\s*["']([a-z_]+\.[a-z_]+)["']""")
_ASKED_IN_TEMPLATES = re.compile(r"\bperms\.([a-z_]+)\.([a-z_]+)")


def _names_asked() -> dict[str, set[str]]:
    asked: dict[str, set[str]] = {}
    for path in source_files():
        for name in _ASKED_IN_CODE.findall(path.read_text()):
            asked.setdefault(name, set()).add(relative(path))
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for app, codename in _ASKED_IN_TEMPLATES.findall(path.read_text()):
            asked.setdefault(f"{app}.{codename}", set()).add(relative(path))
    return asked


def test_every_permission_asked_for_is_declared():
    """`has_perm` answers False for a name nobody declared: a typo would silently deny."""
    asked = _names_asked()
    assert asked, "the scan found no permission asked for: has the pattern changed?"
    undeclared = {name: where for name, where in asked.items() if name not in PERMISSIONS}
    assert undeclared == {}
