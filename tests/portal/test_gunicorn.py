"""The production access log keeps no client address or browser, on any path."""

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from portal import gunicorn as settings
from portal.gunicorn import RedactingLogger

ADDRESS = "203.0.113.9"
BROWSER = "Mozilla/5.0 (Reporter's phone)"


def log_line(path: str) -> str:
    config = Config()
    config.set("access_log_format", settings.access_log_format)
    logger = RedactingLogger(config)
    environ = {
        "PATH_INFO": path,
        "RAW_URI": path,
        "REQUEST_METHOD": "POST",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "QUERY_STRING": "",
        "REMOTE_ADDR": ADDRESS,
        "HTTP_USER_AGENT": BROWSER,
        "HTTP_X_FORWARDED_FOR": ADDRESS,
    }
    request = SimpleNamespace(
        headers=[("USER-AGENT", BROWSER), ("X-FORWARDED-FOR", ADDRESS), ("HOST", "portal")]
    )
    response = SimpleNamespace(status="201 Created", sent=12, headers=[])
    atoms = logger.atoms(response, request, environ, dt.timedelta(milliseconds=7))
    return settings.access_log_format % atoms, atoms


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/reports/confidential/",
        "/confidential-report/",
        "/confidential-report/status/",
        "/static/css/qinqing.css",  # the same browser's other requests say nothing either
        "/api/v1/requests/",
    ],
)
def test_no_path_is_logged_with_address_or_browser(path):
    line, atoms = log_line(path)
    record = json.loads(line)
    assert record["path"] == path and record["status"] == 201
    assert ADDRESS not in line and BROWSER not in line
    assert ADDRESS not in atoms.values() and BROWSER not in atoms.values()
    assert "remote" not in record and "user_agent" not in record
