"""Sections `events_delivery` and `payments_post_outbox` of `make bench` (see bench/run.py).

events_delivery, per database: events per second delivered on the local path: in-process
after each commit (inline, the default) and by the relay draining a backlog; the work runs in
bench/events_child.py, a child process with Django set up.

payments_post_outbox, per database: `POST /api/payments/` (service key) through gunicorn +
wrk, with the outbox (the project as it is, and with EVENTS_DELIVERY "relay") and
without it (bench/outbox_wsgi.py with BENCH_OUTBOX=off, which makes `emit` a no-op in that
server only), all servers on the same database, warmed up, then measured in rotating
rounds as the rides section does. A round ends only once its events are delivered, and
that drain time counts: each target pays for its own delivery.
"""

import contextlib
import json
import math
import subprocess
import tempfile
import time
from pathlib import Path

import run  # bench/run.py (registered under this name when it runs as __main__)

run_ = run  # for functions whose `run` is a parameter

CHILD = run.BENCH / "events_child.py"
POST_SCRIPT = run.BENCH / "post_payment.lua"
GOAL = 0.20  # the outbox may add under 20% to the request


def _migrate(env: dict, log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run(
            [run.PYTHON, "manage.py", "migrate", "--no-input"],
            cwd=run.ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
        )


def _child(
    args: list, *, env: dict, log: Path, timeout: float, script=CHILD, check: bool = True
) -> str:
    """A bench child's output (`script` with `args`; its stderr and output go to `log`).
    With check=False a child that exits badly after its report is only noted."""
    with log.open("ab") as out:
        done = subprocess.run(
            [run.PYTHON, str(script), *map(str, args)],
            cwd=run.ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=out,
            timeout=timeout,
            check=check,
        )
        out.write(done.stdout)
    if done.returncode:
        print(f"  (the child exited with {done.returncode} after its report)")
    return done.stdout.decode()


def _bench_json(text: str) -> dict:
    for line in text.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise RuntimeError(f"no BENCH_JSON line in:\n{text}")


# --- events_delivery ------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(options, key: str, name: str):
    """Database `name` made for section `key` in a scratch directory (both gone after):
    (db, the directory, the section's log for it, emptied)."""
    log = options.logdir / f"bench-{key}-{name}.log"
    log.unlink(missing_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix=f"wildrydes-bench-{key}-{name}-") as tmp,
        run.database(name, Path(tmp)) as db,
    ):
        yield db, Path(tmp), log


def child_section(options, *, key: str, title: str, measure, line, markdown, note: str = ""):
    """A section whose figures a child process reports, per database: each of
    options.databases fresh and migrated, `measure(db, env, log)` -> the child's report (a
    dict with "problems"), printed by `line`; `markdown(results, versions, options)`."""
    results, versions, problems = [], [], []
    for name in options.databases:
        print(f"\n{key}, {name}:{note}", flush=True)
        with fresh_database(options, key, name) as (db, _, log):
            env = run.server_env(db.env)
            _migrate(env, log)
            found = measure(db, env, log)
            found["database"] = name
            versions.append(run.database_version(db))
        for problem in found["problems"]:
            problems.append(f"{name}: {problem}")
            print(f"  ! {problem}  (log: {log})", flush=True)
        print("  " + line(found), flush=True)
        results.append(found)
    return run.Section(
        key=key,
        title=title,
        markdown=markdown(results, versions, options),
        results=results,
        failed=bool(problems),
    )


def events_delivery(options) -> run.Section:
    def measure(db, env, log):
        args = ["deliver", "--events", options.events]
        for pid in db.server_pids:
            args += ["--db-pid", pid]
        return _bench_json(_child(args, env=env, log=log, timeout=options.events * 0.5 + 120))

    return child_section(
        options,
        key="events_delivery",
        title="Events delivered per second on the local path",
        measure=measure,
        line=_delivery_line,
        markdown=_delivery_markdown,
    )


def _per_event_ms(seconds: float, events: int) -> float:
    return 1000 * seconds / events if events else math.nan


