"""gunicorn's settings for the production web process (`gunicorn -c python:portal.gunicorn`)."""

import os

from gunicorn.glogging import Logger

# Headers that carry the client's address or software, as gunicorn's request lists them.
_CLIENT_HEADERS = {"USER-AGENT", "X-FORWARDED-FOR", "X-REAL-IP", "FORWARDED"}


class RedactingLogger(Logger):
    """gunicorn's logger, minus the client's address and user agent on every path.

    Not even a pseudonym is logged: the browser that files an anonymous report also fetches the
    page's styles and script, and a client identifier on those lines, matched with its visits to
    pages only one enterprise can see, would undo the anonymity. (Login throttling keeps its own
    pseudonyms of the day in the cache, core/clients.py; logs need none.)
    """

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        identifying = {
            environ.get(key)
            for key in ("REMOTE_ADDR", "HTTP_USER_AGENT", "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP")
        } | {value for name, value in getattr(req, "headers", ()) if name in _CLIENT_HEADERS}
        identifying -= {None, "", "-"}
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
    '{"time": "%(t)s", "logger": "gunicorn.access", "method": "%(m)s", '
    '"path": "%(U)s", "status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s}'
)
