"""A throwaway PostgreSQL server on loopback, for tests and benchmarks, and a PgBouncer
in front of it.

Uses Debian's `postgresql` binaries (initdb, pg_ctl) and `pgbouncer`. Neither runs as
root, so as root they run as the `postgres` system user. Durability is switched off: the
data lives for one run only. The server's time zone is UTC, as on RDS, so Django never
sends a session-level `SET TIME ZONE` (which a pooler would not keep, and which pins an RDS
Proxy connection).
"""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.loopback import free_port

DB_USER = "wildrydes"
DB_NAME = "postgres"


def find_bin(name: str) -> str | None:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else shutil.which(name)


def available() -> bool:
    return find_bin("initdb") is not None and find_bin("pg_ctl") is not None


def pgbouncer_bin() -> str | None:
    return shutil.which("pgbouncer") or next(
        (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(path)),
        None,
    )


def as_server_user(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class Cluster:
    def __init__(self, **settings):
        """`settings`: server settings given on top of the defaults below (`-c name=value`)."""
        self.settings = settings
        self.root = Path(tempfile.mkdtemp(prefix="wildrydes-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgres://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"

    def start(self) -> "Cluster":
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        run = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
        initdb = [find_bin("initdb"), "-D", str(self.data), "-U", DB_USER, "--auth=trust"]
        subprocess.run(as_server_user([*initdb, "-E", "UTF8", "--no-sync"]), **run)
        self.start_server()
        return self

    def start_server(self) -> None:
        """The server on this data directory (again, after a stop: same port and options)."""
        run = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c max_connections=200 -c timezone=UTC"
        ) + "".join(f" -c {name}={value}" for name, value in self.settings.items())
        pg_ctl = [find_bin("pg_ctl"), "-D", str(self.data), "-o", options]
        log = ["-l", str(self.root / "server.log"), "-w", "start"]
        subprocess.run(as_server_user([*pg_ctl, *log]), **run)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
            subprocess.run(
                as_server_user(
                    [find_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
                ),
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_cluster(**settings):
    cluster = Cluster(**settings).start()
    try:
        yield cluster
    finally:
        cluster.stop()


# Fewer server connections per database than the clients the tests open (two xdist
# workers, threads of the concurrency tests, child processes), so clients really queue
# for a server connection and consecutive transactions of one client land on different
# server connections, as behind RDS Proxy.
POOL_SIZE = 3


class Bouncer:
    """PgBouncer on loopback in transaction pooling mode, in front of `cluster`.

    Every database name is passed through (`*`), so the test databases that pytest-django
    creates (`test_postgres_gw0`, ...) are pooled like the real one.
    """

    def __init__(self, cluster: Cluster, pool_size: int = POOL_SIZE):
        self.cluster = cluster
        self.pool_size = pool_size
        self.root = Path(tempfile.mkdtemp(prefix="wildrydes-pgbouncer-"))
        self.port = free_port()
        self.url = f"postgres://{DB_USER}@127.0.0.1:{self.port}/{DB_NAME}"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Bouncer":
        (self.root / "userlist.txt").write_text(f'"{DB_USER}" ""\n')
        config = self.root / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={self.cluster.port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.root / 'userlist.txt'}\n"
            f"admin_users = {DB_USER}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\nmin_pool_size = 0\nreserve_pool_size = 0\n"
            "max_client_conn = 500\n"
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.root / 'pgbouncer.log'}\n"
            "log_connections = 0\nlog_disconnections = 0\n"
            "query_wait_timeout = 60\n"
        )
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            for path in self.root.iterdir():
                shutil.chown(path, "postgres")
        command = as_server_user([pgbouncer_bin(), "-q", str(config)])
        with open(self.root / "stderr.log", "wb") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = (self.root / "stderr.log").read_text(errors="replace")
                raise RuntimeError(f"pgbouncer exited with {self.process.returncode}: {error}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return self
            time.sleep(0.05)
        raise RuntimeError("pgbouncer did not listen within 15 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_bouncer(cluster: Cluster, pool_size: int = POOL_SIZE):
    bouncer = Bouncer(cluster, pool_size).start()
    try:
        yield bouncer
    finally:
        bouncer.stop()