def _delivery_line(r: dict) -> str:
    n, inline, relay = r["events"], r["inline"], r["relay"]
    return (
        f"{r['database']:<9} in-process {n / inline['seconds']:5.0f} events/s "
        f"(delivery {_per_event_ms(inline['delivery_seconds'], n):.2f} ms/event), "
        f"relay {n / relay['seconds']:5.0f} events/s"
    )


def _delivery_markdown(results, versions, options) -> str:
    other = max(
        (max(r[path]["other_cpu"] for path in ("inline", "relay")) for r in results),
        default=0.0,
    )
    lines = [
        f"Measured {options.started:%Y-%m-%d %H:%M} UTC at commit `{options.commit}` "
        f"with `{options.command}`.",
        "",
        f"- Machine: {options.machine}",
        f"- Software: {options.software}; {', '.join(versions)}",
        f"- {options.events:,} PaymentRegistered events per path and database (for payments "
        "created beforehand), one committed transaction per event, each delivered to bi and "
        "notifications (2 ProcessedEvent rows, a daily aggregate update and a notification "
        "per event); 20 events first to warm up. One process "
        "(bench/events_child.py) does it all, one path after the other.",
        '- *in-process*: `EVENTS_DELIVERY = "inline"` (the default), delivery after each '
        "commit in the committing thread (a batch of one): timed from the first emit to the last "
        "delivery; the delivery column is the time spent in `publish_events`. *relay*: the "
        'events are emitted with `EVENTS_DELIVERY = "relay"` (nothing after the commit, as '
        "for a process that died after each commit), then `relay_events()` (batches of "
        "500) runs until the backlog is drained; timed around the relay only.",
        f"- Other processes on the machine used up to {other:.0%} of its CPU meanwhile.",
        "",
        "| database | path | events/s | ms/event | delivery ms/event | app CPU ms/event "
        "| db CPU ms/event |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        n, inline, relay = r["events"], r["inline"], r["relay"]

        def db_cpu(seconds, n=n, pg=r["database"] != "sqlite"):
            return f"{_per_event_ms(seconds, n):.2f}" if pg else "-"

        lines.append(
            f"| {r['database']} | in-process, after each commit | {n / inline['seconds']:.0f} "
            f"| {_per_event_ms(inline['seconds'], n):.2f} "
            f"| {_per_event_ms(inline['delivery_seconds'], n):.2f} "
            f"| {_per_event_ms(inline['app_cpu'], n):.2f} | {db_cpu(inline['db_cpu'])} |"
        )
        lines.append(
            f"| {r['database']} | relay, backlog of {n:,} ({relay['calls']} calls) "
            f"| {n / relay['seconds']:.0f} | {_per_event_ms(relay['seconds'], n):.2f} "
            f"| {_per_event_ms(relay['seconds'], n):.2f} "
            f"| {_per_event_ms(relay['app_cpu'], n):.2f} | {db_cpu(relay['db_cpu'])} |"
        )
    return "\n".join(lines)


# --- payments_post_outbox ------------------------------------------------------------------

# name: (BENCH_OUTBOX, reference prefix); the first is the baseline of the others, the
# second the project as committed (EVENTS_DELIVERY's default: "inline").
OUTBOX_TARGETS = {
    "no outbox": ("off", "off"),
    "outbox, inline (default)": ("on", "on"),
    "outbox, relay": ("relay", "rly"),
}
RELAY_TARGET = "outbox, relay"
# Seconds the relay loop sleeps when it finds nothing (`make run` uses 5); short here so
# that its idle wait adds little to the drain time charged to the relay target.
RELAY_INTERVAL = 0.1
DRAIN_TIMEOUT = 120.0
DRAIN_SETTLE = 0.3  # seconds the backlog must stay empty (requests still in flight)
PACED = {"connections": 2, "pace_ms": 100, "seconds": 9.0, "rounds": 3}


def run_post_wrk(
    url, *, seconds, connections, pace_ms, options, key_file, emails_file, prefix, seed
):
    cmd = [options.wrk, "--threads", "1", "--connections", str(connections)]
    cmd += ["--duration", f"{max(1, round(seconds))}s", "--timeout", "5s"]
    cmd += ["--script", str(POST_SCRIPT), url, "--", str(key_file), str(emails_file)]
    cmd += [prefix, str(seed), str(pace_ms)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return json.loads(line.removeprefix("BENCH_JSON "))
    raise RuntimeError(f"wrk gave no summary (exit {done.returncode}):\n{done.stdout}{done.stderr}")


def _loads(options) -> dict:
    """load name -> (connections, pace ms, measured seconds, rounds)."""
    return {
        "saturated": (options.connections, 0, options.outbox_duration, options.outbox_rounds),
        "paced": (PACED["connections"], PACED["pace_ms"], PACED["seconds"], PACED["rounds"]),
    }


BACKLOG_SQL = (
    "SELECT (SELECT count(*) FROM events_outboxevent WHERE published_at IS NULL)"
    " + (SELECT count(*) FROM events_delivery WHERE status = 'pending')"
)


def _query_row(db, sql: str) -> tuple:
    conn = run.minimal_app.connect(db.env)
    try:
        return tuple(conn.execute(sql).fetchone())
    finally:
        conn.close()


class _Backlog:
    """Events not yet delivered (unpublished, or a delivery still pending), on one
    connection kept open for the whole run (a new PostgreSQL connection per poll would
    cost the server more CPU than the poll)."""

    def __init__(self, db):
        self.conn = run.minimal_app.connect(db.env)
        if db.name == "postgres":
            self.conn.autocommit = True

    def count(self) -> int:
        return self.conn.execute(BACKLOG_SQL).fetchone()[0]

    def drain(self, timeout: float = DRAIN_TIMEOUT) -> tuple[int, float, int]:
        """Wait until nothing is left: (backlog at the start, seconds to empty, left).

        Requests still in flight when wrk stops commit a little later: the backlog must
        stay empty for DRAIN_SETTLE before the round ends (else the relay loop would be
        stopped with their events undelivered). Only the time until it last became
        empty counts; the settling wait does not.
        """
        started = time.monotonic()
        backlog = left = self.count()
        emptied = started if not left else None
        while time.monotonic() - started < timeout:
            if emptied is not None and time.monotonic() - emptied >= DRAIN_SETTLE:
                break
            time.sleep(0.01)
            left = self.count()
            if left:
                emptied = None
            elif emptied is None:
                emptied = time.monotonic()
        waited = (emptied if emptied is not None else time.monotonic()) - started
        return backlog, waited, left

    def close(self):
        self.conn.close()


def _post_database(db, *, options, workdir: Path, log: Path) -> list:
    env = run.server_env(db.env)
    key_file, emails_file = workdir / "key.txt", workdir / "emails.txt"
    started = time.monotonic()
    _migrate(env, log)
    _child(
        [
            "seed-post",
            "--riders",
            options.riders,
            "--key-file",
            key_file,
            "--emails-file",
            emails_file,
        ],
        env=env,
        log=log,
        timeout=300,
    )
    print(f"  prepared in {time.monotonic() - started:.1f} s", flush=True)
    answered = dict.fromkeys(OUTBOX_TARGETS, 0)
    wrk_runs = 0
    results, problems = [], []
    wrk = {"options": options, "key_file": key_file, "emails_file": emails_file}
    env.pop("EVENTS_DELIVERY", None)  # the committed default, whatever this shell has
    with contextlib.ExitStack() as stack:
        backlog = _Backlog(db)
        stack.callback(backlog.close)
        servers = {}
        for target, (switch, _) in OUTBOX_TARGETS.items():
            base, proc = stack.enter_context(
                run.gunicorn(
                    "outbox_wsgi:application",
                    chdir=run.BENCH,
                    env={**env, "BENCH_OUTBOX": switch},
                    options=options,
                    log=log,
                )
            )
            servers[target] = (base + "/api/payments/", proc)
            run.wait_ready(base + "/api/health/", proc)
        for target, (url, _) in servers.items():
            if options.warmup > 0:
                prefix = f"{OUTBOX_TARGETS[target][1]}-w"
                with _relay_loop(env, log, workdir, run=target == RELAY_TARGET):
                    warm = run_post_wrk(
                        url, seconds=options.warmup, connections=options.connections,
                        pace_ms=0, prefix=prefix, seed=7, **wrk,
                    )  # fmt: skip
                    answered[target] += warm["ok"]
                    backlog.drain()
        wrk_runs += options.warmup > 0
        for load, (connections, pace_ms, seconds, rounds) in _loads(options).items():
            runs = {t: [] for t in OUTBOX_TARGETS}
            for round_no in range(rounds):
                # Rotate who goes first, so a drift in background load hits all alike.
                order = list(servers)
                order = order[round_no % len(order) :] + order[: round_no % len(order)]
                for target in order:
                    url, proc = servers[target]
                    prefix = f"{OUTBOX_TARGETS[target][1]}-{load[0]}{round_no}"
                    # The relay loop runs in the relay target's rounds only (else it
                    # would deliver other targets' events), and its CPU is that target's.
                    # Every target pays for its own delivery: the round ends when its
                    # events are delivered, and the wait counts as round time.
                    with (
                        _relay_loop(env, log, workdir, run=target == RELAY_TARGET) as relay,
                        run.CpuMeter(app=[proc.pid, *relay], db=db.server_pids) as meter,
                    ):
                        summary = run_post_wrk(
                            url, seconds=seconds / rounds, connections=connections,
                            pace_ms=pace_ms, prefix=prefix, seed=11 + round_no, **wrk,
                        )  # fmt: skip
                        left_at_end, drain, left = backlog.drain()
                    if left:
                        problems.append(f"{target}: {left} events undelivered after the drain")
                    summary["wrk_duration_us"] = summary["duration_us"]
                    summary["duration_us"] += round(drain * 1e6)
                    summary["drain_s"], summary["backlog"] = drain, left_at_end
                    answered[target] += summary["ok"]
                    runs[target].append((summary, meter))
            wrk_runs += rounds
            for target in OUTBOX_TARGETS:
                result = run.summarize(db, target, runs[target])
                result.load = load
                summaries = [s for s, _ in runs[target]]
                result.drain_s = sum(s["drain_s"] for s in summaries)
                result.backlog_max = max(s["backlog"] for s in summaries)
                result.seconds = sum(s["duration_us"] for s in summaries) / 1e6
                results.append(result)
        left = backlog.drain()[2]
    in_flight = options.connections * wrk_runs
    counts = {}
    for target, (_, prefix) in OUTBOX_TARGETS.items():
        counts[target] = run.query_one(
            db,
            f"SELECT count(*) FROM payments_payment WHERE reference LIKE '{prefix}-%'",  # noqa: S608
        )
    events = run.query_one(db, "SELECT count(*) FROM events_outboxevent")
    processed = run.query_one(db, "SELECT count(*) FROM events_processedevent")
    failed = run.query_one(db, "SELECT count(*) FROM events_delivery")
    for target, rows in counts.items():
        if not 0 <= rows - answered[target] <= in_flight:
            problems.append(f"{target}: {answered[target]} 2xx answers but {rows} payments.")
    expected = sum(rows for target, rows in counts.items() if target != "no outbox")
    if events != expected or processed != 2 * expected or failed or left:
        problems.append(
            f"{expected} payments with the outbox but {events} outbox events, {left} of them "
            f"unpublished, {processed} processed by a subscriber (expected {2 * expected}), "
            f"{failed} failed deliveries."
        )
    # Events per delivery batch: the events of one batch share their published_at.
    reference = "e.data->>'reference'" if db.name == "postgres" else "e.data->>'$.reference'"
    for result in results:
        tag = OUTBOX_TARGETS[result.target][1]
        events, batches = _query_row(
            db,
            "SELECT count(*), count(DISTINCT e.published_at) "  # noqa: S608
            f"FROM events_outboxevent e WHERE {reference} LIKE '{tag}-{result.load[0]}%'",
        )
        result.per_batch = events / batches if batches else math.nan
    for result in results:
        if result.target == "no outbox" and result.load == "saturated":
            result.detail += " ".join(problems)
    return results


@contextlib.contextmanager
def _relay_loop(env: dict, log: Path, workdir: Path, *, run: bool):
    """`manage.py relay_events --loop` beside the servers, as `make run` has it, started
    (and Django set up) before the round; yields its pid in a list (empty if not `run`)."""
    if not run:
        yield []
        return
    ready = workdir / "relay.ready"
    ready.unlink(missing_ok=True)
    cmd = [run_.PYTHON, str(CHILD), "relay", "--interval", str(RELAY_INTERVAL)]
    cmd += ["--ready-file", str(ready)]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=run_.ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the relay loop did not start (log: {log})")
            time.sleep(0.05)
        yield [proc.pid]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def payments_post_outbox(options) -> run.Section:
    results, versions = [], []
    for name in options.databases:
        print(f"\npayments_post_outbox, {name}:", flush=True)
        with fresh_database(options, "payments_post_outbox", name) as (db, workdir, log):
            found = _post_database(db, options=options, workdir=workdir, log=log)
            versions.append(run.database_version(db))
        for result in found:
            print(
                f"  {result.load:<9} " + run.format_row(result) + f"  drain {result.drain_s:.2f} s,"
                f" backlog {result.backlog_max}, {result.per_batch:.1f} events/batch",
                flush=True,
            )
            if result.detail:
                print(f"  ! {result.detail.strip()}  (log: {log})", flush=True)
        for (database, load, target), cost in overheads(found).items():
            print(f"  {database} {load}, {target}: {_cost_line(cost)}", flush=True)
        results += found
    return run.Section(
        key="payments_post_outbox",
        title="POST /api/payments/ with and without the outbox",
        markdown=_post_markdown(results, versions, options),
        results=results,
        failed=any(r.errors or r.detail for r in results),
    )


def overheads(results) -> dict:
    """(database, load, target) -> what that outbox variant adds to the request without it."""
    base = {(r.database, r.load): r for r in results if r.target == "no outbox"}
    out = {}
    for r in results:
        off = base.get((r.database, r.load))
        if r.target == "no outbox" or not (off and r.requests_per_s and off.requests_per_s):
            continue
        pg = r.database != "sqlite"
        cpu_on = r.app_cpu_ms + (r.db_cpu_ms if pg else 0)
        cpu_off = off.app_cpu_ms + (off.db_cpu_ms if pg else 0)
        out[(r.database, r.load, r.target)] = {
            "time": off.requests_per_s / r.requests_per_s - 1,  # time per request
            "p50": r.p50_ms / off.p50_ms - 1,
            "p99": r.p99_ms / off.p99_ms - 1,
            "cpu": cpu_on / cpu_off - 1 if cpu_off else math.nan,
        }
    return out


def _goal_figure(load: str, cost: dict) -> float:
    """Saturated: time per request (1/throughput); paced: median latency."""
    return cost["time"] if load == "saturated" else cost["p50"]


def _verdict(cost: float) -> str:
    return "meets it" if cost < GOAL else "misses it"


def _cost_line(cost: dict) -> str:
    return (
        f"time per request (1/throughput) {cost['time']:+.0%}, p50 {cost['p50']:+.0%}, "
        f"p99 {cost['p99']:+.0%}, CPU per request {cost['cpu']:+.0%}"
    )


def _post_markdown(results, versions, options) -> str:
    other = max((r.other_cpu for r in results), default=0.0)
    connections, pace, seconds, rounds = _loads(options)["paced"]
    lines = [
        f"Measured {options.started:%Y-%m-%d %H:%M} UTC at commit `{options.commit}` "
        f"with `{options.command}`.",
        "",
        f"- Machine: {options.machine}",
        f"- Software: {options.software}; {', '.join(versions)}",
        f"- Servers: gunicorn, {options.workers} `{options.worker_class}` workers per target, "
        "`DEBUG=false`, the committed settings, all three on the same database: "
        "bench/outbox_wsgi.py with `BENCH_OUTBOX=off` (*no outbox*: `emit` a no-op), `on` "
        "(*outbox, inline (default)*: the project as committed, `EVENTS_DELIVERY` left to "
        'its default, "inline": delivery to bi and notifications after commit, before the '
        "answer, a batch of one) and `relay` "
        '(*outbox, relay*: `EVENTS_DELIVERY = "relay"`, the request only writes the event; '
        f"`manage.py relay_events --loop --interval {RELAY_INTERVAL:g}` runs beside the "
        "servers and delivers; its CPU is counted in that target's app CPU).",
        f"- Load: wrk, 1 thread, `Authorization: Api-Key` of the organization, a unique "
        f"reference per request, a random payer among {options.riders} riders (so "
        "notifications has someone to tell). *saturated*: "
        f"{options.connections} connections in a closed loop, {options.warmup:g} s warm-up per "
        f"target, then {options.outbox_duration:g} s per target in {options.outbox_rounds} "
        f"rounds that rotate the targets. *paced*: {connections} connections, each waiting "
        f"{pace / 2:g}-{pace * 1.5:g} ms after an answer, {seconds:g} s per target in {rounds} "
        "rounds: a load the slowest target serves without queueing, to see what a request "
        "costs in latency.",
        "- Each target pays for its own delivery: after wrk stops, a round lasts until its "
        "events are all delivered (no unpublished event, no pending delivery), and that "
        "drain time counts in the round's time, so requests/s is 201 answers / (load time + "
        "drain time); nothing a target leaves undelivered spills into another's round. "
        "*backlog* is the most events left undelivered when wrk stopped, in any round; "
        "*events/batch* how many events one delivery pass handed to the subscribers, on "
        "average (the events of a pass share their published_at).",
        "- CPU ms/req is CPU time per 201 answer of the gunicorn workers (app: request "
        "threads; plus the relay loop for *relay*) and of the "
        "PostgreSQL server (db), from /proc, over load and drain. Checked after the run: one "
        "payment per 201, one outbox event per payment with the outbox and none without, "
        "all published, each processed by both subscribers (bi, notifications), no failed "
        "delivery.",
        f"- Other processes on the machine used up to {other:.0%} of its CPU during a "
        "measured round.",
        "",
        "| database | load | target | requests/s | p50 ms | p99 ms | errors | app CPU ms/req "
        "| db CPU ms/req | drain s (backlog) | events/batch | requests/s by round |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        db_cpu = f"{r.db_cpu_ms:.2f}" if r.database != "sqlite" else "-"
        by_round = ", ".join(f"{x:.0f}" for x in r.rounds_rps)
        lines.append(
            f"| {r.database} | {r.load} | {r.target} | {r.requests_per_s:.0f} | "
            f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} | {r.app_cpu_ms:.2f} | {db_cpu} "
            f"| {r.drain_s:.2f} ({r.backlog_max}) "
            f"| {'-' if math.isnan(r.per_batch) else f'{r.per_batch:.1f}'} | {by_round} |"
        )
    lines += [
        "",
        "What the outbox adds to the request without it (goal: under 20%, judged on the "
        "default, *inline*; on the time per request at saturation, 1/throughput with the "
        "drain, and on the median latency when paced):",
        "",
        "| database | load | target | time per request | p50 | p99 | CPU per request "
        "| goal < 20% |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for (name, load, target), cost in overheads(results).items():
        lines.append(
            f"| {name} | {load} | {target} | {cost['time']:+.0%} | {cost['p50']:+.0%} "
            f"| {cost['p99']:+.0%} | {cost['cpu']:+.0%} "
            f"| {_verdict(_goal_figure(load, cost))} |"
        )
    return "\n".join(lines)
