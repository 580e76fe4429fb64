"""Lock waits under the rider journey on PostgreSQL, counted as a rider feels them.

`log_lock_waits` only reports a wait longer than `deadlock_timeout` for one lock, so a
statement that waits a little for each of a chain of row locks never shows up. This
samples `pg_locks` (joined to `pg_stat_activity`) every ~10 ms while 48 riders request,
board and complete rides (load/run.py's server, seed and riders, with events delivered
inline as on Lambda) and measures each blocked statement, identified by backend pid and
query start, from when it started waiting (`pg_locks.waitstart`, exact) to the last
sample that still saw it waiting (so the figure is short by less than one sampling
period): a chain of short waits counts as one long one. Reported per statement text,
longest first; the goal is no statement waiting more than 100 ms.

    .venv/bin/python load/lockwaits.py                  # 48 riders, 60 s
    .venv/bin/python load/lockwaits.py --duration 20 --json /tmp/lockwaits.json

Loopback only, bounded in time; exit status 1 when a statement waited over the goal.
"""

import argparse
import json
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

LOAD = Path(__file__).resolve().parent
ROOT = LOAD.parent
sys.path.insert(0, str(ROOT))

from load import client  # noqa: E402
from load import run as load_run  # noqa: E402

GOAL_MS = 100.0

# Every lock a backend is waiting for now, with what it runs and who holds it up.
SAMPLE_SQL = """
SELECT l.pid, a.query_start, l.waitstart, clock_timestamp(), l.locktype, l.mode,
       l.relation::regclass::text, a.query,
       (SELECT b.query FROM pg_stat_activity b WHERE b.pid = (pg_blocking_pids(l.pid))[1])
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE NOT l.granted AND a.datname = current_database()
"""


# After the run: the campaigns' budgets against what their slices and awards say was spent.
BUDGET_CHECK = """
import json
from django.db.models import Sum
from promos.models import Campaign, DiscountAward
from promos.selectors import budget_spent_minor
print(json.dumps([
    {"campaign": c.name, "budget_minor": c.budget_minor, "spent_minor": budget_spent_minor(c.pk),
     "awarded_minor": DiscountAward.objects.filter(campaign=c, released_at__isnull=True)
     .aggregate(s=Sum("discount_minor"))["s"] or 0}
    for c in Campaign.objects.all()
]))
"""


# --- the arithmetic (pure) -----------------------------------------------------------------


@dataclass
class BlockedStatement:
    """One execution of a statement (backend pid + query start) seen waiting for locks."""

    query: str
    first_wait: datetime  # when its first wait began (pg_locks.waitstart)
    last_seen: datetime  # the last sample that saw it still waiting
    locks: set = field(default_factory=set)  # (waitstart, locktype, relation): the chain
    blockers: set = field(default_factory=set)

    @property
    def wait_ms(self) -> float:
        return (self.last_seen - self.first_wait).total_seconds() * 1000


def fold_sample(statements: dict, rows) -> None:
    """Add one sample's rows (pid, query_start, waitstart, now, locktype, mode, relation,
    query, blocker_query) to `statements`, keyed by (pid, query_start)."""
    for pid, query_start, waitstart, now, locktype, _mode, relation, query, blocker in rows:
        if waitstart is None:  # granted between the two views: not waiting any more
            continue
        key = (pid, query_start)
        seen = statements.get(key)
        if seen is None:
            seen = statements[key] = BlockedStatement(query, waitstart, now)
        seen.first_wait = min(seen.first_wait, waitstart)
        seen.last_seen = max(seen.last_seen, now)
        seen.locks.add((waitstart, locktype, relation))
        if blocker:
            seen.blockers.add(shape(blocker))


def shape(query: str) -> str:
    """A statement's text without its values, so executions of it group together."""
    query = re.sub(r"'(?:[^']|'')*'", "?", query)
    query = re.sub(r"\b\d+(?:\.\d+)?\b", "?", query)
    query = re.sub(r"\(\s*\?(?:\s*,\s*\?)*\s*\)", "(?...)", query)
    return re.sub(r"\s+", " ", query).strip()


