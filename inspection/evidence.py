"""Evidence sent with a confidential report or an addition to it, and the additions themselves.

Files are judged and stored by the request attachments' code (requests_app.attachments: size,
kind by content, digest, all or none), but kept without what could point at the reporter: no
uploader, no original file name (stored under a random name, downloaded under a neutral one),
and for an anonymous report the day only, also on the stored file's modification time.
"""

import datetime as dt
import os

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.models import (
    ConfidentialReport,
    ReportAddition,
    ReportEvidence,
    ReportKind,
    ReportStatus,
)
from core import errors as core_errors
from inspection import selectors
from inspection.errors import Conflict, InvalidInput
from notifications import messages
from officials.selectors import inspectors_of
from requests_app.attachments import check_upload, store_all


def kept_time(report: ConfidentialReport, now: dt.datetime) -> dt.datetime:
    """The time kept of something sent for `report`: to the day when the report is anonymous."""
    if not report.anonymous:
        return now
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def store_evidence(
    report: ConfidentialReport, files, *, at: dt.datetime, addition: ReportAddition | None = None
) -> list[ReportEvidence]:
    """Store the files on the report, all or none; problems raise InvalidInput on "files"."""

    def store_one(upload) -> ReportEvidence:
        checked = check_upload(upload)
        evidence = ReportEvidence(
            report=report,
            addition=addition,
            content_type=checked.content_type,
            size=upload.size,
            sha256=checked.sha256,
            added_at=at,
        )
        evidence.file.save("evidence", upload, save=False)
        _blur_file_time(evidence, at)
        evidence.save()
        return evidence

    try:
        return store_all(files, store_one)
    except core_errors.InvalidInput as error:
        raise InvalidInput(error.errors) from None


def _blur_file_time(evidence: ReportEvidence, at: dt.datetime) -> None:
    """Set the stored file's modification time to the time kept: the exact upload time would
    otherwise survive in the file system and in every backup of it."""
    try:
        path = evidence.file.path
    except NotImplementedError:  # a storage without local paths keeps its own times
        return
    stamp = at.timestamp()
    os.utime(path, (stamp, stamp))


def add_to_report(*, receipt: str, text: str, files=()) -> ReportAddition:
    """Add text and/or files to the report the receipt opens. Nothing about the sender is kept.

    A wrong receipt raises ConfidentialReport.DoesNotExist (404) and changes nothing; a closed
    report takes no more (409): its inquiry is over.
    """
    text = text.strip()
    if not text and not files:
        raise InvalidInput({"text": [_("Write something or attach a file.")]})
    with transaction.atomic():
        report = selectors.reports_by_receipt(receipt).select_for_update().first()
        if report is None:
            raise ConfidentialReport.DoesNotExist
        if report.status == ReportStatus.CLOSED:
            raise Conflict(
                _("The report is closed: it takes no more information."),
                code="invalid_transition",
                status=report.status,
            )
        at = kept_time(report, timezone.now())
        addition = ReportAddition.objects.create(report=report, text=text, created_at=at)
        store_evidence(report, files, at=at, addition=addition)
        _tell_inspectors(report, at)
    return addition


def _tell_inspectors(report: ConfidentialReport, at: dt.datetime) -> None:
    """The region's inspectors learn that the report has more, through their usual inbox (and
    e-mail, as each chose for this kind). The message names the report and its kind only:
    nothing of what was added, nor of who sent it; its time is the addition's kept time (to
    the day for an anonymous report)."""
    messages.save_and_send(
        messages.build(
            inspectors_of(report.region),
            "report_added",
            {"kind": ReportKind(report.kind).label, "number": report.pk},
            link=reverse("inspector:report", args=[report.pk]),
            now=at,
        )
    )
