"""Attachments: what may be uploaded (judged by content, not by name) and storing them."""

import hashlib

import filetype
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import InvalidInput, UploadTooLarge
from officials.models import Role
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


# Who may add files: the enterprise and the officials working the request, while it is open.
ATTACH_ROLES = frozenset({Role.ENTREPRENEUR, Role.LIAISON, Role.HANDLER, Role.ADMIN})


def may_attach(request: ServiceRequest, user) -> bool:
    return user.role in ATTACH_ROLES and request.status in OPEN_STATUSES


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


def add_attachment(request: ServiceRequest, *, by, upload) -> Attachment:
    """Check and store one uploaded file, and put it on the request's timeline."""
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
    now = timezone.now()
    with transaction.atomic():
        locked = ServiceRequest.objects.select_for_update().get(pk=request.pk)
        attachment = Attachment(
            request=locked,
            original_name=(upload.name or "file")[:255],
            content_type=content_type,
            size=upload.size,
            sha256=digest.hexdigest(),
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
