"""Fixtures of the request app's tests: the Django admin's superuser administrator, and a logged-in
client speaking the language a test asks for."""

import pytest
from django.test import Client

from officials.models import Role
from tests.factories import UserFactory


@pytest.fixture
def root(cast):
    return UserFactory(username="root", role=Role.ADMIN, is_staff=True, is_superuser=True)


def admin_client(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language
    client.force_login(user)
    return client
