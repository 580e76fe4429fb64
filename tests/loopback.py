"""Servers on 127.0.0.1 for tests, benchmarks and load runs: a free port, the project's
environment as a server, and waiting until a started server answers."""

import contextlib
import os
import secrets
import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_env: dict, **settings) -> dict:
    """The environment of the project run as a production server (DEBUG off, a fresh secret
    key) on `database_env`'s database, `settings` added."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
    env.update(database_env)
    env.update(
        DJANGO_SETTINGS_MODULE="wildrydes.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="false",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    env.update(settings)
    return env


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Poll `url` until it answers 200; fail if the server exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=2) as answer,  # noqa: S310 (loopback)
        ):
            if answer.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} within {timeout:.0f} s")
