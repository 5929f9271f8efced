"""API tokens that expire (`Authorization: Token <token>`, API.md).

DRF's token model keeps its creation time, so expiry needs no table of its own: a token is good
for `API_TOKEN_TTL` after it was made. Logging in again returns the same token until it expires,
then a new one; `POST /api/v1/auth/token/revoke/` (portal/tokens.py) deletes it at once.

Kept apart from the views: DRF imports the authentication class while its views module loads.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed


def expires_at(token: Token) -> dt.datetime:
    return token.created + settings.API_TOKEN_TTL


def is_expired(token: Token, now: dt.datetime | None = None) -> bool:
    return (now or timezone.now()) >= expires_at(token)


def issue(user) -> Token:
    """The user's token: the current one while it is good, else a new one."""
    token = Token.objects.filter(user=user).first()
    if token is not None and is_expired(token):
        token.delete()
        token = None
    if token is None:
        token = Token.objects.create(user=user)
    return token


class ExpiringTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing (401) a token older than API_TOKEN_TTL."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if is_expired(token):
            token.delete()  # of no use any more; logging in makes a new one
            raise AuthenticationFailed(_("The token has expired. Log in again for a new one."))
        return user, token
