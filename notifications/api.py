"""API endpoints of the user's own things: /me/ and the inbox (API.md, "The user's own things")."""

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import inbox, profile
from notifications.models import Kind
from notifications.preferences import InvalidPreferences
from notifications.serializers import MeInput, MeSerializer, NotificationSerializer, ReadInput


class MeView(APIView):
    """The caller's own profile, language and message preferences."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(profile.me(request.user)).data)

    @extend_schema(request=MeInput, responses=MeSerializer)
    def patch(self, request):
        data = MeInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            changed = profile.update_me(request.user, **data.validated_data)
        except InvalidPreferences as error:  # nothing was changed: update_me is all or nothing
            raise ValidationError({"notify": error.errors}) from None
        return Response(MeSerializer(changed).data)


class InboxFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Kind.choices)
    # As the query string spells it; anything else is a 400, never a filter silently dropped.
    unread = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_unread",
        label=_("true: unread messages only"),
    )

    class Meta:
        fields: list[str] = []

    def filter_unread(self, queryset, name, value):
        return queryset.filter(read_at__isnull=True) if value == "true" else queryset


class InboxView(generics.ListAPIView):
    """The caller's messages, newest first (paginated); `?unread=true`, `?kind=`."""

    serializer_class = NotificationSerializer
    filterset_class = InboxFilter

    def get_queryset(self):
        return inbox.notifications_of(self.request.user)


class InboxReadView(APIView):
    """Mark the caller's messages read: those of `ids`, or all of them when `ids` is left out.
    Ids that are not the caller's are passed over: nobody learns whether they exist."""

    @extend_schema(
        request=ReadInput, responses={204: OpenApiResponse(description="Marked as read")}
    )
    def post(self, request):
        data = ReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        inbox.mark_all_read(by=request.user, ids=data.validated_data.get("ids"))
        return Response(status=status.HTTP_204_NO_CONTENT)
