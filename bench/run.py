"""`make bench`: HTTP benchmarks on loopback, recorded in docs/benchmarks.md.

Each benchmark is a *section*: a function that takes the parsed options and returns a
`Section` (a key, a title, its results and its Markdown). `SECTIONS` lists them in run
order; add a benchmark by writing such a function and adding it there. Each section's
Markdown is written into docs/benchmarks.md between its own markers, so prose written
around the markers survives a rerun.

Section `rides_post` (`POST /api/rides/` against a minimal WSGI app): for each database
(a SQLite file in a temp dir; PostgreSQL from tests/pgcluster), migrate, seed a fleet and
riders, start the three targets (the Django project, bench/drf_floor.py -- the project
with a DRF view that only validates and inserts one row, the framework's floor -- and
bench/minimal_app.py) under gunicorn with the same worker settings on free 127.0.0.1
ports, warm them up, then drive them with wrk (fixed connections, fixed time) in
alternating rounds, so that all see the same background load. All load stays on loopback
and stops by itself.

Sections `events_delivery` and `payments_post_outbox` (bench/events_bench.py): events per
second on the local delivery paths, and `POST /api/payments/` with the outbox against the
same endpoint without it. Section `payment_lists` (bench/lists_bench.py): a 1,000,000-row
CSV (--list-rows) through the import workflow against the raw driver's best path.

    .venv/bin/python bench/run.py                     # what `make bench` runs
    .venv/bin/python bench/run.py --sections payment_lists --list-rows 100000
    .venv/bin/python bench/run.py --databases sqlite --no-record --duration 4
    .venv/bin/python bench/run.py --serve django --databases postgres  # to profile by hand
"""

import argparse
import bisect
import contextlib
import dataclasses
import datetime
import importlib
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))

import minimal_app  # noqa: E402  (bench/ is sys.path[0])

# The section modules import this file as `run`; make that this very module, not a copy.
sys.modules.setdefault("run", sys.modules[__name__])

from tests import loopback, pgcluster  # noqa: E402
from tests.loopback import free_port, wait_ready  # noqa: E402 (events_bench uses run.wait_ready)

DOCS = ROOT / "docs" / "benchmarks.md"
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
WRK_SCRIPT = BENCH / "post_ride.lua"

SEATTLE = (47.6062, -122.3321)
# The fleet covers about 100 km x 100 km around Seattle; pickups fall in the middle
# 80 km x 80 km, so even the 10 km search box stays inside the fleet.
FLEET_SPREAD = (0.45, 0.67)
PICKUP_SPREAD = (0.36, 0.53)
KM_PER_DEG_LAT = 111.195


@dataclasses.dataclass
class Section:
    key: str
    title: str
    markdown: str
    results: list
    failed: bool = False


# --- processes and CPU --------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, user+system CPU ticks) for every process we can read."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            text = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        table[int(name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def _tree_ticks(table, roots) -> dict[int, int]:
    children = defaultdict(list)
    for pid, (ppid, _) in table.items():
        children[ppid].append(pid)
    found, stack = {}, list(roots)
    while stack:
        pid = stack.pop()
        if pid in table and pid not in found:
            found[pid] = table[pid][1]
            stack += children[pid]
    return found


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine, steal counted as busy."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return sum(values) - values[3] - values[4], sum(values)


class CpuMeter:
    """CPU seconds used by process trees (and the rest of the machine) over a span."""

    def __init__(self, **roots):
        self.roots = roots  # name -> list of root pids

    def __enter__(self):
        table = _processes()
        self._start = {name: _tree_ticks(table, pids) for name, pids in self.roots.items()}
        self._machine = _machine_ticks()
        self._children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._wall = time.monotonic()
        return self

    def __exit__(self, *exc):
        table = _processes()
        busy, total = _machine_ticks()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.wall = time.monotonic() - self._wall
        self.seconds = {}
        for name, pids in self.roots.items():
            end = _tree_ticks(table, pids)
            ticks = sum(t - self._start[name].get(pid, 0) for pid, t in end.items())
            self.seconds[name] = ticks / CLOCK_TICKS
        # Children that ended inside the span: the load generator.
        self.seconds["loadgen"] = (children.ru_utime + children.ru_stime) - (
            self._children.ru_utime + self._children.ru_stime
        )
        self.machine_busy = (busy - self._machine[0]) / CLOCK_TICKS
        self.machine_capacity = (total - self._machine[1]) / CLOCK_TICKS
        return False

    @property
    def other(self) -> float:
        """CPU seconds used by everything else on the machine (other people's work)."""
        return max(0.0, self.machine_busy - sum(self.seconds.values()))


