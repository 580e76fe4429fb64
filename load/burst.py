"""A burst past PostgreSQL's connection slots with no pooler, and what a minute later looks
like: does the service recover by itself when the burst ends?

Uses the load harness's pieces (load/run.py: gunicorn on loopback, a throwaway PostgreSQL
from tests/pgcluster). The server gets fewer usable slots (`--slots`) than gunicorn has
workers (`--workers`, one connection each at most); `--burst-clients` connections of wrk
keep every worker busy for `--burst` seconds on `GET /api/health/` (one query); then,
after a `--pause` (the "minute after"), `--calm-clients` send requests for `--calm`
seconds. Run for each `DATABASE_CONN_MAX_AGE` given (default: 600, kept connections, and
0, a connection per request: the default of a Lambda function straight to PostgreSQL with
no pooler, the case this burst stands for). Loopback only; bounded in time.

    .venv/bin/python load/burst.py                       # ~5 minutes
    .venv/bin/python load/burst.py --burst 10 --pause 20 --calm 20 --ages 0
"""

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

LOAD = Path(__file__).resolve().parent
sys.path.insert(0, str(LOAD.parent))

from load.run import gunicorn, run_python, server_env  # noqa: E402
from tests import pgcluster  # noqa: E402

WRK = shutil.which("wrk") or "wrk"


def hammer(url: str, clients: int, seconds: float) -> Counter:
    statuses: Counter = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop():
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (loopback)
                    status = answer.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                status = -1
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


@contextlib.contextmanager
def small_cluster(slots: int):
    """pgcluster's server with `slots` usable connections (+3 reserved)."""
    with pgcluster.running_cluster(max_connections=int(slots) + 3) as cluster:
        import psycopg

        with psycopg.connect(cluster.url) as connection:
            [limit] = connection.execute("SHOW max_connections").fetchone()
        if int(limit) != slots + 3:
            raise RuntimeError(f"max_connections is {limit}")
        yield cluster


def run_one(age: int, options, workdir: Path) -> dict:
    log = workdir / f"burst-{age}.log"
    with small_cluster(options.slots) as cluster:
        env = server_env({"DATABASE_URL": cluster.url})
        env["DATABASE_CONN_MAX_AGE"] = str(age)
        run_python(["manage.py", "migrate", "--no-input", "-v0"], env=env, log=log)
        options.worker_class, options.threads = "sync", 1
        with gunicorn(env=env, options=options, log=log) as base:
            url = f"{base}/api/health/"
            # wrk for the burst: enough concurrency to keep every worker busy at once.
            wrk = subprocess.run(  # noqa: S603
                [WRK, "-t2", f"-c{options.burst_clients}", f"-d{int(options.burst)}s", url],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            total = int(re.search(r"(\d+) requests in", wrk)[1])
            non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", wrk)
            errors = int(non_2xx[1]) if non_2xx else 0
            burst = Counter({"2xx": total - errors, "non-2xx": errors})
            time.sleep(options.pause)
            calm = hammer(url, options.calm_clients, options.calm)
    return {
        "conn_max_age": age,
        "burst": {str(k): v for k, v in sorted(burst.items())},
        "after": {str(k): v for k, v in sorted(calm.items())},
        "after_errors": sum(v for k, v in calm.items() if k != 200),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--slots", type=int, default=20, help="usable PostgreSQL connections")
    add("--workers", type=int, default=40, help="gunicorn sync workers")
    add("--burst-clients", type=int, default=80)
    add("--burst", type=float, default=20.0, help="seconds")
    add("--pause", type=float, default=60.0, help="seconds between the burst and the check")
    add("--calm-clients", type=int, default=4)
    add("--calm", type=float, default=30.0, help="seconds")
    add("--ages", default="600,0", help="DATABASE_CONN_MAX_AGE values to compare")
    options = parser.parse_args(argv)
    if not pgcluster.available():
        print("PostgreSQL server binaries are needed (apt-get install postgresql)")
        return 1
    results = []
    with tempfile.TemporaryDirectory(prefix="wildrydes-burst-") as folder:
        for age in [int(a) for a in options.ages.split(",")]:
            result = run_one(age, options, Path(folder))
            print(json.dumps(result), flush=True)
            results.append(result)
    return 1 if results and results[-1]["after_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
