"""CPU per rider's ride request, in-process, on PostgreSQL: this tree against git refs.

The wrk bench (bench/run.py `rides_post`) measures throughput; its round-to-round spread
(about 10%) hides a change of a few percent. This calls the project's WSGI application
in a loop instead (no server, no load generator), with the request the ride page sends
(bench/post_ride.lua: a rider's token, a fresh `Idempotency-Key`, pickup and drop-off),
each from a rider with no active ride, and reads the CPU the process and the PostgreSQL
server used per request. Trees run in interleaved rounds (A B B A ...), each round a
fresh process, so that background load hits all alike; medians are reported.

    .venv/bin/python bench/ride_cpu.py                       # this tree alone
    .venv/bin/python bench/ride_cpu.py --against HEAD~2 HEAD # and those commits
    .venv/bin/python bench/ride_cpu.py --statements          # and one request's statements
    .venv/bin/python bench/ride_cpu.py --auth token session  # signed in as the page is, too
    .venv/bin/python bench/ride_cpu.py --profile /tmp/ride.prof  # where the CPU goes (pstats)

One throwaway PostgreSQL (tests/pgcluster.py, with pg_stat_statements), migrated by this
tree and seeded as the wrk bench seeds (bench/seed.py: 20,000 unicorns, the demo campaign
with its budget lifted), so the trees compared must share migrations. The settings are
the committed defaults plus bench/run.py `server_env`, as under the wrk bench; riders'
rides are cancelled and their unicorns freed between rounds. `--statements` lists what
one request runs (pg_stat_statements: calls, mean execution time and rows per request;
each statement outside BEGIN ... COMMIT is a transaction of its own; the foreign-key
checks' SELECT ... FOR KEY SHARE run inside the statements that write the keys). Heavy:
on a shared machine, run it under the machine lock the wrk bench takes.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import run  # bench/run.py (bench/ is sys.path[0]): the wrk bench's fleet, settings, /proc

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
RESET = [
    "UPDATE rides_ride SET status = 'cancelled' "
    "WHERE status IN ('assigned', 'arrived', 'in_progress')",
    "UPDATE rides_unicorn SET is_available = true WHERE NOT is_available",
]


def server_ticks(postmaster: int) -> int:
    """CPU clock ticks of the PostgreSQL server and its processes so far (read from /proc
    as the wrk bench reads them)."""
    return sum(run._tree_ticks(run._processes(), [postmaster]).values())


def child(args) -> None:
    """In a fresh process: the project of `args.tree`, `args.requests` ride requests."""
    sys.path.insert(0, args.tree)
    os.chdir(args.tree)
    import io
    import logging

    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    logging.disable(logging.INFO)  # the server writes its log to a file; keep stdout clean
    tokens = Path(args.tokens).read_text().split()
    sessions = Path(args.tokens).with_name("sessions.txt").read_text().splitlines()
    rng = random.Random(args.first)
    statuses: dict[str, int] = {}

    def request(rider: int) -> None:
        lat = run.SEATTLE[0] + (2 * rng.random() - 1) * run.PICKUP_SPREAD[0]
        lon = run.SEATTLE[1] + (2 * rng.random() - 1) * run.PICKUP_SPREAD[1]
        off = (0.005 + 0.012 * rng.random()) * rng.choice((-1, 1))
        body = json.dumps(
            {
                "pickup": {"latitude": round(lat, 6), "longitude": round(lon, 6)},
                "dropoff": {
                    "latitude": round(lat + off, 6),
                    "longitude": round(lon + (2 * rng.random() - 1) * 0.02, 6),
                },
            }
        ).encode()
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/api/rides/", "SCRIPT_NAME": "",
            "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000",
            "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True,
            "wsgi.run_once": False, "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)), "HTTP_ACCEPT": "application/json",
            "HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex,
        }  # fmt: skip
        if args.auth == "session":
            environ.update(signed_in_headers(sessions[rider % len(sessions)]))
        else:
            environ["HTTP_AUTHORIZATION"] = f"Token {tokens[rider % len(tokens)]}"
        status = []
        answer = application(environ, lambda line, headers, *_: status.append(line[:3]))
        b"".join(answer)
        answer.close()
        statuses[status[0]] = statuses.get(status[0], 0) + 1

    rider = args.first
    for _ in range(args.warmup):
        request(rider)
        rider += 1
    if args.statements:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_statements_reset()")
    statuses.clear()
    profiler = None
    if args.profile:
        import cProfile

        # CPU, not waits for the database; its own cost inflates a request about 5x, most
        # where Python makes the most calls, so read shares, never milliseconds.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
    cpu, db = time.process_time(), server_ticks(args.postmaster)
    for _ in range(args.requests):
        request(rider)
        rider += 1
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    app_ms = 1000 * (time.process_time() - cpu) / args.requests
    db_ms = 1000 * (server_ticks(args.postmaster) - db) / os.sysconf("SC_CLK_TCK")
    print(json.dumps({"app_ms": app_ms, "db_ms": db_ms / args.requests, "statuses": statuses}))


def signed_in_headers(sessions: str) -> dict:
    """The headers the ride page sends signed in (frontend/static/frontend/js/api.js): the
    session and CSRF cookies, X-CSRFToken and the page's Origin; bench/seed.py made the
    sessions as a sign-in would."""
    from django.conf import settings

    key, csrf = sessions.split()
    return {
        "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={key}; {settings.CSRF_COOKIE_NAME}={csrf}",
        "HTTP_X_CSRFTOKEN": csrf,
        "HTTP_ORIGIN": "http://127.0.0.1",
    }


STATEMENTS = r"""
SELECT sum(calls), round(sum(total_exec_time)::numeric / sum(calls), 3), sum(rows),
       regexp_replace(regexp_replace(query, '\s+', ' ', 'g'), '"s\d+_x\d+"', '"sN"', 'g') AS q
FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
GROUP BY q ORDER BY min(queryid) = 0, sum(calls) DESC, q
"""


def list_statements(url: str, requests: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(STATEMENTS).fetchall()
    total = sum(calls for calls, *_ in rows) / requests
    print(f"\nStatements per request ({total:.1f}; each line: calls per request, mean ms, rows):")
    for calls, mean, count, query in rows:
        if calls / requests >= 0.01:
            print(f"  {calls / requests:5.2f}  {mean:6.3f}  {count / requests:5.2f}  {query[:150]}")


def export(ref: str, into: Path) -> str:
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True)
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return str(into)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--against", nargs="*", default=[], help="git refs to compare this tree with")
    add("--rounds", type=int, default=6)
    add("--requests", type=int, default=300, help="measured requests per round")
    add("--warmup", type=int, default=60, help="requests before each round's measure")
    add("--statements", action="store_true", help="list one request's statements")
    add("--profile", help="cProfile the last round of this tree into this file")
    add("--auth", choices=("token", "session"), nargs="+", default=["token"],
        help="the rider's token and/or the signed-in page's session cookie with CSRF")  # fmt: skip
    for name in ("--child", "--tree", "--tokens", "--first", "--postmaster"):
        add(name, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        args.auth = args.auth[0]
        for name in ("first", "postmaster"):
            setattr(args, name, int(getattr(args, name)))
        child(args)
        return 0

    from tests import pgcluster

    rides = args.rounds * (args.requests + args.warmup) * (1 + len(args.against)) * len(args.auth)
    with (
        tempfile.TemporaryDirectory(prefix="wildrydes-ride-cpu-") as tmp,
        pgcluster.running_cluster(shared_preload_libraries="pg_stat_statements") as cluster,
    ):
        sources = {"this tree": str(ROOT)}
        sources.update(
            {ref: export(ref, Path(tmp) / f"tree{i}") for i, ref in enumerate(args.against)}
        )
        # Each tree with each way of signing in: (folder, auth) by name.
        trees = {
            name if len(args.auth) == 1 else f"{name}, {auth}": (folder, auth)
            for name, folder in sources.items()
            for auth in args.auth
        }
        env = run.server_env({"DATABASE_URL": cluster.url})
        postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        tokens = Path(tmp) / "tokens.txt"
        quiet = {"cwd": ROOT, "env": env, "check": True, "stdout": subprocess.DEVNULL}
        subprocess.run([PYTHON, "manage.py", "migrate", "--no-input"], **quiet)
        seed = [PYTHON, str(BENCH / "seed.py"), "--unicorns", "20000", "--riders", str(rides)]
        seed += ["--center", *map(str, run.SEATTLE), "--spread", *map(str, run.FLEET_SPREAD)]
        seed += [
            "--tokens-file",
            str(tokens),
            "--sessions-file",
            str(tokens.with_name("sessions.txt")),
        ]
        subprocess.run(seed, **quiet)
        import psycopg

        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        results = {name: [] for name in trees}
        first = 0

        def one_round(name: str, statements: bool = False, profile: bool = False) -> dict:
            nonlocal first
            with psycopg.connect(cluster.url, autocommit=True) as conn:
                for sql in RESET:
                    conn.execute(sql)
            folder, auth = trees[name]
            command = [PYTHON, __file__, "--child", "1", "--tree", folder]
            command += ["--tokens", str(tokens), "--first", str(first)]
            command += ["--postmaster", str(postmaster), "--requests", str(args.requests)]
            command += ["--warmup", str(args.warmup), "--auth", auth]
            command += ["--statements"] if statements else []
            command += ["--profile", args.profile] if profile else []
            first += args.requests + args.warmup
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            return json.loads(done.stdout.strip().splitlines()[-1])

        for number in range(args.rounds):
            for name in list(trees)[:: 1 if number % 2 == 0 else -1]:
                last = number == args.rounds - 1 and name == "this tree"
                result = one_round(name, profile=bool(args.profile) and last)
                results[name].append(result)
                print(
                    f"round {number + 1} {name:12s} app {result['app_ms']:5.2f} ms "
                    f"db {result['db_ms']:5.2f} ms {result['statuses']} "
                    f"load {os.getloadavg()[0]:.1f}",
                    flush=True,
                )
        print("\nMedians (CPU ms per request):")
        for name, rounds in results.items():
            app = statistics.median(r["app_ms"] for r in rounds)
            db = statistics.median(r["db_ms"] for r in rounds)
            total = statistics.median(r["app_ms"] + r["db_ms"] for r in rounds)
            print(f"  {name:12s} app {app:5.2f}  db {db:5.2f}  app+db {total:5.2f}")
        if args.statements:
            for name in trees:
                print(f"\n== {name}")
                one_round(name, statements=True)
                list_statements(cluster.url, args.requests)
    return 0


if __name__ == "__main__":
    sys.exit(main())
