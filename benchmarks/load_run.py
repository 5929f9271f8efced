"""The read benchmark's load run: the portal served by gunicorn (portal/gunicorn.py, 3 workers,
loopback, a free port) on the benchmark's database, driven by `wrk` when it is installed
(Debian's package: a C client, which leaves the two cores to the server) or else by a bounded
pool of Python threads: each sends one GET at a time, so at most `concurrency` are in flight.
The Python client costs about as much CPU per request as a light page, on the same cores."""

import http.client
import os
import re
import shutil
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
    # The queue at the page size it had before the reader chose one (core.pagination).
    ("queue, 50 rows", "liaison", "/requests/?page_size=50"),
    ("queue, 50 rows", "admin", "/requests/?page_size=50"),
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
        # Kept connections, as production keeps them (portal/settings.py: 60 s there, 0 in
        # development): a new PostgreSQL backend per request would be timed otherwise.
        "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
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


WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def drive_wrk(port: int, path: str, cookie: str, seconds: float, concurrency: int) -> dict:
    """The same load from wrk: requests/s, p50/p95/p99 (s) and the errors it counted."""
    wrk = shutil.which("wrk")
    output = subprocess.run(  # noqa: S603 - fixed arguments
        [
            wrk,
            "-t",
            "2",
            "-c",
            str(concurrency),
            "-d",
            f"{int(seconds)}s",
            "--latency",
            "-s",
            str(ROOT / "benchmarks" / "wrk_percentiles.lua"),
            "-H",
            f"Cookie: {cookie}",
            "-H",
            "Host: 127.0.0.1",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for name in ("p50", "p95", "p99"):
        value, unit = re.search(rf"^{name} ([0-9.]+)(us|ms|s)$", output, re.M).groups()
        found[name] = float(value) * WRK_UNITS[unit]
    found["rate"] = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))
    errors = {}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if bad:
        errors["not 2xx/3xx"] = int(bad.group(1))
    sockets = re.search(r"Socket errors: (.*)", output)
    if sockets:
        errors["socket"] = sockets.group(1)
    found["errors"] = errors
    return found


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[max(0, int(fraction * len(ordered) + 0.999999) - 1)] if ordered else 0.0


def load_run(people: dict, *, seconds: int, concurrency: int) -> None:
    cookies = session_cookies(people)
    port = free_port()
    server = start_gunicorn(port)
    client = "wrk" if shutil.which("wrk") else "Python threads"
    print(
        f"\nLoad run: gunicorn, 3 workers on 127.0.0.1:{port}; {concurrency} clients "
        f"({client}), {seconds} s a target"
    )
    print(
        f"{'target':<20} {'role':<8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  errors"
    )
    try:
        for label, role, path in TARGETS:
            status, _ = get(port, path, cookies[role])  # warm each worker a little
            if status != 200:  # wrk would count a redirect to the login page as an answer
                raise RuntimeError(f"{path} as {role} answered {status}")
            if client == "wrk":
                found = drive_wrk(port, path, cookies[role], seconds, concurrency)
                print(
                    f"{label:<20} {role:<8} {found['rate']:7.1f} {found['p50'] * 1000:8.1f} "
                    f"{found['p95'] * 1000:8.1f} {found['p99'] * 1000:8.1f}  "
                    f"{found['errors'] or 'none'}",
                    flush=True,
                )
                continue
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
