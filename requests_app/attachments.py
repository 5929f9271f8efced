"""Attachments: what may be uploaded (judged by content, not by name) and storing them."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import filetype
from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidInput, UploadTooLarge
from requests_app.models import OPEN_STATUSES, Attachment, ServiceRequest
from requests_app.timeline import append_event

# Detected by magic numbers (the `filetype` library).
ALLOWED_MIME = {
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/tiff",
    "image/heic",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
}
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office (.doc/.xls/.ppt) container
_SNIFF_BYTES = 8192
# What a file picker offers first; what is accepted is still judged by content.
ACCEPT = (
    ".pdf,.jpg,.jpeg,.png,.gif,.webp,.bmp,.tif,.tiff,.heic,.doc,.docx,.xls,.xlsx,.ppt,.pptx,"
    ".odt,.ods,.odp,.rtf,.txt"
)
T = TypeVar("T")
# Files one form may carry; settings.REQUEST_MAX_BYTES leaves room for this many at full size.
MAX_FILES = 10


# Shown in the page rather than downloaded: images the browser draws as images (no SVG, which
# can carry script), and PDFs, opened in the browser's own viewer. Everything else downloads.
PREVIEW_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
PREVIEWABLE = PREVIEW_IMAGES | {"application/pdf"}


def may_attach(request: ServiceRequest, user) -> bool:
    """Whether the user may add files to this request: their role may, and it is still open."""
    return user.has_perm("requests.attach") and request.status in OPEN_STATUSES


def sniff(head: bytes, name: str) -> str | None:
    """The content type of a file from its first bytes, or None if it is not allowed."""
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime if kind.mime in ALLOWED_MIME else None
    if head.startswith(_OLE2):
        return {"xls": "application/vnd.ms-excel", "ppt": "application/vnd.ms-powerpoint"}.get(
            name.rsplit(".", 1)[-1].lower(), "application/msword"
        )
    if _is_text(head):
        return "text/plain"
    return None


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The sniffed prefix may cut a multi-byte character in two; only that is forgiven.
        if error.start < len(head) - 3:
            try:
                head.decode("gb18030")
            except UnicodeDecodeError:
                return False
    return True


@dataclass(frozen=True)
class CheckedUpload:
    content_type: str
    sha256: str


def check_upload(upload) -> CheckedUpload:
    """Judge one uploaded file (size, then kind by content) and digest it; raises UploadTooLarge
    or InvalidInput on "file". Shared with the evidence of confidential reports."""
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        raise UploadTooLarge
    if upload.size == 0:
        raise InvalidInput({"file": [_("The file is empty.")]})
    upload.seek(0)
    head = upload.read(_SNIFF_BYTES)
    content_type = sniff(head, upload.name or "")
    if content_type is None:
        raise InvalidInput(
            {
                "file": [
                    _(
                        "This kind of file is not accepted. Upload a PDF, an image, "
                        "an office document or plain text."
                    )
                ]
            }
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return CheckedUpload(content_type=content_type, sha256=digest.hexdigest())


def add_attachment(request: ServiceRequest, *, by, upload) -> Attachment:
    """Check and store one uploaded file, and put it on the request's timeline."""
    checked = check_upload(upload)
    now = timezone.now()
    with transaction.atomic():
        locked = ServiceRequest.objects.select_for_update().get(pk=request.pk)
        attachment = Attachment(
            request=locked,
            original_name=(upload.name or "file")[:255],
            content_type=checked.content_type,
            size=upload.size,
            sha256=checked.sha256,
            uploaded_by=by,
            uploaded_at=now,
        )
        attachment.file.save("upload", upload, save=False)
        # If the transaction fails after this point the stored file is an orphan, never a
        # dangling row; orphans are harmless and can be swept.
        attachment.save()
        append_event(
            locked,
            action="attachment_added",
            actor=by,
            now=now,
            from_status=locked.status,
            note=attachment.original_name,
            data={"attachment": attachment.pk, "sha256": attachment.sha256},
        )
    return attachment


# --- the files of a page form --------------------------------------------------------------------


def check_uploads(files) -> list[str]:
    """What is wrong with a form's files, each named: too many, too large, empty, wrong kind.

    Run before anything is created, so the page can show it next to the other fields' errors.
    """
    if len(files) > MAX_FILES:
        return [_("Attach at most %(n)d files.") % {"n": MAX_FILES}]
    problems = []
    limit = filesizeformat(settings.ATTACHMENT_MAX_BYTES)
    for upload in files:
        name = upload.name or "file"
        if upload.size > settings.ATTACHMENT_MAX_BYTES:
            problems.append(
                _("“%(name)s” is larger than the %(limit)s limit.") % {"name": name, "limit": limit}
            )
            continue
        if upload.size == 0:
            problems.append(_("“%(name)s” is empty.") % {"name": name})
            continue
        upload.seek(0)
        head = upload.read(_SNIFF_BYTES)
        upload.seek(0)
        if sniff(head, name) is None:
            problems.append(
                _(
                    "“%(name)s” is not an accepted kind of file. Upload a PDF, an image, "
                    "an office document or plain text."
                )
                % {"name": name}
            )
    return problems


def store_all(files, store_one: Callable[[Any], T]) -> list[T]:
    """Store a form's files with `store_one(upload)`, all or none; what is wrong raises
    InvalidInput with the problems under "files", the form field's name. Shared with the
    evidence of confidential reports."""
    if problems := check_uploads(files):
        raise InvalidInput({"files": problems})
    try:
        # One transaction: a file refused while storing takes the others back with it (and,
        # when filing, the new request too, whose transaction this joins).
        with transaction.atomic():
            return [store_one(upload) for upload in files]
    except UploadTooLarge:
        limit = filesizeformat(settings.ATTACHMENT_MAX_BYTES)
        raise InvalidInput({"files": [_("A file is larger than the %s limit.") % limit]}) from None
    except InvalidInput as error:
        raise InvalidInput({"files": error.errors.get("file", [])}) from None


def store_uploads(request: ServiceRequest, *, by, files) -> list[Attachment]:
    """Store a form's files on the request, all or none (`store_all`)."""
    return store_all(files, lambda upload: add_attachment(request, by=by, upload=upload))
