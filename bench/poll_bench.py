"""Section `ride_polling` of `make bench` (see bench/run.py): what the ride page's polling
costs per active rider.

During a ride the page (frontend/static/frontend/js/ride.js) asks `GET /api/rides/{id}/`
every POLL_SECONDS while it is in view. Per database: seed a fleet and riders, give each
rider an active ride (booked through the rides service, as the API does), start the
project under gunicorn and drive it with wrk (bench/get_ride.lua: each request a random
rider's own ride, with its token) at full speed for a fixed time. From the answers and
the CPU used (gunicorn workers; the PostgreSQL server) per answer follow the figures that
matter: requests per second per 1,000 active rides (1,000 / POLL_SECONDS), CPU per poll,
and how many active rides one core of app CPU follows.
"""

import contextlib
import math
import subprocess
import tempfile
import time
from pathlib import Path

import run  # bench/run.py (registered under this name when it runs as __main__)

POLL_SECONDS = 2.0  # ride.js: POLL_MS while the page is in view
SCRIPT = run.BENCH / "get_ride.lua"
BOOK = """
import sys, django
django.setup()
from rest_framework.authtoken.models import Token
from rides import services
tokens = dict(Token.objects.values_list("user_id", "key"))
from accounts.models import User
lines = []
for n, user in enumerate(User.objects.filter(pk__in=tokens).order_by("pk")[: int(sys.argv[1])]):
    point = services.Point(47.6062 + (n % 40 - 20) * 0.004, -122.3321 + (n // 40 % 40 - 20) * 0.004)
    ride = services.request_ride(rider=user, pickup=point)
    lines.append(f"{tokens[user.pk]} {ride.id}")
open(sys.argv[2], "w").write("\\n".join(lines) + "\\n")
print(len(lines))
"""


def bench_database(db, *, options, workdir: Path, log: Path) -> dict:
    env = run.server_env(db.env)
    # The unicorns stay on their way for the whole run: every poll is the read path
    # (a poll that records an arrival is one write in a ride's life, not per poll).
    env.update(RIDE_TIME_SCALE="1", EVENTS_DELIVERY="inline")
    tokens_file = workdir / "tokens.txt"
    run.prepare(
        db, env, options=options, tokens_file=tokens_file, log=log, riders=options.active_rides
    )
    rides_file = workdir / "rides.txt"
    with log.open("ab") as out:
        booked = subprocess.run(
            [run.PYTHON, "-c", BOOK, str(options.active_rides), str(rides_file)],
            cwd=run.ROOT, env=env, stdout=subprocess.PIPE, stderr=out, check=True,
        ).stdout.decode().strip()  # fmt: skip
    app, chdir, ready, _, _ = run.TARGETS["django"]
    with run.gunicorn(app, chdir=chdir, env=env, options=options, log=log) as (base, proc):
        run.wait_ready(base + ready, proc)
        url = base + "/api/rides/"
        if options.warmup > 0:
            run.wrk(url, SCRIPT, [rides_file], seconds=options.warmup, options=options)
        summaries, meters, per_round = [], [], options.duration / options.rounds
        for _ in range(options.rounds):
            with run.CpuMeter(app=[proc.pid], db=db.server_pids) as meter:
                summaries.append(
                    run.wrk(url, SCRIPT, [rides_file], seconds=per_round, options=options)
                )
            meters.append(meter)
    seconds = sum(s["duration_us"] for s in summaries) / 1e6
    ok = sum(s["ok"] for s in summaries)
    errors = sum(s["non2xx"] + s["socket_errors"] + s["timeouts"] for s in summaries)
    app_ms = sum(m.seconds["app"] for m in meters) * 1000 / ok if ok else math.nan
    db_ms = sum(m.seconds["db"] for m in meters) * 1000 / ok if ok else math.nan
    first_error = next((s["first_error"] for s in summaries if s["first_error"]), "")
    return {
        "database": db.name,
        "version": run.database_version(db),
        "active_rides": int(booked or 0),
        "polls_per_s": ok / seconds if seconds else 0.0,
        "p50_ms": run.merged_percentile(summaries, 50) / 1000,
        "p99_ms": run.merged_percentile(summaries, 99) / 1000,
        "app_cpu_ms": app_ms,
        "db_cpu_ms": db_ms,
        "errors": errors,
        "first_error": first_error,
        "other_cpu": max(m.other / m.machine_capacity for m in meters if m.machine_capacity),
    }


