"""The read benchmark's load run: the portal served by gunicorn (portal/gunicorn.py, 3 workers,
loopback, a free port) on the benchmark's database, driven by a bounded pool of Python threads
(no wrk needed): each thread sends one GET at a time, so at most `concurrency` are in flight."""

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What each target is: (label, role whose session it carries, path).
TARGETS = (
    ("queue /requests/", "liaison", "/requests/"),
    ("queue /requests/", "admin", "/requests/"),
    ("API list", "admin", "/api/v1/requests/"),
)


@dataclass
class Tally:
    times: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, problem: str | None) -> None:
        with self.lock:
            if problem is None:
                self.times.append(seconds)
            else:
                self.errors[problem] = self.errors.get(problem, 0) + 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int) -> subprocess.Popen:
    environment = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "3",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(  # noqa: S603 - fixed arguments, our own virtualenv
        [str(gunicorn), "-c", "python:portal.gunicorn", "portal.wsgi:application"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,  # the access log: one line a request
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            if get(port, "/health/", "")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.5)
    server.terminate()
    raise RuntimeError("gunicorn did not answer /health/ within 60 s")


def get(port: int, path: str, cookie: str) -> tuple[int, int]:
    """One GET on a new connection (gunicorn's sync workers close it after each response)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
        response = connection.getresponse()
        return response.status, len(response.read())
    finally:
        connection.close()


def session_cookies(people: dict) -> dict[str, str]:
    """A session cookie per role, made in-process (a login through the form would meet the
    login throttle; the session rows are in the same database gunicorn reads)."""
    from django.conf import settings
    from django.test import Client

    cookies = {}
    for role, user in people.items():
        client = Client()
        client.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        cookies[role] = f"{name}={client.cookies[name].value}"
    return cookies


def drive(port: int, path: str, cookie: str, seconds: float, concurrency: int) -> Tally:
    tally = Tally()
    stop = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                status, _ = get(port, path, cookie)
                problem = None if status == 200 else f"HTTP {status}"
            except OSError as error:
                problem = type(error).__name__
            tally.add(time.perf_counter() - started, problem)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[max(0, int(fraction * len(ordered) + 0.999999) - 1)] if ordered else 0.0


def load_run(people: dict, *, seconds: int, concurrency: int) -> None:
    cookies = session_cookies(people)
    port = free_port()
    server = start_gunicorn(port)
    print(
        f"\nLoad run: gunicorn, 3 workers on 127.0.0.1:{port}; {concurrency} clients, "
        f"{seconds} s a target"
    )
    print(
        f"{'target':<20} {'role':<8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  errors"
    )
    try:
        for label, role, path in TARGETS:
            get(port, path, cookies[role])  # warm each worker's first view a little
            started = time.perf_counter()
            tally = drive(port, path, cookies[role], seconds, concurrency)
            elapsed = time.perf_counter() - started
            ordered = sorted(tally.times)
            done = len(ordered) + sum(tally.errors.values())
            print(
                f"{label:<20} {role:<8} {done / elapsed:7.1f} "
                f"{percentile(ordered, 0.5) * 1000:8.1f} {percentile(ordered, 0.95) * 1000:8.1f} "
                f"{percentile(ordered, 0.99) * 1000:8.1f}  {tally.errors or 'none'}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
