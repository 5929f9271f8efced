"""Who may do what: every named permission of the portal, declared once, below every other app.

A named permission answers "may a person in this role do this kind of thing at all" (403 when
not). It never answers "may they see this request, enterprise or case": that is the selectors'
scoping (404). Status changes are not here either: the transition table of
requests_app/workflow.py says who may take each action.

The permissions are django-rules predicates registered with `rules.add_perm`, so they are asked
the Django way wherever a user is at hand: `user.has_perm("requests.file")` in views and services,
`perms.requests.file` in templates, `permission("requests.file")` as a DRF permission class.
`User.has_perm` asks this table even for superusers (officials/models.py says why).
"""

import rules
from rest_framework.permissions import BasePermission

from officials.models import Role


def _role(role: Role) -> rules.Predicate:
    # getattr: an anonymous user has no role, and may do nothing named here.
    return rules.predicate(lambda user: getattr(user, "role", None) == role, name=f"is_{role}")


is_entrepreneur = _role(Role.ENTREPRENEUR)
is_liaison = _role(Role.LIAISON)
is_handler = _role(Role.HANDLER)
is_leader = _role(Role.LEADER)
is_inspector = _role(Role.INSPECTOR)
is_admin = _role(Role.ADMIN)
# Everyone who works for the government, as opposed to the enterprises it serves.
is_official = is_liaison | is_handler | is_leader | is_inspector | is_admin

# name -> who may, beyond being logged in with an active account (checked for every name below).
PERMISSIONS: dict[str, rules.Predicate] = {
    # --- the request loop (the actions themselves: requests_app/workflow.py) ---------------------
    # File a request: entrepreneurs for their enterprises, officials on an enterprise's behalf.
    "requests.file": is_entrepreneur | is_liaison | is_leader | is_admin,
    # Add files to a request (while it is open: requests_app/attachments.py).
    "requests.attach": is_entrepreneur | is_liaison | is_handler | is_admin,
    # Re-compute a request's hash chain and see the hashes.
    "requests.verify_chain": is_inspector | is_admin,
    # The supervision ledger (挂账督办).
    "requests.view_ledger": is_leader | is_admin,
    # Work a queue: the request list opens on what waits for them; entrepreneurs and inspectors
    # read whole histories instead.
    "requests.work_queue": is_liaison | is_handler | is_leader | is_admin,
    # The list of extensions waiting for a decision (who decides which one: requests_app/
    # approvers.py; any official may look, since department heads may have any role).
    "requests.list_extensions": is_official,
    # Ask which handlers of a department may take a request (routing).
    "requests.list_eligible_handlers": is_official,
    # --- compliance records --------------------------------------------------------------------
    # Read officials' records (interactions, gifts, asset use, declarations).
    "compliance.read_records": is_official,
    # Read the records of a whole region or the city, not only one's own.
    "compliance.oversee_records": is_inspector | is_admin,
    # --- the inspector's console -----------------------------------------------------------------
    "inspection.use_console": is_inspector | is_admin,
    "inspection.list_cases": is_inspector | is_admin,
    # Read confidential reports: inspectors only; administrators do not learn who reported whom.
    "inspection.read_reports": is_inspector,
    # --- reports and the directory ---------------------------------------------------------------
    "reports.view": is_official,
    # Create and change departments, enterprises and users.
    "officials.provision": is_admin,
    # Claim an enterprise by its credit code; its contact person once the claim is verified.
    "officials.register_enterprise": is_entrepreneur,
    # Verify or refuse claims to act for the enterprises of one's region (officials/claims.py).
    "officials.review_claims": is_liaison | is_admin,
}

for _name, _who in PERMISSIONS.items():
    rules.add_perm(_name, rules.is_authenticated & rules.is_active & _who)


def permission(name: str, message: str | None = None) -> type[BasePermission]:
    """A DRF permission class letting through whoever has the named permission."""
    if name not in PERMISSIONS:
        raise KeyError(f"no permission named {name!r}")  # a typo must not silently deny

    class Named(BasePermission):
        def has_permission(self, request, view) -> bool:
            return bool(request.user and request.user.has_perm(name))

    Named.__name__ = Named.__qualname__ = f"Has({name})"
    if message is not None:
        Named.message = message
    return Named
