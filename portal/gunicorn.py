"""gunicorn's settings for the production web process (`gunicorn -c python:portal.gunicorn`)."""

import os

from gunicorn.glogging import Logger

# Paths where a reporter may be anonymous (营商环境监测点/吹哨人): their address and browser must
# not be kept anywhere, access logs included, or "anonymous" would mean nothing.
ANONYMOUS_PATHS = ("/api/v1/reports/confidential/", "/confidential-report/")


class RedactingLogger(Logger):
    """gunicorn's logger, minus the client's address and user agent on the anonymous paths."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        if not environ.get("PATH_INFO", "").startswith(ANONYMOUS_PATHS):
            return atoms
        # Every atom that carries them: %(h)s and %(a)s, and the same values reachable through
        # request headers ({user-agent}i, {x-forwarded-for}i) and environ ({remote_addr}e).
        identifying = {
            environ.get(key)
            for key in ("REMOTE_ADDR", "HTTP_USER_AGENT", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP")
        } - {None, "", "-"}
        return {
            key: "-" if key in ("h", "a") or value in identifying else value
            for key, value in atoms.items()
        }


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# The proxy in front terminates TLS; gunicorn believes its X-Forwarded-* headers only from these.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Access log as one JSON object a line, like the application's own logs (portal/logging.py).
logger_class = RedactingLogger
accesslog = "-"
errorlog = "-"
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "remote": "%(h)s", "method": "%(m)s", '
    '"path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, '
    '"user_agent": "%(a)s"}'
)
