"""Bulk actions of the queue: the same assignment or transfer for many requests at once.

Each request runs the one workflow (requests_app.workflow.transition) in its own transaction,
exactly as if its own form had been sent: a request that may not take the action (another
state, another department, a conflict of interest) is left as it was and named in the
outcome, and the others go ahead. Nothing is done for a request the user may not see.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from core.errors import InvalidInput, InvalidTransition, NotPermitted
from core.forms import flatten_errors
from requests_app import workflow
from requests_app.selectors import requests_visible_to

BULK_ACTIONS = ("assign", "transfer")
BULK_MAX = 100  # two pages of the queue: a bigger batch is a data migration, not a click


@dataclass
class Outcome:
    done: list[str] = field(default_factory=list)  # references
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (reference, why)


def bulk_act(user, action: str, ids: list[int], payload: dict) -> Outcome:
    """Apply `action` with the same validated `payload` to each of `ids` the user may see."""
    outcome = Outcome()
    visible = requests_visible_to(user).filter(pk__in=ids).order_by("pk")
    for service_request in visible:
        reference = service_request.reference or f"#{service_request.pk}"
        try:
            workflow.check(service_request, action, user)
            workflow.transition(service_request.pk, action, by=user, **payload)
        except NotPermitted:
            outcome.skipped.append((reference, _("you may not do this to it")))
        except InvalidTransition as error:
            outcome.skipped.append((reference, str(error)))
        except InvalidInput as error:
            reasons = flatten_errors(error.errors).values()
            outcome.skipped.append((reference, " ".join(m for ms in reasons for m in ms)))
        else:
            outcome.done.append(reference)
    return outcome