def ride_polling(options) -> "run.Section":
    results = []
    for name in options.databases:
        print(f"\n{name}:", flush=True)
        log = options.logdir / f"bench-ride_polling-{name}.log"
        log.unlink(missing_ok=True)
        started = time.monotonic()
        with (
            tempfile.TemporaryDirectory(prefix=f"wildrydes-poll-{name}-") as tmp,
            run.database(name, Path(tmp)) as db,
        ):
            result = bench_database(db, options=options, workdir=Path(tmp), log=log)
        print(
            f"  {result['polls_per_s']:.0f} polls/s, p50 {result['p50_ms']:.1f} ms, "
            f"app CPU {result['app_cpu_ms']:.2f} ms/poll, db CPU {result['db_cpu_ms']:.2f} "
            f"ms/poll, errors {result['errors']} ({time.monotonic() - started:.0f} s)",
            flush=True,
        )
        if result["errors"]:
            print(f"  ! first error: {result['first_error']}  (log: {log})", flush=True)
        results.append(result)
    return run.Section(
        key="ride_polling",
        title="The ride page's polling, per active rider",
        markdown=markdown(results, options),
        results=results,
        failed=any(r["errors"] for r in results),
    )


def markdown(results, options) -> str:
    per_1000 = 1000 / POLL_SECONDS
    other = max((r["other_cpu"] for r in results), default=0.0)
    lines = [
        f"Measured {options.started:%Y-%m-%d %H:%M} UTC at commit `{options.commit}` "
        f"with `{options.command}`.",
        "",
        f"- Machine: {options.machine}",
        f"- Software: {options.software}; {', '.join(r['version'] for r in results)}",
        f"- What the page does: during a ride, `GET /api/rides/{{id}}/` every {POLL_SECONDS:g} s "
        "while in view (15 s in a background tab), so 1,000 active rides ask "
        f"{per_1000:.0f} requests/s at most.",
        f"- Run: {results[0]['active_rides'] if results else 0:,} active rides (booked through "
        "the rides service; the unicorns on their way, so every poll is the read path: "
        "the ride, its unicorn's position and ETA worked out from time, the rider); gunicorn, "
        f"{options.workers} `{options.worker_class}` workers; wrk, 1 thread, "
        f"{options.connections} connections, each request a random rider's own ride with "
        f"its token (bench/get_ride.lua); {options.warmup:g} s warm-up, then "
        f"{options.duration:g} s in {options.rounds} rounds.",
        "- CPU ms/poll is CPU time of the gunicorn workers (app) and of the PostgreSQL "
        "server (db) per answer, from /proc; cores per 1,000 rides = "
        f"{per_1000:.0f} polls/s x CPU per poll.",
        f"- Other processes on the machine used up to {other:.0%} of its CPU during a round.",
        "",
        "| database | polls/s (2 workers, saturated) | p50 ms | p99 ms | errors "
        "| app CPU ms/poll | db CPU ms/poll | req/s per 1,000 active rides "
        "| app cores per 1,000 active rides | active rides per app core |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        cores = per_1000 * r["app_cpu_ms"] / 1000
        db_part = f"{r['db_cpu_ms']:.2f}" if r["database"] == "postgres" else "(in app)"
        lines.append(
            f"| {r['database']} | {r['polls_per_s']:.0f} | {r['p50_ms']:.1f} | "
            f"{r['p99_ms']:.1f} | {r['errors']} | {r['app_cpu_ms']:.2f} | {db_part} | "
            f"{per_1000:.0f} | {cores:.2f} | {1000 / cores:,.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    with contextlib.suppress(KeyboardInterrupt):
        raise SystemExit(run.main(["--sections", "ride_polling"]))