def report(statements: dict, goal_ms: float = GOAL_MS) -> dict:
    """Per statement shape: how many executions waited, the longest wait (ms), the longest
    chain (distinct locks one execution waited for), how many waited over the goal, and
    what held them up."""
    by_shape: dict = {}
    for seen in statements.values():
        entry = by_shape.setdefault(
            shape(seen.query),
            {"waits": 0, "longest_ms": 0.0, "longest_chain": 0, "over_goal": 0, "blockers": set()},
        )
        entry["waits"] += 1
        if seen.wait_ms >= entry["longest_ms"]:
            entry["longest_at"] = seen.first_wait.isoformat(timespec="milliseconds")
        entry["longest_ms"] = max(entry["longest_ms"], seen.wait_ms)
        entry["longest_chain"] = max(entry["longest_chain"], len(seen.locks))
        entry["over_goal"] += seen.wait_ms > goal_ms
        entry["blockers"] |= seen.blockers
    rows = [
        {"statement": text, **entry, "longest_ms": round(entry["longest_ms"], 1),
         "blockers": sorted(entry["blockers"])[:3]}
        for text, entry in by_shape.items()
    ]  # fmt: skip
    rows.sort(key=lambda row: -row["longest_ms"])
    return {
        "blocked_statements": len(statements),
        "longest_ms": rows[0]["longest_ms"] if rows else 0.0,
        "over_goal": sum(row["over_goal"] for row in rows),
        "goal_ms": goal_ms,
        "statements": rows,
    }


# --- the sampler ---------------------------------------------------------------------------


class Sampler(threading.Thread):
    """Samples the lock waits of `database_url` every `period_s` until stopped."""

    def __init__(self, database_url: str, period_s: float = 0.01):
        super().__init__(daemon=True)
        self.database_url, self.period_s = database_url, period_s
        self.statements: dict = {}
        self.samples = 0
        self.busiest_sample = 0
        self.stopped = threading.Event()
        self.error: Exception | None = None

    def run(self):
        import psycopg

        try:
            with psycopg.connect(self.database_url, autocommit=True) as conn:
                while not self.stopped.is_set():
                    started = time.monotonic()
                    rows = conn.execute(SAMPLE_SQL).fetchall()
                    fold_sample(self.statements, rows)
                    self.samples += 1
                    self.busiest_sample = max(self.busiest_sample, len(rows))
                    self.stopped.wait(max(0.0, self.period_s - (time.monotonic() - started)))
        except Exception as error:  # reported by the caller; the load goes on
            self.error = error

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)


# --- the run -------------------------------------------------------------------------------


