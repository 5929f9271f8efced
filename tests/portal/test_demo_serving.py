"""The demo: its favicon, e-mail links that follow the address it serves on, and a seed that
can run again on a seeded database."""

import io
import os
import subprocess

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from notifications.email import send_email
from notifications.models import Kind, Notification
from officials.models import User
from portal.management.commands import serve_demo
from portal.management.commands.serve_demo import site_url_for, split_addrport
from tests.conftest import at


def test_favicon_ico_answers_with_the_static_icon(client):
    """Every page's /favicon.ico used to be a 404; it now leads to an SVG the CSP allows."""
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert icon["Content-Type"].startswith("image/svg+xml")
    content = b"".join(icon.streaming_content) if icon.streaming else icon.content
    assert b"<svg" in content and b"<script" not in content


@pytest.mark.django_db
def test_pages_name_the_icon_from_the_portal_itself(client):
    page = client.get("/accounts/login/")
    assert '<link rel="icon" href="/static/favicon.svg"' in page.content.decode()
    # Same origin: the policy's img-src 'self' covers it.
    assert "img-src 'self'" in page["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("addrport", "expected"),
    [
        ("127.0.0.1:8000", ("127.0.0.1", 8000)),
        ("8123", ("127.0.0.1", 8123)),
        ("0.0.0.0:9000", ("0.0.0.0", 9000)),  # noqa: S104 - parsing, not binding
        ("localhost", ("localhost", 8000)),
        ("[::1]:8001", ("::1", 8001)),
    ],
)
def test_the_served_address_is_parsed_like_runserver_does(addrport, expected):
    assert split_addrport(addrport) == expected


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8123, "http://127.0.0.1:8123"),
        ("0.0.0.0", 9000, "http://127.0.0.1:9000"),  # noqa: S104 - every interface: the loopback
        ("demo.example", 80, "http://demo.example:80"),
        ("::1", 8001, "http://[::1]:8001"),
    ],
)
def test_the_site_url_follows_host_and_port(host, port, url):
    assert site_url_for(host, port) == url


@pytest.fixture
def no_servers(monkeypatch, settings):
    """serve_demo without starting anything: what it would start is recorded instead."""
    started: dict = {}

    class FakeWorker:
        def __init__(self, command, **kwargs):
            started["worker_env"] = dict(os.environ)
            started["worker_kwargs"] = kwargs

        def send_signal(self, signum):
            started["stopped"] = True

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakeWorker)
    monkeypatch.setattr(
        serve_demo, "call_command", lambda *args, **kwargs: started.setdefault("web", args)
    )
    # The command writes SITE_URL to the environment and the settings: both are put back.
    monkeypatch.setenv("SITE_URL", "unset")
    monkeypatch.delenv("SITE_URL")
    settings.SITE_URL = "http://127.0.0.1:8000"
    return started


@pytest.mark.django_db
def test_serve_demo_gives_the_worker_the_real_address_for_e_mail_links(no_servers, settings, cast):
    """With PORT=8123 the e-mails the worker renders link to port 8123, not 8000."""
    out = io.StringIO()
    call_command("serve_demo", "127.0.0.1:8123", stdout=out)
    assert no_servers["web"] == ("runserver", "127.0.0.1:8123")
    assert no_servers["worker_env"]["SITE_URL"] == "http://127.0.0.1:8123"
    assert no_servers["stopped"]
    # The worker's settings read SITE_URL; so does this process's.
    assert settings.SITE_URL == "http://127.0.0.1:8123"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cast.alice.email = "alice@example.com"
    cast.alice.save()
    note = Notification.objects.create(
        recipient=cast.alice, kind=Kind.REQUEST_ASSIGNED, subject="s", body="t", link="/requests/1/"
    )
    send_email(note)
    assert "http://127.0.0.1:8123/requests/1/" in mail.outbox[0].body


@pytest.mark.django_db
def test_an_explicit_site_url_wins(no_servers, monkeypatch):
    monkeypatch.setenv("SITE_URL", "https://qinqing.example")
    call_command("serve_demo", "0.0.0.0:8123", stdout=io.StringIO())  # noqa: S104
    assert no_servers["worker_env"]["SITE_URL"] == "https://qinqing.example"


@pytest.mark.django_db
def test_with_a_log_dir_the_terminal_gets_a_banner_and_the_worker_a_log_file(
    no_servers, tmp_path, monkeypatch
):
    monkeypatch.setattr(serve_demo.Command, "_redirect_output", lambda self, path: None)
    out = io.StringIO()
    call_command("serve_demo", "127.0.0.1:0", "--log-dir", str(tmp_path), stdout=out)
    banner = out.getvalue()
    assert "http://127.0.0.1:0/" in banner
    assert "inspector1" in banner and "qinqing-demo" in banner
    assert str(tmp_path / "web.log") in banner
    assert no_servers["worker_kwargs"]["stdout"].name == str(tmp_path / "worker.log")


def test_a_busy_port_is_said_before_the_output_goes_to_a_file(tmp_path):
    import socket

    from django.core.management.base import CommandError

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match="Cannot listen"):
            serve_demo.Command()._check_port("127.0.0.1", port)


@pytest.mark.django_db
def test_the_seed_runs_again_on_a_seeded_database_and_changes_nothing():
    """`make demo` seeds on every start, and `make demo-reset` seeds after dropping the data."""
    with time_machine.travel(at("2026-11-21 10:00"), tick=False):
        call_command("seed_demo", requests=3, stdout=io.StringIO())
        users = User.objects.count()
        again = io.StringIO()
        call_command("seed_demo", requests=3, stdout=again)
    assert "leaves it as it is" in again.getvalue()
    assert "Demo logins (password for all: qinqing-demo)" in again.getvalue()
    assert User.objects.count() == users
