"""The signed checkpoints of every case history (requests_app.checkpoints), for inspectors: what
they compare an archived copy of the checkpoint log with, and verify with the public key."""

from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import ListAPIView

from core.serializers import Serializer, StrictBooleanField, StrictCharField
from requests_app import checkpoints


class CheckpointSerializer(Serializer):
    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    requests = serializers.IntegerField()
    root = StrictCharField()
    signature = StrictCharField()
    heads_sha256 = StrictCharField()
    previous = StrictCharField(allow_blank=True)
    algorithm = StrictCharField()
    public_key = StrictCharField()
    signature_ok = StrictBooleanField()


class CheckpointListView(ListAPIView):
    """The checkpoints, newest first; `signature_ok` checks each with the portal's public key."""

    serializer_class = CheckpointSerializer
    filter_backends: list = []  # a list read from the log file, not a queryset

    def list(self, request, *args, **kwargs):
        if not request.user.has_perm("requests.verify_chain"):
            raise PermissionDenied("Only discipline inspectors read the timeline checkpoints.")
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        return [
            {
                **entry,
                "at": checkpoints.at_of(entry),
                "signature_ok": checkpoints.signature_ok(entry),
            }
            for entry in reversed(checkpoints.entries())
        ]
