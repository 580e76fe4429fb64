"""`make test`: the whole suite on SQLite, then again on a real PostgreSQL.

PostgreSQL comes from DATABASE_URL when set, else from a throwaway server started on
loopback with Debian's binaries, reached through a PgBouncer in transaction pooling mode
(tests/pgcluster.py), as the Lambda reaches RDS through RDS Proxy. Where neither can be
had the PostgreSQL pass is skipped loudly, and without pgbouncer it runs direct, loudly;
in CI (CI=true) either is a failure.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import pgcluster  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"
NO_TESTS_COLLECTED = 5


def pytest(args: list[str], env: dict) -> int:
    cmd = [sys.executable, "-m", "pytest", *args]
    print("\n$ " + " ".join(cmd), flush=True)
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    if code == NO_TESTS_COLLECTED:
        print("(no tests selected in this pass)")
        return 0
    return code


APPS = ["accounts", "bi", "core", "events", "frontend", "notifications", "payment_lists",
        "payments", "promos", "rides", "wildrydes"]  # fmt: skip


def static_checks() -> int:
    """Lint, security lint (high severity fails) and known vulnerabilities in the lock."""
    bin_dir = Path(sys.executable).parent
    checks = [
        [str(bin_dir / "ruff"), "check", "."],
        [str(bin_dir / "bandit"), "-q", "-r", *APPS, "--severity-level", "high"],
    ]
    failed = 0
    for cmd in checks:
        print("\n$ " + " ".join([Path(cmd[0]).name, *cmd[1:]]), flush=True)
        failed |= subprocess.call(cmd, cwd=ROOT)
    return failed | audit_dependencies(bin_dir)


def audit_dependencies(bin_dir: Path) -> int:
    """pip-audit of the production lock: a known vulnerability fails the run."""
    cmd = [str(bin_dir / "pip-audit"), "--disable-pip", "--no-deps", "--progress-spinner", "off",
           "-r", "requirements/prod.txt"]  # fmt: skip
    print("\n$ " + " ".join([Path(cmd[0]).name, *cmd[1:]]), flush=True)
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    skipped = result.stdout.count("could not be audited")
    if result.returncode != 0:
        print(result.stdout, result.stderr)
        return result.returncode
    print("pip-audit: no known vulnerabilities found.")
    if skipped:
        print(f"WARNING: {skipped} packages could not be audited: no vulnerability database "
              "answered from this network (PyPI JSON API / OSV).")  # fmt: skip
    return 0


def install_asl_harness() -> None:
    """The state machine's ASL interpreter (tests/stepfunctions), as package-lock.json pins
    it, when npm is there and it is not installed yet. Without it those tests are skipped
    loudly (a failure in CI, where .ci/run installs it first)."""
    folder = ROOT / "tests" / "stepfunctions"
    npm = shutil.which("npm")
    if npm is None or (folder / "node_modules").is_dir():
        return
    print("\n$ npm ci --prefix tests/stepfunctions", flush=True)
    if subprocess.call([npm, "ci", "--prefix", str(folder), "--no-audit", "--no-fund"]) != 0:
        print("WARNING: npm ci failed; the ASL interpreter tests will be skipped.")


def main(extra: list[str]) -> int:
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    print("=== Static checks: ruff, bandit, pip-audit ===", flush=True)
    static_code = static_checks()
    install_asl_harness()
    print("=== Pass 1: SQLite ===", flush=True)
    sqlite_code = pytest(["-n", "2", "--dist", "loadgroup", *extra], base_env)

    print("\n=== Pass 2: PostgreSQL ===", flush=True)
    pg_args = ["-n", "2", "--dist", "loadgroup", "-m", "not browser and not package", *extra]
    if os.environ.get("DATABASE_URL"):
        pg_code = pytest(pg_args, dict(os.environ))
    elif pgcluster.available() and pgcluster.pgbouncer_bin():
        # Through PgBouncer in transaction mode, as Lambda reaches RDS through RDS Proxy.
        # The throwaway cluster goes with its databases: no test database to drop behind
        # the pooler's server connections (--reuse-db).
        with pgcluster.running_cluster() as cluster, pgcluster.running_bouncer(cluster) as pool:
            print(f"PostgreSQL started on 127.0.0.1:{cluster.port}, PgBouncer (transaction "
                  f"mode, {pool.pool_size} server connections per database) on "
                  f"127.0.0.1:{pool.port}", flush=True)  # fmt: skip
            pg_code = pytest([*pg_args, "--reuse-db"], {**base_env, "DATABASE_URL": pool.url})
    elif pgcluster.available() and IN_CI:
        print("FAIL: CI=true but no pgbouncer binary (apt-get install pgbouncer).")
        pg_code = 1
    elif pgcluster.available():
        print("!" * 78)
        print("No pgbouncer found: the PostgreSQL pass runs WITHOUT the pooler.")
        print("Install Debian's 'pgbouncer' package to run it as CI does.")
        print("!" * 78)
        with pgcluster.running_cluster() as cluster:
            print(f"PostgreSQL started on 127.0.0.1:{cluster.port}", flush=True)
            pg_code = pytest(pg_args, {**base_env, "DATABASE_URL": cluster.url})
    elif IN_CI:
        print("FAIL: CI=true but no PostgreSQL server binaries (apt-get install postgresql).")
        pg_code = 1
    else:
        print("!" * 78)
        print("SKIPPED the PostgreSQL pass: no DATABASE_URL and no initdb/pg_ctl found.")
        print("Install Debian's 'postgresql' package to run it.")
        print("!" * 78)
        pg_code = 0
    return static_code or sqlite_code or pg_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
