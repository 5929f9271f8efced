"""The token endpoints' views: the login answer's shape and revoking (core/tokens.py expires)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.serializers import Serializer, StrictCharField
from core.tokens import expires_at, issue

__all__ = ["RevokeTokenView", "TokenAnswer", "expires_at", "issue"]


class TokenAnswer(Serializer):
    token = StrictCharField()
    expires_at = serializers.DateTimeField()


class RevokeTokenView(APIView):
    """`POST` ends the caller's token → 204; the next call with it answers 401."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: OpenApiResponse(description="Token revoked.")})
    def post(self, request):
        # A session caller (the browsable pages) ends the token of their account as well.
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
