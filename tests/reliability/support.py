"""Helpers for fault tests that run part of the project in another process."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() == "true"


def database_env() -> dict:
    """Environment variables that point another process at this test's database."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return {"SQLITE_PATH": str(settings["NAME"])}
    if connection.vendor == "postgresql":
        user = quote(settings["USER"] or "")
        password = f":{quote(settings['PASSWORD'])}" if settings.get("PASSWORD") else ""
        host = settings["HOST"] or "127.0.0.1"
        port = f":{settings['PORT']}" if settings.get("PORT") else ""
        return {"DATABASE_URL": f"postgres://{user}{password}@{host}{port}/{settings['NAME']}"}
    raise NotImplementedError(connection.vendor)


def child_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
    env.update(database_env())
    env.update(DJANGO_SETTINGS_MODULE="wildrydes.settings", PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def kill_once_held(script: str, args: list[str], tmp_path: Path, **env) -> None:
    """Run the project's `script` with `args` in a child process on this test's database,
    `env` added, and SIGKILL it once it has created its MARKER file (where it is held)."""
    marker, log_path = tmp_path / "held", tmp_path / "child.log"
    command = [sys.executable, str(ROOT / script), *args]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=child_env(MARKER=marker, **env),
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, f"{script} never got where it is held"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
