"""`make load`: the rider journey under load, then a reconciliation against the database.

For each database (a SQLite file in a temp dir; a throwaway PostgreSQL from tests/pgcluster):
migrate, seed a fleet, riders and the promo campaign (load/seed.py), start the project under
gunicorn on a free loopback port; 50 riders sign in, all at once, then (threads in a few
client processes, load/client.py) request and complete rides for 60 s. Then stop the server and
check that the database agrees with every answer (load/reconcile.py). Figures go to
docs/benchmarks.md, between the markers of the "Load: the rider journey" section only.

Loopback only; every loop is bounded in time; it stops by itself. Exit status 1 when any
5xx other than the "no unicorn free" 503 came back, a request got no answer, or the
reconciliation found a difference.

    .venv/bin/python load/run.py                            # what `make load` runs
    .venv/bin/python load/run.py --databases sqlite --duration 10 --riders 10 --no-record
"""

import argparse
import contextlib
import datetime
import json
import math
import os
import platform
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

LOAD = Path(__file__).resolve().parent
ROOT = LOAD.parent
sys.path.insert(0, str(ROOT))

from load import client  # noqa: E402
from tests import loopback, pgcluster  # noqa: E402
from tests.loopback import free_port, wait_ready  # noqa: E402

PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
DOCS = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- load:start -->", "<!-- load:end -->"
TITLE = "## Load: the rider journey"
IN_CI = os.environ.get("CI", "").lower() == "true"

SEATTLE = (47.6062, -122.3321)
# Fleet within about ±5.5 km of the centre, pickups and drop-offs within ±3.3 km: every
# pickup has hundreds of free unicorns inside the first 2 km search box, and 50 riders can
# hold at most 50 unicorns at once, so "no unicorn free" cannot happen by design.
FLEET_SPREAD = (0.05, 0.075)
RIDE_SPREAD = (0.03, 0.045)
NO_UNICORN = "No unicorn is free"


# --- processes ------------------------------------------------------------------------------


