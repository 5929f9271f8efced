"""`manage.py who_hears_what`: the README's "Who hears what" table, printed from the code.

The request rows come from `requests_app.notices.WHO_HEARS`, the rule itself; the rows of the
messages other modules send (the sweep, compliance, inspection, the calendar) are described in
`ELSEWHERE` and each is checked by a test of its own module. The words are the messages' own,
in English and in Chinese, with each value shown as ‹name›.
"""

import re

from django.core.management.base import BaseCommand
from django.utils import translation

from notifications.messages import MESSAGES
from requests_app.notices import AUDIENCES, CONDITIONS, WHO_HEARS

# (what happens, kind, who hears it) for the messages sent outside the request workflow.
ELSEWHERE = (
    (
        "the sweep: a clock reaches a reminder rung (催办)",
        "reminder",
        "the rung's recipients (default ladder: the liaison on the assign clock; the handler "
        "and the liaison on the answer clock)",
    ),
    (
        "the sweep: a clock breaches an escalation rung (督办)",
        "escalated",
        "the rung's recipients (default ladder: the linked leader and the liaison)",
    ),
    (
        "the sweep: a clock breaches an accountability rung (追责)",
        "accountability_opened",
        "the rung's recipients and the inspectors of the enterprise's region",
    ),
    (
        "a logged interaction or filing violates a list item",
        "finding_violation",
        "the inspectors of the record's region",
    ),
    (
        "a finding, report or flag opens an accountability case",
        "case_opened",
        "the inspectors of the case's region",
    ),
    (
        "a department's yellow flags run on and open a case",
        "flag_case_opened",
        "the inspectors of the department's region",
    ),
    (
        "a confidential report is filed",
        "report_received",
        "the inspectors of the report's region",
    ),
    (
        "the reporter adds information to a confidential report through its receipt",
        "report_added",
        "the inspectors of the report's region",
    ),
    (
        "an inspector decides a case",
        "case_decided",
        "the official concerned and the head of their department",
    ),
    (
        "from 1 November, while next year's working-day calendar is not loaded",
        "calendar_missing",
        "every administrator, once a year",
    ),
    (
        "the nightly `verify_timelines` finds a case history that does not verify",
        "timeline_tampered",
        "the inspectors of the enterprise's region, once per finding",
    ),
)

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def words(kind: str, language: str) -> str:
    message = MESSAGES[kind]
    with translation.override(language):
        text = f"**{message.subject}** — {message.body}"
    return _PLACEHOLDER.sub(r"‹\1›", text).replace("%%", "%").replace("|", "\\|")


def table() -> str:
    lines = [
        "| event | when | who hears it | kind | words (English) | words (中文) |",
        "|---|---|---|---|---|---|",
    ]
    for notice in WHO_HEARS:
        when = CONDITIONS[notice.when][0]
        who = AUDIENCES[notice.audience][0]
        lines.append(
            f"| `{notice.event}` | {when} | {who} | `{notice.kind}` | "
            f"{words(notice.kind, 'en')} | {words(notice.kind, 'zh-hans')} |"
        )
    for event, kind, who in ELSEWHERE:
        lines.append(
            f"| {event} | | {who} | `{kind}` | {words(kind, 'en')} | {words(kind, 'zh-hans')} |"
        )
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Print the table of who hears what (the README's), from the code."

    def handle(self, *args, **options):
        self.stdout.write(table(), ending="")