def measure(options) -> dict:
    options.logdir.mkdir(parents=True, exist_ok=True)
    log = options.logdir / "lockwaits.log"
    log.write_text("")
    with (
        tempfile.TemporaryDirectory(prefix="wildrydes-lockwaits-") as tmp,
        load_run.database("postgres", Path(tmp)) as db_env,
    ):
        env = load_run.server_env(db_env)
        env["EVENTS_DELIVERY"] = "inline"  # as on Lambda: before the answer
        load_run.run_python(["manage.py", "migrate", "--no-input", "-v0"], env=env, log=log)
        riders_file = Path(tmp) / "riders.txt"
        load_run.run_python(
            [
                str(LOAD / "seed.py"), "--unicorns", str(options.unicorns),
                "--riders", str(options.riders), "--password", options.password,
                "--center", *map(str, load_run.SEATTLE),
                "--spread", *map(str, load_run.FLEET_SPREAD), "--riders-file", str(riders_file),
            ],
            env=env, log=log,
        )  # fmt: skip
        if options.budget:  # the seed lifts it; draws take the budget path, as in production
            code = "from promos.models import Campaign; "
            code += f"Campaign.objects.update(budget_minor={options.budget})"
            load_run.run_python(["manage.py", "shell", "-c", code], env=env, log=log)
        options.emails = riders_file.read_text().split()
        with load_run.gunicorn(env=env, options=options, log=log) as base_url:
            plan = client.Plan(
                base_url=base_url, emails=options.emails, password=options.password,
                duration_s=options.duration, processes=options.client_processes,
                center=load_run.SEATTLE, spread=load_run.RIDE_SPREAD,
            )  # fmt: skip
            signed_in = client.sign_in_all(plan)
            load_before = Path("/proc/loadavg").read_text().split()[:3]
            sampler = Sampler(db_env["DATABASE_URL"], options.period)
            sampler.start()
            try:
                result = client.run(plan, signed_in["tokens"])
            finally:
                sampler.stop()
            load_after = Path("/proc/loadavg").read_text().split()[:3]
        checked = load_run.run_python(["manage.py", "shell", "-c", BUDGET_CHECK], env=env, log=log)
        budget = json.loads(checked.strip().splitlines()[-1])
    if sampler.error:
        raise RuntimeError(f"the sampler failed: {sampler.error}")
    samples = result["samples"]
    found = report(sampler.statements, options.goal)
    found.update(
        riders=len(signed_in["tokens"]),
        requests=sum(1 for s in samples if s[3] > 0),
        server_errors=sum(1 for s in samples if s[3] >= 500),
        journeys=sum(1 for a in result["acks"] if a["completed"]),
        span_s=round(result["span_s"], 1),
        samples=sampler.samples,
        sample_every_ms=round(result["span_s"] / max(sampler.samples, 1) * 1000, 1),
        most_waiting_at_once=sampler.busiest_sample,
        budget=budget,
        workers=options.workers,
        load_average_before=" ".join(load_before),
        load_average_after=" ".join(load_after),
    )
    return found


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--riders", type=int, default=48)
    add("--duration", type=float, default=60.0, help="seconds of load")
    add("--unicorns", type=int, default=600)
    add("--workers", type=int, default=8, help="gunicorn sync workers (concurrent requests)")
    add("--client-processes", type=int, default=2)
    add("--period", type=float, default=0.01, help="seconds between samples")
    add("--goal", type=float, default=GOAL_MS, help="longest acceptable wait, ms")
    add("--budget", type=int, default=10**12, help="campaign budget, minor units (0: none)")
    add("--json", type=Path, help="also write the figures to this file")
    add("--logdir", type=Path, default=Path(tempfile.gettempdir()))
    options = parser.parse_args(argv)
    if not 1 <= options.duration <= 600:
        parser.error("keep the load bounded: 1-600 s")
    options.worker_class, options.threads = "sync", 1
    options.password = load_run.secrets.token_urlsafe(16)
    return options


def main(argv=None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    if not load_run.pgcluster.available():
        print("PostgreSQL server binaries not found (apt-get install postgresql).")
        return 1
    found = measure(options)
    print(json.dumps({k: v for k, v in found.items() if k != "statements"}, indent=1))
    print(f"\nStatements that waited for a lock (longest first; goal {options.goal:.0f} ms):")
    for row in found["statements"][:15]:
        print(
            f"  {row['longest_ms']:8.1f} ms  waits {row['waits']:5d}  "
            f"chain {row['longest_chain']:3d}  over {row['over_goal']:4d}  "
            f"{row['statement'][:150]}"
        )
        print(f"{'':24}longest began at {row['longest_at']}")
        for blocker in row["blockers"]:
            print(f"{'':24}held up by: {blocker[:140]}")
    if options.json:
        options.json.write_text(json.dumps(found, indent=1, default=str))
    overspent = [
        c for c in found["budget"]
        if c["spent_minor"] != c["awarded_minor"]
        or (c["budget_minor"] is not None and c["spent_minor"] > c["budget_minor"])
    ]  # fmt: skip
    if overspent:
        print(f"\nFAILED: budget and awards disagree or overspent: {overspent}")
        return 1
    if found["over_goal"] or found["server_errors"]:
        print(f"\nFAILED: {found['over_goal']} statements waited over {options.goal:.0f} ms; "
              f"{found['server_errors']} answers were 5xx")  # fmt: skip
        return 1
    print(f"\nlock waits: none over {options.goal:.0f} ms.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
