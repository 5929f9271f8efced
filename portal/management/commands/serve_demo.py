"""`manage.py serve_demo`: the embedded portal — web server, plus one Celery worker running beat.

The worker uses the broker the settings name (kombu's file-system transport when REDIS_URL is
not set), so the deadline sweep runs every minute in a demo with no services installed. The
beat runs inside this single worker (-B): exactly one beat.

The worker renders the e-mails, so it is given the address this server really listens on
(SITE_URL, unless the environment sets one): links in e-mails follow HOST and PORT. With
--log-dir the terminal shows a short banner and the servers write to log files instead.
"""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from portal.demo.logins import login_lines

# Listening on every interface is not an address a browser can open: links use the loopback.
_ANY_ADDRESS = {
    "0.0.0.0": "127.0.0.1",  # noqa: S104 - a name looked up, nothing bound
    "": "127.0.0.1",
    "::": "::1",
    "0": "127.0.0.1",
}


def split_addrport(addrport: str) -> tuple[str, int]:
    """(host, port) from runserver's "port", "host", "host:port" or "[v6]:port"."""
    if addrport.isdigit():
        return "127.0.0.1", int(addrport)
    if addrport.startswith("["):
        host, _, rest = addrport[1:].partition("]")
        port = rest.lstrip(":")
    elif addrport.count(":") == 1:
        host, port = addrport.split(":")
    else:  # a host alone, or a bare IPv6 address
        host, port = addrport, ""
    return host or "127.0.0.1", int(port or 8000)


def site_url_for(host: str, port: int) -> str:
    """The base URL of e-mail links for a server listening on host:port."""
    host = _ANY_ADDRESS.get(host, host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class Command(BaseCommand):
    help = "Serve the portal and run one Celery worker with beat beside it (embedded mode)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true", help="Serve pages only.")
        parser.add_argument(
            "--log-dir",
            default="",
            help="Write the web server's and the worker's output to web.log and worker.log "
            "in this folder, and show only a banner.",
        )

    def handle(self, *args, addrport: str, no_worker: bool, log_dir: str, **options):
        try:
            host, port = split_addrport(addrport)
        except ValueError:
            raise CommandError(f"{addrport!r} is not an address and port.") from None
        # An explicit SITE_URL (a proxy, a public name) wins; otherwise the real address.
        site_url = os.environ.get("SITE_URL") or site_url_for(host, port)
        os.environ["SITE_URL"] = site_url
        settings.SITE_URL = site_url
        logs = Path(log_dir) if log_dir else None
        if logs is not None:
            logs.mkdir(parents=True, exist_ok=True)
            # With the output in a file, a busy port would fail unseen: say it here.
            self._check_port(host, port)
            self._banner(site_url, logs, worker=not no_worker)
        worker = None if no_worker else self._start_worker(logs)
        # SIGTERM would end this process without unwinding; turn it into an exit so the
        # `finally` below stops the worker too.
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
        terminal = None
        try:
            if logs is not None:
                terminal = self._redirect_output(logs / "web.log")
            # No autoreloader: it would start the server twice, and this command owns a child.
            call_command("runserver", addrport, use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            if worker is not None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
            if terminal is not None:
                os.write(terminal, b"\nThe demo has stopped.\n")

    def _check_port(self, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host or "127.0.0.1", port))
            except OSError as error:
                raise CommandError(
                    f"Cannot listen on {host}:{port} ({error.strerror}). "
                    "Is another server running? Choose another port: make demo PORT=8001"
                ) from None

    def _banner(self, site_url: str, logs: Path, *, worker: bool) -> None:
        lines = [
            "",
            f"Qinqing demo: {site_url}/",
            f"Anonymous reports: {site_url}/confidential-report/",
            "",
            *login_lines(),
            "",
            f"E-mails are written to {settings.EMAIL_FILE_PATH}/ (links open {site_url}).",
            f"Logs: {logs / 'web.log'}" + (f", {logs / 'worker.log'}" if worker else ""),
            "Stop with Ctrl-C.",
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()

    def _redirect_output(self, path: Path) -> int:
        """Send this process's stdout and stderr (runserver's banner and request log) to a file;
        return a descriptor of the terminal, to say goodbye on."""
        sys.stdout.flush()
        sys.stderr.flush()
        terminal = os.dup(1)
        log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        # At the descriptor level: the logging handlers hold sys.stderr's stream already.
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        return terminal

    def _start_worker(self, logs: Path | None) -> subprocess.Popen:
        schedule = str(settings.CELERY_BEAT_SCHEDULE_FILENAME)
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--beat",
            "--schedule",
            schedule,
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if logs is None:
            broker = settings.CELERY_BROKER_URL
            self.stdout.write(f"Starting the Celery worker with beat ({broker}).")
            return subprocess.Popen(command)  # noqa: S603 - fixed arguments, no shell
        with open(logs / "worker.log", "ab") as output:
            # The child keeps its own copy of the descriptor; ours closes with the block.
            return subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                command, stdout=output, stderr=subprocess.STDOUT
            )
