"""`make test`: the whole suite on SQLite, then again on a real PostgreSQL.

PostgreSQL comes from DATABASE_URL when set, else from a throwaway server started on
loopback with Debian's binaries, reached through a PgBouncer in transaction pooling mode
(tests/pgcluster.py), as the Lambda reaches RDS through RDS Proxy. Where neither can be
had the PostgreSQL pass is skipped loudly, and without pgbouncer it runs direct, loudly;
in CI (CI=true) either is a failure.

The passes and the static checks run at the same time: on its own the SQLite pass keeps
two cores only about half busy (its browser, package and deploy tests mostly wait on
Chromium, the Lambda child process and moto), and the PostgreSQL pass fills the rest. The
browser tests (tests/browser, on SQLite) are a pass of their own, started with the others:
they wait on Chromium from the start of the run instead of being handed out last. The
SQLite pass prints as it goes; the browser pass, the PostgreSQL pass and the checks print
when they end.
The PostgreSQL pass runs only the tests that use Django's test database
(`--database-tests-only`, tests/conftest.py): the others cannot answer differently there.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import pgcluster  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"
NO_TESTS_COLLECTED = 5


def pytest(args: list[str], env: dict, out=None) -> int:
    """Runs pytest; its output goes to `out` (a file) when given, else to the terminal."""
    cmd = [sys.executable, "-m", "pytest", *args]
    print("\n$ " + " ".join(cmd), file=out or sys.stdout, flush=True)
    code = subprocess.call(cmd, cwd=ROOT, env=env, stdout=out, stderr=out)
    if code == NO_TESTS_COLLECTED:
        print("(no tests selected in this pass)", file=out or sys.stdout, flush=True)
        return 0
    return code


class Background(threading.Thread):
    """`job(out)` in a thread, its output kept in a temporary file until `report()`."""

    def __init__(self, title: str, job):
        super().__init__(daemon=True)
        self.title, self.job, self.code = title, job, 1
        self.out = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by report())
        self.start()

    def run(self) -> None:
        try:
            self.code = self.job(self.out)
        except Exception as error:  # reported with the pass's output, as a failure
            print(f"{self.title}: {error!r}", file=self.out, flush=True)

    def report(self) -> int:
        self.join()
        self.out.seek(0)
        print(f"\n=== {self.title} ===", flush=True)
        shutil.copyfileobj(self.out, sys.stdout)
        sys.stdout.flush()
        self.out.close()
        return self.code


APPS = ["accounts", "bi", "core", "events", "frontend", "notifications", "payment_lists",
        "payments", "promos", "rides", "wildrydes"]  # fmt: skip


def static_checks(out) -> int:
    """Lint, security lint (high severity fails) and known vulnerabilities in the lock."""
    bin_dir = Path(sys.executable).parent
    checks = [
        [str(bin_dir / "ruff"), "check", "."],
        [str(bin_dir / "bandit"), "-q", "-r", *APPS, "--severity-level", "high"],
    ]
    failed = 0
    for cmd in checks:
        print("\n$ " + " ".join([Path(cmd[0]).name, *cmd[1:]]), file=out, flush=True)
        failed |= subprocess.call(cmd, cwd=ROOT, stdout=out, stderr=out)
    return failed | audit_dependencies(bin_dir, out)


def audit_dependencies(bin_dir: Path, out) -> int:
    """pip-audit of the production lock: a known vulnerability fails the run."""
    cmd = [str(bin_dir / "pip-audit"), "--disable-pip", "--no-deps", "--progress-spinner", "off",
           "-r", "requirements/prod.txt"]  # fmt: skip
    print("\n$ " + " ".join([Path(cmd[0]).name, *cmd[1:]]), file=out, flush=True)
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    skipped = result.stdout.count("could not be audited")
    if result.returncode != 0:
        print(result.stdout, result.stderr, file=out)
        return result.returncode
    print("pip-audit: no known vulnerabilities found.", file=out)
    if skipped:
        print(f"WARNING: {skipped} packages could not be audited: no vulnerability database "
              "answered from this network (PyPI JSON API / OSV).", file=out)  # fmt: skip
    return 0


# The npm test tools, each pinned by its folder's package-lock.json: the state machine's ASL
# interpreter, and axe-core for the accessibility tests. Never in the Lambda package.
NPM_TOOLS = {
    "tests/stepfunctions": "the ASL interpreter tests",
    "tests/browser/axe": "the accessibility (axe) tests",
}


def install_npm_tools() -> None:
    """Each npm tool folder (NPM_TOOLS), as its package-lock.json pins it, when npm is there
    and it is not installed yet. Without them their tests are skipped loudly (a failure in
    CI, where .ci/run installs them first)."""
    npm = shutil.which("npm")
    if npm is None:
        return
    for name, tests in NPM_TOOLS.items():
        folder = ROOT / name
        if (folder / "node_modules").is_dir():
            continue
        print(f"\n$ npm ci --prefix {name}", flush=True)
        if subprocess.call([npm, "ci", "--prefix", str(folder), "--no-audit", "--no-fund"]) != 0:
            print(f"WARNING: npm ci failed; {tests} will be skipped.")


def postgres_pass(extra: list[str], base_env: dict, out) -> int:
    def say(*lines: str) -> None:
        print(*lines, sep="\n", file=out, flush=True)

    pg_args = ["-n", "2", "--dist", "loadgroup", "-m", "not browser and not package",
               "--database-tests-only", *extra]  # fmt: skip
    if os.environ.get("DATABASE_URL"):
        return pytest(pg_args, {**base_env, "DATABASE_URL": os.environ["DATABASE_URL"]}, out)
    if pgcluster.available() and pgcluster.pgbouncer_bin():
        # Through PgBouncer in transaction mode, as Lambda reaches RDS through RDS Proxy.
        # The throwaway cluster goes with its databases: no test database to drop behind
        # the pooler's server connections (--reuse-db).
        with pgcluster.running_cluster() as cluster, pgcluster.running_bouncer(cluster) as pool:
            say(f"PostgreSQL started on 127.0.0.1:{cluster.port}, PgBouncer (transaction "
                f"mode, {pool.pool_size} server connections per database) on "
                f"127.0.0.1:{pool.port}")  # fmt: skip
            pooled = {**base_env, "DATABASE_URL": pool.url, "DATABASE_POOLER": "pgbouncer"}
            return pytest([*pg_args, "--reuse-db"], pooled, out)
    if pgcluster.available() and IN_CI:
        say("FAIL: CI=true but no pgbouncer binary (apt-get install pgbouncer).")
        return 1
    if pgcluster.available():
        say("!" * 78,
            "No pgbouncer found: the PostgreSQL pass runs WITHOUT the pooler.",
            "Install Debian's 'pgbouncer' package to run it as CI does.",
            "!" * 78)  # fmt: skip
        with pgcluster.running_cluster() as cluster:
            say(f"PostgreSQL started on 127.0.0.1:{cluster.port}")
            return pytest(pg_args, {**base_env, "DATABASE_URL": cluster.url}, out)
    if IN_CI:
        say("FAIL: CI=true but no PostgreSQL server binaries (apt-get install postgresql).")
        return 1
    say("!" * 78,
        "SKIPPED the PostgreSQL pass: no DATABASE_URL and no initdb/pg_ctl found.",
        "Install Debian's 'postgresql' package to run it.",
        "!" * 78)  # fmt: skip
    return 0


def main(extra: list[str]) -> int:
    # PYTHONDONTWRITEBYTECODE (set in some shells) would make every pytest process and
    # every child compile all it imports again, and pytest rewrite the asserts of its
    # plugins (schemathesis, hypothesis, faker...) again: 13 s CPU per pytest process.
    # __pycache__ is ignored by git and left out of the Lambda zip (zappa_settings.json).
    base_env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONDONTWRITEBYTECODE")
    }
    install_npm_tools()
    checks = Background("Static checks: ruff, bandit, pip-audit", static_checks)
    postgres = Background("Pass 2: PostgreSQL", lambda out: postgres_pass(extra, base_env, out))
    sqlite_args = ["-n", "3", "--dist", "loadgroup", *extra]
    browser = None
    if not names_tests(extra):
        # Collected from tests/browser alone (~1 s instead of the suite's ~4 s per worker).
        # Two workers: alone on a quiet machine one took 3:04 for the 63 tests.
        browser_args = ["-n", "2", "--dist", "loadgroup", *UNUSED_IN_BROWSER_TESTS, *extra,
                        BROWSER_TESTS]  # fmt: skip
        browser = Background(
            "Pass 3: browser (SQLite)", lambda out: pytest(browser_args, base_env, out)
        )
        sqlite_args.append(f"--ignore={BROWSER_TESTS}")
    print("=== Pass 1: SQLite ===", flush=True)
    # Three workers on two cores: its package and deploy tests wait on children (the
    # Lambda, moto) much of the time.
    sqlite_code = pytest(sqlite_args, base_env)
    browser_code = browser.report() if browser else 0
    pg_code = postgres.report()
    static_code = checks.report()
    return static_code or sqlite_code or browser_code or pg_code


BROWSER_TESTS = "tests/browser"
# pytest plugins no browser test uses (no property, schema or async test, no faker fixture):
# not loaded by the browser pass's three processes. Loading them cost ~0.7 s CPU a process
# (pytest --collect-only tests/browser, 5 runs each: 1.96 -> 1.27 s).
UNUSED_IN_BROWSER_TESTS = ["-p", "no:schemathesis", "-p", "no:anyio", "-p", "no:hypothesispytest",
                           "-p", "no:faker"]  # fmt: skip


def names_tests(args: list[str]) -> bool:
    """Whether the arguments name test files or folders: then one SQLite pass runs what they
    name, browser tests included, as before the browser pass was split off."""
    return any((ROOT / arg.split("::")[0]).exists() for arg in args if not arg.startswith("-"))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
