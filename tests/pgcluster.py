"""A throwaway PostgreSQL server on loopback, for tests and benchmarks.

Uses Debian's `postgresql` binaries (initdb, pg_ctl). PostgreSQL refuses to run as root,
so as root the server runs as the `postgres` system user. Durability is switched off: the
data lives for one run only.
"""

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.loopback import free_port

DB_USER = "wildrydes"
DB_NAME = "postgres"


def find_bin(name: str) -> str | None:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else shutil.which(name)


def available() -> bool:
    return find_bin("initdb") is not None and find_bin("pg_ctl") is not None


def _as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class Cluster:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="wildrydes-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgres://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def start(self) -> "Cluster":
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        run = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
        initdb = [find_bin("initdb"), "-D", str(self.data), "-U", DB_USER, "--auth=trust"]
        subprocess.run(_as_server_user([*initdb, "-E", "UTF8", "--no-sync"]), **run)
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200"
        )
        pg_ctl = [find_bin("pg_ctl"), "-D", str(self.data), "-o", options]
        log = ["-l", str(self.root / "server.log"), "-w", "start"]
        subprocess.run(_as_server_user([*pg_ctl, *log]), **run)
        return self

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            subprocess.run(
                _as_server_user(
                    [find_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_cluster():
    cluster = Cluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()