@contextlib.contextmanager
def gunicorn(app: str, *, chdir: Path, env: dict, options, log: Path):
    """Run `app` under gunicorn on a free loopback port; yield (base URL, process)."""
    port = free_port()
    cmd = [GUNICORN, app, "--chdir", str(chdir), "--bind", f"127.0.0.1:{port}"]
    cmd += ["--workers", str(options.workers), "--worker-class", options.worker_class]
    cmd += ["--threads", str(options.threads), "--keep-alive", "5", "--backlog", "2048"]
    cmd += ["--no-control-socket", "--log-level", "warning"]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: installing Debian's 'wrk' package", flush=True)
        quiet = {"stdout": subprocess.DEVNULL, "check": False}
        subprocess.run(["apt-get", "update", "-qq"], **quiet)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit(
        "bench needs the 'wrk' load generator: `sudo apt-get install wrk` (Debian/Ubuntu) "
        "or `brew install wrk`, then run `make bench` again."
    )


def wrk(url: str, script: Path, args: list, *, seconds: float, options) -> dict:
    """One bounded wrk run of the Lua `script` with `args`; returns the summary it prints."""
    cmd = [options.wrk, "--threads", "1", "--connections", str(options.connections)]
    cmd += ["--duration", f"{max(1, round(seconds))}s", "--timeout", "5s"]
    cmd += ["--script", str(script), url, "--", *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise RuntimeError(f"wrk gave no summary (exit {done.returncode}):\n{done.stdout}{done.stderr}")


def run_wrk(url: str, *, seconds: float, options, tokens_file: Path, seed: int) -> dict:
    """The rider's requests (WRK_SCRIPT): pickups around Seattle, the riders' credentials."""
    args = [tokens_file, *SEATTLE, *PICKUP_SPREAD, seed]
    return wrk(url, WRK_SCRIPT, args, seconds=seconds, options=options)


# --- latency distributions ----------------------------------------------------------------


def _cdf(points, x: float) -> float:
    """Percent of one run's requests at or below x, from its (percent, value) grid."""
    if x < points[0][1]:
        return 0.0
    if x >= points[-1][1]:
        return 100.0
    values = [v for _, v in points]
    i = bisect.bisect_right(values, x) - 1
    (p0, v0), (p1, v1) = points[i], points[i + 1]
    return p0 + (p1 - p0) * (x - v0) / (v1 - v0)


def merged_percentile(runs: list[dict], q: float) -> float:
    """The q-th percentile (microseconds) of several wrk runs taken as one distribution."""
    weighted = []
    for run in runs:
        grid = [(0.0, run["min_us"]), *((p, v) for p, v in run["percentiles_us"])]
        grid.append((100.0, run["max_us"]))
        weighted.append((run["requests"], grid))
    total = sum(n for n, _ in weighted)
    if not total:
        return math.nan
    lo = min(g[0][1] for _, g in weighted)
    hi = max(g[-1][1] for _, g in weighted)
    for _ in range(60):
        mid = (lo + hi) / 2
        if sum(n * _cdf(g, mid) for n, g in weighted) / total >= q:
            hi = mid
        else:
            lo = mid
    return hi


# --- databases ----------------------------------------------------------------------------


def server_env(database_env: dict) -> dict:
    return loopback.server_env(
        database_env,
        # The per-user write limits are counted (their cost is in the figures) but set far
        # above what the load asks, so no request of the bench is refused (429).
        RIDE_REQUEST_THROTTLE_RATE="100000000/minute",
        PAYMENT_THROTTLE_RATE="100000000/minute",
        # The bench's fleet and pickups cover ~100 km around the city: all of it is served.
        SERVICE_AREA=f"{SEATTLE[0]},{SEATTLE[1]},100",
    )


# What the servers run: read from the settings they load (the same environment), so the
# section's header says it truthfully.
SETTINGS_PROBE = """
import json, django
django.setup()
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"].rsplit(".", 1)[-1],
    "conn_max_age": db["CONN_MAX_AGE"],
    "health_checks": db["CONN_HEALTH_CHECKS"],
    "prepare_threshold": db.get("OPTIONS", {}).get("prepare_threshold"),
    "events": settings.EVENTS_DELIVERY,
    "events_sns": bool(settings.EVENTS_SNS_TOPIC_ARN),
    "promo": "over HTTP" if settings.PROMO_SERVICE_URL else "in-process",
    "ride_rate": settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["ride_requests"],
    "log_level": settings.LOGGING["root"]["level"] if "root" in settings.LOGGING else "-",
}))
"""


def server_settings(env: dict) -> dict:
    done = subprocess.run(
        [PYTHON, "-c", SETTINGS_PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def describe_settings(found: dict) -> str:
    age = found["conn_max_age"]
    connections = (
        f"persistent connections (`CONN_MAX_AGE` {age} s"
        if age
        else "a new database connection per request (`CONN_MAX_AGE` 0"
    ) + f", health checks {'on' if found['health_checks'] else 'off'})"
    if found["engine"] == "postgresql":
        prepared = found["prepare_threshold"]
        connections += (
            f", statements prepared from their {prepared}th run"
            if prepared
            else ", nothing prepared"
        )
    events = (
        "events handed on right after the ride's commit, before the answer (inline)"
        if found["events"] == "inline"
        else f"events delivered by `{found['events']}`"
    ) + (" to SNS" if found["events_sns"] else " to the in-process subscribers")
    return (
        f"{connections}; {events}; the promo draw {found['promo']}; "
        f"the per-rider request limit counted at {found['ride_rate']}; logging at "
        f"{found['log_level']}"
    )


@dataclasses.dataclass
class Database:
    name: str
    env: dict
    server_pids: list  # the database server's own processes (none for SQLite)


@contextlib.contextmanager
def database(name: str, workdir: Path):
    """Yield a `Database` that points the project (and the minimal app) at `name`."""
    if name == "sqlite":
        yield Database(name, {"SQLITE_PATH": str(workdir / "bench.sqlite3")}, [])
    elif name == "postgres":
        with pgcluster.running_cluster() as cluster:
            postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
            yield Database(name, {"DATABASE_URL": cluster.url}, [postmaster])
    else:
        raise ValueError(name)


def query_one(db: Database, sql: str):
    conn = minimal_app.connect(db.env)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def database_version(db: Database) -> str:
    if db.name == "postgres":
        return "PostgreSQL " + query_one(db, "SHOW server_version")
    return "SQLite " + query_one(db, "SELECT sqlite_version()")


def prepare(
    db: Database, env: dict, *, options, tokens_file: Path, log: Path, riders: int | None = None
) -> str:
    """Migrate, seed the fleet, riders and campaign, create the minimal app's and floor's tables.

    Returns the names of the active promo campaigns ("-" for none).
    """
    with log.open("ab") as out:
        run = {"cwd": ROOT, "env": env, "stdout": out, "stderr": subprocess.STDOUT, "check": True}
        subprocess.run([PYTHON, "manage.py", "migrate", "--no-input"], **run)
        seed = [PYTHON, str(BENCH / "seed.py"), "--unicorns", str(options.unicorns)]
        seed += ["--riders", str(riders or options.riders), "--center", *map(str, SEATTLE)]
        seed += ["--spread", *map(str, FLEET_SPREAD), "--tokens-file", str(tokens_file)]
        seed += ["--sessions-file", str(sessions_of(tokens_file))]
        seeded = subprocess.run(seed, **{**run, "stdout": subprocess.PIPE}).stdout.decode()
        out.write(seeded.encode())
    minimal_app.create_table(db.env)
    minimal_app.create_table(db.env, table="bench_floor_ride")  # bench/drf_floor.py's
    return seeded.strip().rsplit("campaigns: ", 1)[-1]


def sessions_of(tokens_file: Path) -> Path:
    """The riders' sessions (bench/seed.py --sessions-file), beside their tokens, same order."""
    return tokens_file.with_name("sessions.txt")


# --- section: POST /api/rides/ vs a minimal WSGI app ---------------------------------------

TARGETS = {
    # name: (WSGI app, chdir, readiness path, POST path, table its rows land in)
    "django": ("wildrydes.wsgi:application", ROOT, "/api/health/", "/api/rides/", "rides_ride"),
    # The same endpoint signed in as the ride page is: session and CSRF cookies, X-CSRFToken.
    "session": ("wildrydes.wsgi:application", ROOT, "/api/health/", "/api/rides/", "rides_ride"),
    # The project with api/rides/ doing only the minimal app's work (bench/drf_floor.py).
    "floor": ("drf_floor:application", BENCH, "/api/health/", "/api/rides/", "bench_floor_ride"),
    "minimal": ("minimal_app:application", BENCH, "/", "/rides/", "bench_ride"),
}


@dataclasses.dataclass
class Result:
    database: str
    target: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int
    app_cpu_ms: float  # CPU of the gunicorn workers per 2xx answer
    db_cpu_ms: float  # CPU of the database server per 2xx answer (PostgreSQL)
    rounds_rps: list
    other_cpu: float  # share of the machine used by unrelated processes meanwhile
    detail: str = ""


def summarize(db: Database, target: str, runs: list[tuple[dict, CpuMeter]]) -> Result:
    summaries = [s for s, _ in runs]
    seconds = sum(s["duration_us"] for s in summaries) / 1e6
    ok = sum(s["ok"] for s in summaries)
    totals = {k: sum(s[k] for s in summaries) for k in ("non2xx", "s4xx", "s5xx", "s503")}
    totals["socket"] = sum(s["socket_errors"] for s in summaries)
    totals["timeouts"] = sum(s["timeouts"] for s in summaries)
    errors = totals["non2xx"] + totals["socket"] + totals["timeouts"]
    detail = ""
    if errors:
        first = next((s["first_error"] for s in summaries if s["first_error"]), "")
        detail = (
            f"non-2xx {totals['non2xx']} (4xx {totals['s4xx']}, 5xx {totals['s5xx']}, "
            f"503 {totals['s503']}), socket errors {totals['socket']}, "
            f"timeouts {totals['timeouts']}; first: {first}"
        )
        if totals["s503"] and target == "django":
            detail += " -- 503 means no free unicorn: raise --unicorns (fix the bench)"
    meters = [m for _, m in runs]
    per_ok = 1000 / ok if ok else math.nan
    return Result(
        database=db.name,
        target=target,
        requests_per_s=ok / seconds,
        p50_ms=merged_percentile(summaries, 50) / 1000,
        p99_ms=merged_percentile(summaries, 99) / 1000,
        errors=errors,
        requests=sum(s["requests"] for s in summaries),
        app_cpu_ms=sum(m.seconds["app"] for m in meters) * per_ok,
        db_cpu_ms=sum(m.seconds["db"] for m in meters) * per_ok,
        rounds_rps=[s["ok"] / (s["duration_us"] / 1e6) for s in summaries],
        other_cpu=max(m.other / m.machine_capacity for m in meters if m.machine_capacity),
        detail=detail,
    )


def bench_database(db: Database, *, options, workdir: Path, log: Path) -> list[Result]:
    env = server_env(db.env)
    tokens_file = workdir / "tokens.txt"
    started = time.monotonic()
    options.campaigns = prepare(
        db, env, options=options, tokens_file=tokens_file, log=log, riders=options.ride_riders
    )
    print(f"  prepared in {time.monotonic() - started:.1f} s", flush=True)
    options.server_settings[db.name] = describe_settings(server_settings(env))
    print(f"  servers run: {options.server_settings[db.name]}", flush=True)
    # One active ride per rider: each run of the project gets riders of its own, signed in
    # by token or by session (the other targets book without that rule and share them all).
    credentials = {
        "django": tokens_file.read_text().splitlines(),
        "session": sessions_of(tokens_file).read_text().splitlines(),
    }
    runs_of_project = (options.rounds + (options.warmup > 0)) * len(
        PROJECT_TARGETS.intersection(options.targets)
    )
    per_run = len(credentials["django"]) // runs_of_project
    slices = iter(range(runs_of_project))

    def credentials_for(target: str) -> Path:
        if target not in PROJECT_TARGETS:
            return tokens_file
        n = next(slices)
        path = workdir / f"credentials-{n}.txt"
        path.write_text("\n".join(credentials[target][n * per_run : (n + 1) * per_run]) + "\n")
        return path

    answered = dict.fromkeys(options.targets, 0)
    runs = {t: [] for t in options.targets}
    with contextlib.ExitStack() as stack:
        servers = {}
        for target in options.targets:
            app, chdir, ready, post, _ = TARGETS[target]
            base, proc = stack.enter_context(
                gunicorn(app, chdir=chdir, env=env, options=options, log=log)
            )
            servers[target] = (base + post, proc)
            wait_ready(base + ready, proc)
        wrk = {"options": options}
        for target, (url, _) in servers.items():
            if options.warmup > 0:
                warm = run_wrk(
                    url, seconds=options.warmup, seed=7, tokens_file=credentials_for(target), **wrk
                )
                answered[target] += warm["ok"]
        for round_no in range(options.rounds):
            # Alternate who goes first, so a drift in background load hits both alike.
            order = list(servers) if round_no % 2 == 0 else list(reversed(servers))
            for target in order:
                url, proc = servers[target]
                with CpuMeter(app=[proc.pid], db=db.server_pids) as meter:
                    summary = run_wrk(
                        url,
                        seconds=options.duration / options.rounds,
                        seed=11 + round_no,
                        tokens_file=credentials_for(target),
                        **wrk,
                    )
                answered[target] += summary["ok"]
                runs[target].append((summary, meter))
    results = [summarize(db, t, runs[t]) for t in options.targets]
    for table in {TARGETS[t][4] for t in options.targets}:
        # Every 2xx answer is a row; a request still in flight when wrk stops may add one
        # more row per connection and wrk run.
        targets = [t for t in options.targets if TARGETS[t][4] == table]
        ok = sum(answered[t] for t in targets)
        rows = query_one(db, f"SELECT count(*) FROM {table}")  # noqa: S608 (fixed names)
        in_flight = options.connections * (options.rounds + (options.warmup > 0)) * len(targets)
        if not 0 <= rows - ok <= in_flight:
            for result in results:
                if result.target in targets:
                    result.detail += f" {ok} 2xx answers but {rows} rows in {table}."
    free = query_one(db, "SELECT count(*) FROM rides_unicorn WHERE is_available")
    print(f"  free unicorns left: {free} of {options.unicorns}", flush=True)
    if free < options.unicorns // 5:
        print("  ! the fleet is nearly used up: raise --unicorns before 503s skew the run")
    return results


def rides_post(options) -> Section:
    results, versions = [], []
    for name in options.databases:
        print(f"\n{name}:", flush=True)
        log = options.logdir / f"bench-rides_post-{name}.log"
        log.unlink(missing_ok=True)
        with (
            tempfile.TemporaryDirectory(prefix=f"wildrydes-bench-{name}-") as tmp,
            database(name, Path(tmp)) as db,
        ):
            found = bench_database(db, options=options, workdir=Path(tmp), log=log)
            versions.append(database_version(db))
        for result in found:
            print("  " + format_row(result), flush=True)
            if result.detail:
                print(f"  ! {result.detail.strip()}  (log: {log})", flush=True)
        results += found
    return Section(
        key="rides_post",
        title="POST /api/rides/ vs a minimal WSGI app",
        markdown=rides_post_markdown(results, versions, options),
        results=results,
        failed=any(r.errors or r.detail for r in results),
    )


# (numerator, denominator, what the throughput ratio tells), in the order they are shown.
RATIOS = (
    ("django", "floor", "the rider's request over the framework's floor: goal at least 0.5"),
    ("session", "floor", "the same signed in as the page is (session, CSRF): goal at least 0.5"),
    ("django", "minimal", "the rider's request over a bare WSGI insert"),
    ("floor", "minimal", "the ceiling any DRF endpoint here can reach"),
)
# Issue 19: on PostgreSQL the rider's request at least half the floor's throughput and no
# lower than the keyless request's figure before it (576 requests/s on a quiet machine).
GOAL_RATIO = 0.5
PROJECT_TARGETS = {"django", "session"}  # the project's own endpoint, however signed in
GOAL_POSTGRES_RPS = 576


def ratios(results) -> dict:
    """database -> {(numerator, denominator): throughput ratio} for the targets that ran."""
    by = {(r.database, r.target): r for r in results}
    out = {}
    for name in dict.fromkeys(r.database for r in results):
        out[name] = {}
        for num, den, _ in RATIOS:
            top, bottom = by.get((name, num)), by.get((name, den))
            if top and bottom and bottom.requests_per_s:
                out[name][num, den] = top.requests_per_s / bottom.requests_per_s
    return out


def verdict(ratio: float) -> str:
    return "meets it" if ratio >= GOAL_RATIO else "misses it"


HEADER = (
    f"{'database':<9} {'target':<8} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
    f"{'app CPU ms/req':>14} {'db CPU ms/req':>13}  rounds req/s"
)


def format_row(r: Result) -> str:
    rounds = " ".join(f"{x:.0f}" for x in r.rounds_rps)
    db_cpu = f"{r.db_cpu_ms:.2f}" if r.database != "sqlite" else "-"
    return (
        f"{r.database:<9} {r.target:<8} {r.requests_per_s:>7.0f} {r.p50_ms:>8.2f} "
        f"{r.p99_ms:>8.2f} {r.errors:>6} {r.app_cpu_ms:>14.2f} {db_cpu:>13}  {rounds}"
    )


def candidates_per_box(unicorns: int, box_km: float = 4.0) -> float:
    lat_km = 2 * FLEET_SPREAD[0] * KM_PER_DEG_LAT
    lon_km = 2 * FLEET_SPREAD[1] * KM_PER_DEG_LAT * math.cos(math.radians(SEATTLE[0]))
    return unicorns / (lat_km * lon_km) * box_km * box_km


def rides_post_markdown(results, versions, options) -> str:
    threads = f" x {options.threads} threads" if options.worker_class == "gthread" else ""
    other = max((r.other_cpu for r in results), default=0.0)
    lines = [
        f"Measured {options.started:%Y-%m-%d %H:%M} UTC at commit `{options.commit}` "
        f"with `{options.command}`.",
        "",
        f"- Machine: {options.machine}",
        f"- Software: {options.software}; {', '.join(versions)}",
        f"- Servers: gunicorn, {options.workers} `{options.worker_class}` workers{threads} "
        "for each target; Django with `DEBUG=false` and otherwise the committed settings' "
        "defaults (logging to the server log), except what the bench sets: the per-rider "
        "request and payment limits far above the load (counted, never reached) and a "
        "service area of 100 km around Seattle (bench/run.py `server_env`). What they run, "
        "read from those settings: "
        + "; ".join(f"{name}: {text}" for name, text in options.server_settings.items())
        + ".",
        "- Targets: django (the project's endpoint, the rider's token); session (the same, "
        "signed in as the ride page is: session and CSRF cookies, `X-CSRFToken`, `Origin`); "
        "floor (bench/drf_floor.py: the project with `api/rides/` routed to a DRF view that "
        "validates the body with the same serializer and inserts one row, the framework's "
        "floor); minimal "
        "(bench/minimal_app.py: a bare WSGI app, one insert).",
        f"- Load: wrk, 1 thread, {options.connections} connections (closed loop); each "
        "request as the ride page sends it (bench/post_ride.lua after "
        "frontend/static/frontend/js/ride.js): a random pickup around Seattle and a drop-off "
        "within ~2 km, a fresh `Idempotency-Key`, a rider with no active ride "
        f"(one rider per request: {options.ride_riders:,} riders, a slice per run); per "
        "target "
        f"{options.warmup:g} s warm-up, then {options.duration:g} s measured in "
        f"{options.rounds} rounds that alternate the order of the targets "
        f"({', '.join(options.targets)}).",
        f"- Fleet: {options.unicorns:,} unicorns over ~100 km x 100 km, about "
        f"{candidates_per_box(options.unicorns):.0f} of them free in the first 4 km x 4 km "
        "dispatch box when the run starts. "
        + (
            f"Active promo campaign: {options.campaigns} (the demo one, budget lifted), "
            "so each ride request draws a discount."
            if options.campaigns not in ("", "-")
            else "No promo campaign."
        ),
        "- requests/s counts 2xx answers; errors are other answers, socket errors and "
        "timeouts; CPU ms/req is CPU time of the gunicorn workers (app) and of the "
        "PostgreSQL server (db) per 2xx answer, from /proc.",
        f"- Other processes on the machine used up to {other:.0%} of its CPU during a "
        "measured round (0% is a quiet machine).",
        "",
        "| database | target | requests/s | p50 ms | p99 ms | errors | app CPU ms/req "
        "| db CPU ms/req | requests/s by round |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        db_cpu = f"{r.db_cpu_ms:.2f}" if r.database != "sqlite" else "-"
        rounds = ", ".join(f"{x:.0f}" for x in r.rounds_rps)
        lines.append(
            f"| {r.database} | {r.target} | {r.requests_per_s:.0f} | {r.p50_ms:.2f} | "
            f"{r.p99_ms:.2f} | {r.errors} | {r.app_cpu_ms:.2f} | {db_cpu} | {rounds} |"
        )
    lines += ["", "| database | throughput ratio | value | meaning |", "|---|---|---:|---|"]
    for db, found in ratios(results).items():
        for num, den, meaning in RATIOS:
            if (num, den) in found:
                ratio = found[num, den]
                if den == "floor" and num in PROJECT_TARGETS:
                    meaning = f"{meaning}: {verdict(ratio)}"
                lines.append(f"| {db} | {num} / {den} | {ratio:.2f} | {meaning} |")
    for r in results:
        if r.database == "postgres" and r.target in PROJECT_TARGETS:
            met = "meets it" if r.requests_per_s >= GOAL_POSTGRES_RPS else "misses it"
            how = "by token" if r.target == "django" else "signed in by session"
            lines += [
                "",
                f"The rider's request on PostgreSQL, {how}: {r.requests_per_s:.0f} requests/s "
                f"against the goal of at least {GOAL_POSTGRES_RPS} (issue 19, on a quiet machine): "
                f"{met}.",
            ]
    return "\n".join(lines)


# --- the run ------------------------------------------------------------------------------


# key -> the section's function, or "module:function" in bench/ (imported when it runs).
SECTIONS = {
    "rides_post": rides_post,
    "events_delivery": "events_bench:events_delivery",
    "payments_post_outbox": "events_bench:payments_post_outbox",
    "payment_lists": "lists_bench:payment_lists",
    "relay_backlog": "relay_backlog:relay_backlog",
    "ride_polling": "poll_bench:ride_polling",
}


def section_function(key: str):
    found = SECTIONS[key]
    if isinstance(found, str):
        module, name = found.split(":")
        found = getattr(importlib.import_module(module), name)
    return found


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    return f"nproc {os.cpu_count()}, CPU {cpu}{memory}, {platform.system()} {platform.release()}"


def software(wrk: str) -> str:
    from importlib.metadata import version

    shown = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    words = (shown.stdout + shown.stderr).split()
    names = ("Django", "djangorestframework", "gunicorn", "psycopg")
    packages = ", ".join(f"{name} {version(name)}" for name in names)
    return (
        f"Python {platform.python_version()}, {packages}, wrk {words[1] if len(words) > 1 else '?'}"
    )


def commit() -> str:
    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs")
    return f"{head}{' + local changes' if dirty else ''}"


def write_docs(sections) -> None:
    text = DOCS.read_text() if DOCS.exists() else ""
    if not text.startswith("# Benchmarks"):
        text = (
            "# Benchmarks\n\n`make bench` (bench/run.py) measures these and rewrites the "
            "part of each section between its markers.\n\n" + text
        )
    for section in sections:
        begin = f"<!-- bench:{section.key}:begin (generated by bench/run.py) -->"
        end = f"<!-- bench:{section.key}:end -->"
        block = f"{begin}\n{section.markdown}\n{end}"
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), flags=re.DOTALL)
        if pattern.search(text):
            text = pattern.sub(lambda _match, b=block: b, text)
        else:
            text = text.rstrip("\n") + f"\n\n## {section.title}\n\n{block}\n"
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(text.rstrip("\n") + "\n")


def serve(options) -> int:
    """Prepare one database and serve one target until interrupted (to profile by hand)."""

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    name, target = options.databases[0], options.serve
    log = options.logdir / f"bench-serve-{name}.log"
    with (
        tempfile.TemporaryDirectory(prefix="wildrydes-bench-serve-") as tmp,
        database(name, Path(tmp)) as db,
    ):
        env = server_env(db.env)
        tokens_file = Path(tmp) / "tokens.txt"
        prepare(db, env, options=options, tokens_file=tokens_file, log=log)
        app, chdir, ready, post, _ = TARGETS[target]
        with gunicorn(app, chdir=chdir, env=env, options=options, log=log) as (base, proc):
            wait_ready(base + ready, proc)
            print(f"{target} on {name}: {base}{post}, gunicorn pid {proc.pid}; log {log}")
            args = " ".join(str(v) for v in (*SEATTLE, *PICKUP_SPREAD, 1))
            riders = sessions_of(tokens_file) if target == "session" else tokens_file
            print(
                f"load: {options.wrk} -t1 -c{options.connections} -d10s -s {WRK_SCRIPT} "
                f"{base}{post} -- {riders} {args}",
                flush=True,
            )
            with contextlib.suppress(KeyboardInterrupt):
                proc.wait()
    return 0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--sections", nargs="+", choices=list(SECTIONS), default=list(SECTIONS),
        help="which sections to run, in this order (default: all)")  # fmt: skip
    add("--databases", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    add("--targets", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    add("--duration", type=float, default=12.0, help="measured seconds per target")
    add("--rounds", type=int, default=4, help="alternating rounds the duration is split in")
    add("--warmup", type=float, default=2.0, help="warm-up seconds per target")
    # Four targets whose rounds vary by 10-20% from one to the next: more rounds than the
    # rides, so that the outbox's 10-20% is measured rather than the noise.
    add("--outbox-duration", type=float, default=24.0, help="saturated seconds per target")
    add("--outbox-rounds", type=int, default=8, help="rounds --outbox-duration is split in")
    add("--connections", type=int, default=8)
    add("--workers", type=int, default=2)
    add("--worker-class", default="sync", choices=["sync", "gthread"])
    add("--threads", type=int, default=1, help="threads per gthread worker")
    add("--unicorns", type=int, default=20_000)
    add("--riders", type=int, default=64)
    add("--active-rides", type=int, default=1000, help="riders on a ride (ride_polling)")
    add(
        "--ride-riders",
        type=int,
        default=24_000,
        help="riders of rides_post (one active ride each: one rider per request)",
    )
    add("--events", type=int, default=1000, help="events per path (events_delivery)")
    add("--list-rows", type=int, default=1_000_000, help="rows of the CSV (payment_lists)")
    add("--backlog-events", type=int, default=1_000_000,
        help="unpublished events the relay drains (relay_backlog)")  # fmt: skip
    add("--list-timeout", type=float, default=900.0,
        help="seconds allowed to each import process (payment_lists)")  # fmt: skip
    add("--no-record", dest="record", action="store_false", help="leave docs/ alone")
    add("--serve", choices=list(TARGETS), help="only serve this target, to profile by hand")
    add("--logdir", type=Path, default=Path(tempfile.gettempdir()))
    options = parser.parse_args(argv)
    options.logdir.mkdir(parents=True, exist_ok=True)
    if not 1 <= options.duration / options.rounds <= 60 or not 0 <= options.warmup <= 30:
        parser.error("keep the load bounded: 1-60 s per round, warm-up at most 30 s")
    if not 1 <= options.events <= 100_000 or not 1 <= options.list_rows <= 10_000_000:
        parser.error("keep the work bounded: 1-100,000 events, 1-10,000,000 list rows")
    if not 1 <= options.backlog_events <= 10_000_000:
        parser.error("keep the work bounded: a backlog of 1-10,000,000 events")
    return options


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    options = parse_args(argv)
    options.wrk = ensure_wrk()
    if "postgres" in options.databases and not pgcluster.available():
        print("!! PostgreSQL binaries not found (apt-get install postgresql): skipping it")
        options.databases = [d for d in options.databases if d != "postgres"]
    if options.serve:
        return serve(options)
    options.started = datetime.datetime.now(datetime.UTC)
    options.server_settings = {}
    options.command = (
        "make bench"
        if os.environ.get("MAKELEVEL") and not argv
        else " ".join([".venv/bin/python bench/run.py", *argv])
    )
    options.commit = commit()
    options.machine = machine()
    options.software = software(options.wrk)
    print(f"{options.machine}\n{options.software}", flush=True)
    if "rides_post" in options.sections:
        print(f"\n{HEADER}", flush=True)
    sections = [section_function(key)(options) for key in options.sections]
    for section in sections:
        print(f"\n## {section.title}\n\n{section.markdown}")
    if options.record:
        write_docs(sections)
        print(f"\nrecorded in {DOCS.relative_to(ROOT)}")
    if any(s.failed for s in sections):
        print(f"\nFAILED: see the errors above and the logs in {options.logdir}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
