"""A client for the pages, in one language: the browser's Accept-Language and the language
cookie both say it (the cookie is what the switch sets), signed in as `user` when given."""

from django.test import Client


def page_client(user=None, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.cookies["django_language"] = language
    if user is not None:
        client.force_login(user)
    return client
