"""Celery's worker and beat log like the web process: one JSON object a line in production.

Each process is started for real (the embedded file-system broker, a throw-away folder, no
services needed), left until it logs that it is up, stopped, and every line it wrote is parsed.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 60


def run_until(tmp_path, name: str, args: list[str], marker: str) -> list[str]:
    """Start `celery -A portal --quiet <args>` with JSON logs; stop it once `marker` shows."""
    output = tmp_path / f"{name}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "LOG_FORMAT": "json",
        "QINQING_VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": "",  # the embedded broker: this test needs no services
        "CELERY_BROKER_URL": "",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        # Celery warns, before any logging is set up, when it runs as root (a developer's
        # container); the portal's image runs as an ordinary user, so the warning is not ours.
        "PYTHONWARNINGS": "ignore:You're running the worker with superuser privileges",
    }
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "portal", "--quiet", *args],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            while marker not in output.read_text() and time.monotonic() < deadline:
                assert process.poll() is None, output.read_text()
                time.sleep(0.2)  # waiting for another process, not moving time
            assert marker in output.read_text(), output.read_text()
        finally:
            process.terminate()
            process.wait(timeout=30)
    return [line for line in output.read_text().splitlines() if line.strip()]


def parsed(lines: list[str]) -> list[dict]:
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON line: {line!r}")
    return entries


def test_the_worker_logs_one_json_object_a_line(tmp_path):
    lines = run_until(
        tmp_path,
        "worker",
        ["worker", "--pool=solo", "--without-gossip", "--without-mingle", "--loglevel=INFO"],
        " ready.",
    )
    entries = parsed(lines)
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert any(
        entry["logger"] == "celery.apps.worker" and entry["message"].endswith(" ready.")
        for entry in entries
    )


def test_beat_logs_one_json_object_a_line(tmp_path):
    lines = run_until(
        tmp_path,
        "beat",
        ["beat", "--loglevel=DEBUG", "--schedule", str(tmp_path / "beat-schedule")],
        # Not "Starting": that is logged before the scheduler is built, and Celery's own SIGTERM
        # handler, arriving in that gap on a loaded machine, builds it again mid-import and
        # prints a traceback. Beat logs this line (at DEBUG) once the scheduler exists.
        "beat: Ticking with max interval",
    )
    entries = parsed(lines)
    assert any(
        entry["logger"] == "celery.beat" and "Starting" in entry["message"] for entry in entries
    )