@contextlib.contextmanager
def gunicorn(*, env: dict, options, log: Path):
    """The project under gunicorn on a free loopback port; stopped gracefully after."""
    port = free_port()
    cmd = [GUNICORN, "wildrydes.wsgi:application", "--chdir", str(ROOT)]
    cmd += ["--bind", f"127.0.0.1:{port}", "--workers", str(options.workers)]
    cmd += ["--worker-class", options.worker_class, "--threads", str(options.threads)]
    # A sign-in costs ~1 s of CPU (PBKDF2); under the ramp's queue it may wait a while.
    cmd += ["--timeout", "120", "--graceful-timeout", "30", "--keep-alive", "5"]
    cmd += ["--backlog", "2048", "--no-control-socket", "--log-level", "warning"]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        wait_ready(f"http://127.0.0.1:{port}/api/health/", proc, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def server_env(database_env: dict) -> dict:
    return loopback.server_env(
        database_env,
        # Every rider comes from 127.0.0.1 here; in production each has its own address.
        # The per-e-mail limit (10/minute) stays as it is: each rider signs in once.
        AUTH_THROTTLE_RATE_PER_ADDRESS="100000/minute",
        # The ride's clock runs fast (the unicorn arrives within about a second) and a
        # rider has a minute to board; the per-rider request limit stays out of the way.
        RIDE_TIME_SCALE="600",
        RIDE_BOARDING_MINUTES="600",
        RIDE_REQUEST_THROTTLE_RATE="",
    )


@contextlib.contextmanager
def database(name: str, workdir: Path):
    if name == "sqlite":
        yield {"SQLITE_PATH": str(workdir / "load.sqlite3")}
    elif name == "postgres":
        with pgcluster.running_cluster() as cluster:
            yield {"DATABASE_URL": cluster.url}
    else:
        raise ValueError(name)


def run_python(args: list, *, env: dict, log: Path) -> str:
    with log.open("ab") as out:
        done = subprocess.run(  # noqa: S603
            [PYTHON, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=out, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed; see {log}")
    return done.stdout.decode()


# --- figures ------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100) of the values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summarize(name: str, signed_in: dict, result: dict, reconciliation: dict, options) -> dict:
    samples = signed_in["samples"] + result["samples"]
    statuses = Counter(s[3] for s in samples)
    no_unicorn = sum(1 for s in samples if s[3] == 503 and NO_UNICORN in s[4])
    server_errors = sum(n for code, n in statuses.items() if code >= 500) - no_unicorn
    first_errors = [f"{s[0]} {s[3]} {s[4]}" for s in samples if s[3] >= 400 or s[3] < 0][:5]
    by_step = defaultdict(list)
    for step, _, latency, status, _ in samples:
        if status > 0:
            by_step[step].append(latency * 1000)
    # Throughput and the overall percentiles are the ride phase's; sign-in has its own.
    answered = [s[2] * 1000 for s in result["samples"] if s[3] > 0]
    span = result["span_s"]
    completed = sum(1 for a in result["acks"] if a["completed"])
    return {
        "database": name,
        "riders": len(options.emails),
        "signed_in": len(signed_in["tokens"]),
        "sign_in_span_s": round(signed_in["span_s"], 1),
        "duration_s": options.duration,
        "span_s": round(span, 1),
        "requests": len(answered),
        "requests_per_s": round(len(answered) / span, 1) if span else 0.0,
        "journeys": completed,
        "journeys_per_s": round(completed / span, 2) if span else 0.0,
        "p50_ms": round(percentile(answered, 50), 1),
        "p99_ms": round(percentile(answered, 99), 1),
        "steps": {
            step: {
                "requests": len(values),
                "p50_ms": round(percentile(values, 50), 1),
                "p99_ms": round(percentile(values, 99), 1),
            }
            for step, values in sorted(by_step.items())
        },
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "server_errors_5xx": server_errors,
        "no_unicorn_503": no_unicorn,
        "client_errors_4xx": sum(n for code, n in statuses.items() if 400 <= code < 500),
        "no_answer": statuses.get(client.TRANSPORT_ERROR, 0),
        "stuck_riders": result["stuck_riders"],
        "first_errors": first_errors,
        "reconciliation": reconciliation,
    }


def failed(summary: dict) -> list[str]:
    problems = []
    if summary["server_errors_5xx"]:
        problems.append(f"{summary['server_errors_5xx']} answers were 5xx")
    if summary["no_answer"]:
        problems.append(f"{summary['no_answer']} requests got no answer")
    if summary["client_errors_4xx"]:
        problems.append(f"{summary['client_errors_4xx']} answers were 4xx")
    if summary["signed_in"] < summary["riders"]:
        problems.append(f"only {summary['signed_in']} of {summary['riders']} riders signed in")
    if summary["stuck_riders"]:
        problems.append(f"{summary['stuck_riders']} riders did not finish in time")
    if not summary["reconciliation"].get("ok"):
        bad = {k: v for k, v in summary["reconciliation"].get("checks", {}).items() if v}
        problems.append(f"reconciliation differs: {bad or summary['reconciliation']}")
    if not summary["journeys"]:
        problems.append("no journey completed")
    return problems


# --- one database ---------------------------------------------------------------------------


def load_database(name: str, options) -> dict:
    log = options.logdir / f"load-{name}.log"
    log.write_text("")
    print(f"\n== {name}: log {log}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix=f"wildrydes-load-{name}-") as tmp,
        database(name, Path(tmp)) as db_env,
    ):
        env = server_env(db_env)
        started = time.monotonic()
        run_python(["manage.py", "migrate", "--no-input", "-v0"], env=env, log=log)
        riders_file = Path(tmp) / "riders.txt"
        seeded = run_python(
            [
                str(LOAD / "seed.py"), "--unicorns", str(options.unicorns),
                "--riders", str(options.riders), "--password", options.password,
                "--center", *map(str, SEATTLE), "--spread", *map(str, FLEET_SPREAD),
                "--riders-file", str(riders_file),
            ],
            env=env, log=log,
        )  # fmt: skip
        print(f"  {seeded.strip()} in {time.monotonic() - started:.1f} s", flush=True)
        options.emails = riders_file.read_text().split()
        load_average = Path("/proc/loadavg").read_text().split()[:3]
        with gunicorn(env=env, options=options, log=log) as base_url:
            plan = client.Plan(
                base_url=base_url,
                emails=options.emails,
                password=options.password,
                duration_s=options.duration,
                processes=options.client_processes,
                center=SEATTLE,
                spread=RIDE_SPREAD,
            )
            print(
                f"  {options.riders} riders sign in, then ride for {options.duration:.0f} s, "
                f"against {base_url} (load average before: {' '.join(load_average)})",
                flush=True,
            )
            signed_in = client.sign_in_all(plan)
            print(
                f"  {len(signed_in['tokens'])} signed in within {signed_in['span_s']:.1f} s",
                flush=True,
            )
            result = client.run(plan, signed_in["tokens"])
        acks_file = Path(tmp) / "acks.json"
        acks_file.write_text(json.dumps(result["acks"]))
        output = run_python([str(LOAD / "reconcile.py"), str(acks_file)], env=env, log=log)
        reconciliation = json.loads(output.strip().splitlines()[-1])
    summary = summarize(name, signed_in, result, reconciliation, options)
    summary["load_average_before"] = " ".join(load_average)
    return summary


# --- the report -----------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"nproc {os.cpu_count()}, {cpu}, {platform.system()} {platform.release()}"


def software() -> str:
    from importlib.metadata import version

    names = ("Django", "djangorestframework", "gunicorn", "psycopg")
    return f"Python {platform.python_version()}, " + ", ".join(f"{n} {version(n)}" for n in names)


def commit() -> str:
    def git(*args):
        return subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=ROOT, capture_output=True, text=True, check=False,
        ).stdout.strip()  # fmt: skip

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs")
    return f"{head}{' + local changes' if dirty else ''}"


def pbkdf2_cost() -> tuple[int, float]:
    """Django's PBKDF2 iterations and the CPU seconds one password check takes here, now."""
    import hashlib

    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    iterations = PBKDF2PasswordHasher.iterations
    started = time.process_time()
    hashlib.pbkdf2_hmac("sha256", b"password", b"salt", iterations)
    return iterations, time.process_time() - started


def markdown(summaries: list[dict], options) -> str:
    lines = [
        TITLE,
        "",
        f"`make load` (load/run.py), {options.started:%Y-%m-%d %H:%M} UTC, commit "
        f"{options.commit}. {options.machine}; {options.software}. gunicorn "
        f"{options.workers} {options.worker_class} workers"
        + (f" x {options.threads} threads" if options.worker_class == "gthread" else "")
        + f", on loopback; the load generator ({options.client_processes} processes of "
        "threads, load/client.py) shares the same 2 cores.",
        "",
        f"The journey: {options.riders} riders sign in at the same moment "
        "(`POST /api/auth/token/`, e-mail and password); then each of them, for "
        f"{options.duration:.0f} s, requests a ride (`POST /api/rides/` with an "
        "`Idempotency-Key`, pickup and drop-off within ~3 km of the centre), follows it as "
        "the ride page does (`GET /api/rides/{id}/` until the unicorn has arrived; the "
        "server's clock runs 600 times fast, RIDE_TIME_SCALE, so that takes about a second), "
        "boards (`POST .../board/`) and completes it (`POST .../complete/`), with no pause "
        "in between: a closed loop, so the latency includes the wait in gunicorn's queue. A "
        f"ride booked before the end is completed after it. Fleet: {options.unicorns} "
        "unicorns within ~5 km, so no request can find the fleet empty (50 riders hold at "
        "most 50 unicorns).",
        "",
        "Ride phase (request, poll, board, complete; throughput over the phase, latency of "
        "every answer):",
        "",
        "| database | requests | throughput | journeys | p50 | p99 | 5xx | 503 no unicorn "
        "| no answer | reconciliation |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in summaries:
        rec = s["reconciliation"]
        verdict = "clean" if rec.get("ok") else "DIFFERS"
        lines.append(
            f"| {s['database']} | {s['requests']:,} | {s['requests_per_s']:.0f} req/s | "
            f"{s['journeys']:,} ({s['journeys_per_s']:.1f}/s) | {s['p50_ms']:.0f} ms | "
            f"{s['p99_ms']:.0f} ms | {s['server_errors_5xx']} | {s['no_unicorn_503']} | "
            f"{s['no_answer']} | {verdict} |"
        )
    lines += [
        "",
        "Per step (token: the sign-in phase, all riders at once; its span is how long the "
        "last rider waited):",
        "",
        "| database | step | requests | p50 | p99 |",
    ]
    lines.append("|---|---|---:|---:|---:|")
    for s in summaries:
        for step in ("token", "request", "poll", "board", "complete"):
            v = s["steps"].get(step)
            if v:
                lines.append(
                    f"| {s['database']} | {step} | {v['requests']:,} | {v['p50_ms']:.0f} ms | "
                    f"{v['p99_ms']:.0f} ms |"
                )
    lines += [
        "",
        "Reconciliation (load/reconcile.py, after the server stopped): every 201 names a "
        "ride that exists once and no ride exists that no 201 named; one ride per "
        "Idempotency-Key; every completion the riders saw is in the database and no other; "
        "exactly one fare payment per completed ride (with the id the answer gave) and none "
        "for other rides (a fee only for a ride cancelled after arrival or expired, once); "
        "no ride left active; every unicorn free again; one discount award per ride (an "
        "award released for a ride not booked is not spent); one RideAssigned per ride, one "
        "RideBoarded per boarding, one RideCompleted and one PaymentRegistered event per "
        "payment, all published, no dead letter.",
        "",
    ]
    for s in summaries:
        t = s["reconciliation"].get("totals", {})
        lines.append(
            f"- {s['database']}: {t.get('rides', '?'):,} rides, {t.get('completed', '?'):,} "
            f"completed, {t.get('payments', '?'):,} payments, "
            f"{t.get('discount_awards', '?'):,} discount awards, {t.get('events', '?'):,} "
            f"events; unicorns busy at the end: "
            f"{s['reconciliation'].get('checks', {}).get('unicorns_still_busy', '?')}; "
            f"deliveries waiting for a retry: {t.get('deliveries_waiting_for_retry', '?')}; "
            f"load average before the run: {s['load_average_before']}."
        )
    lines += [
        "",
        "Sign-in is slow on purpose: Django checks the password with PBKDF2 "
        f"({options.pbkdf2[0]:,} iterations, {options.pbkdf2[1]:.2f} s of CPU per check "
        "on this machine when the run started), so 50 sign-ins at the same moment queue "
        "for the 2 cores"
        + "".join(
            f"; on {s['database']} the last of them got its token after {s['sign_in_span_s']:.0f} s"
            for s in summaries
        )
        + ". That is why the sign-ins run before the ride phase instead of inside it: mixed "
        "in, they would measure the hash, not the rides. Apps keep their token.",
    ]
    return "\n".join(lines)


def write_docs(section: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    block = f"{BEGIN}\n{section}\n{END}"
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), flags=re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: block, text)
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text.rstrip("\n") + "\n")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--databases", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    add("--riders", type=int, default=50)
    add("--duration", type=float, default=60.0, help="seconds of load per database")
    add("--unicorns", type=int, default=600)
    add("--workers", type=int, default=4)
    add("--worker-class", default="sync", choices=["sync", "gthread"])
    add("--threads", type=int, default=1)
    add("--client-processes", type=int, default=2)
    add("--no-record", dest="record", action="store_false", help="leave docs/ alone")
    add("--json", type=Path, help="also write the figures to this file")
    add("--logdir", type=Path, default=Path(tempfile.gettempdir()))
    options = parser.parse_args(argv)
    if not 1 <= options.duration <= 600:
        parser.error("keep the load bounded: 1-600 s")
    if options.unicorns < 2 * options.riders:
        parser.error("the fleet must be at least twice the riders, or 503s are by design")
    options.logdir.mkdir(parents=True, exist_ok=True)
    options.password = secrets.token_urlsafe(16)
    return options


def main(argv=None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    if "postgres" in options.databases and not pgcluster.available():
        if IN_CI:
            print("FAIL: CI=true but no PostgreSQL server binaries (apt-get install postgresql).")
            return 1
        print("!! PostgreSQL binaries not found (apt-get install postgresql): skipping it")
        options.databases = [d for d in options.databases if d != "postgres"]
    options.started = datetime.datetime.now(datetime.UTC)
    options.commit, options.machine, options.software = commit(), machine(), software()
    options.pbkdf2 = pbkdf2_cost()
    summaries = []
    for name in options.databases:
        summary = load_database(name, options)
        summaries.append(summary)
        print(json.dumps({k: v for k, v in summary.items() if k != "first_errors"}, indent=1))
        for line in summary["first_errors"]:
            print(f"  first errors: {line}")
    section = markdown(summaries, options)
    print("\n" + section)
    if options.record:
        write_docs(section)
        print(f"\nrecorded in {DOCS.relative_to(ROOT)}")
    if options.json:
        options.json.write_text(json.dumps(summaries, indent=1))
    problems = {s["database"]: failed(s) for s in summaries}
    if any(problems.values()):
        for name, found in problems.items():
            for problem in found:
                print(f"FAILED ({name}): {problem}")
        return 1
    print("\nload: zero 5xx, every request answered, reconciliation clean.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
