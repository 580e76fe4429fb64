"""Section `relay_backlog` of `make bench` (see bench/run.py): how long the scheduled relay
takes to drain a backlog of 1,000,000 unpublished events (--backlog-events), per database.

The backlog is what a crashed fleet or a long SNS outage leaves: PaymentRegistered events
committed but never published, for 64 riders (so both subscribers work: bi folds every
event, notifications writes one per event). It is written set-based in one statement
(events.outbox.emit_rows, the path payment lists use, with EVENTS_DELIVERY "relay" so that
nothing publishes them after the commit). Then the relay runs pass after pass
as the schedule would (`events.relay.relay_events()`, each pass draining batches until
EVENTS_RELAY_SECONDS), back to back, until nothing is left: the figure is the drain time
and the number of scheduled passes (at `rate(1 minute)`, passes x 1 minute is the wall
time on AWS at worst). Checked after: every event published and processed by both
subscribers, one notification per event.

Run in a child process (this file with `child`) with the database's environment.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PAYERS = 64


# --- the child ----------------------------------------------------------------------------


def _seed(events: int) -> None:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from events.outbox import emit_rows
    from payments.events import PAYMENT_REGISTERED

    now, unusable = timezone.now(), make_password(None)
    with transaction.atomic():
        User.objects.bulk_create(
            User(email=f"backlog-{i:02d}@bench.wildrydes.example", password=unusable,
                 email_confirmed_at=now)
            for i in range(PAYERS)
        )  # fmt: skip
        ids = list(User.objects.filter(email__startswith="backlog-").values_list("pk", flat=True))
        low, high = min(ids), max(ids)
        assert high - low + 1 == PAYERS, "payer ids are consecutive"
        currency = "(CASE n %% 3 WHEN 0 THEN 'USD' WHEN 1 THEN 'EUR' ELSE 'GBP' END)"
        if connection.vendor == "postgresql":
            series = "generate_series(1, %s) AS g(n)"
            data = (
                "json_build_object('payment_id', gen_random_uuid()::text, 'reference', "
                "'BL-' || n, 'amount_minor', 100 + n %% 50000, 'currency', "
                f"{currency}, 'status', 'registered', 'ride_id', NULL, 'payer_id', "
                f"{low} + n %% {PAYERS}, 'payer_email', '', 'organization_id', NULL)"
            )
        else:
            series = (
                "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s "
                "WHERE n < %s) SELECT n FROM s) AS g"
            )
            data = (
                "json_object('payment_id', lower(hex(randomblob(16))), 'reference', "
                "'BL-' || n, 'amount_minor', 100 + n %% 50000, 'currency', "
                f"{currency}, 'status', 'registered', 'ride_id', NULL, 'payer_id', "
                f"{low} + n %% {PAYERS}, 'payer_email', '', 'organization_id', NULL)"
            )
        written = emit_rows(
            PAYMENT_REGISTERED,
            data_sql=data,
            from_sql=series,
            params=[events],
            occurred_at_sql="CURRENT_TIMESTAMP",
        )
    assert written == events, (written, events)


def drain_backlog() -> tuple[list[dict], float]:
    """`relay_events()` pass after pass, as the schedule calls it, until a pass finds nothing
    to publish or retry: each working pass's events published and seconds, and the seconds
    of them all (the last, empty pass included). Also bench/events_child.py's relay path."""
    from events import relay

    passes = []
    started = time.perf_counter()
    while True:
        began = time.perf_counter()
        done = relay.relay_events()
        if not done["published"] and not done["retried"]:
            return passes, time.perf_counter() - started
        passes.append({"published": done["published"], "seconds": time.perf_counter() - began})


def child(events: int) -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wildrydes.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db.models import Sum

    from bi.models import DailyAggregate
    from events import relay
    from events.models import OutboxEvent, ProcessedEvent
    from notifications.models import Notification

    settings.EVENTS_DELIVERY = "relay"  # a backlog: nothing publishes it after the commit
    started = time.perf_counter()
    _seed(events)
    seed_seconds = time.perf_counter() - started
    passes, drain = drain_backlog()
    problems = []
    left = OutboxEvent.objects.filter(published_at__isnull=True).count()
    if left:
        problems.append(f"{left} events left unpublished")
    for subscriber in ("bi", "notifications"):
        processed = ProcessedEvent.objects.filter(subscriber=subscriber).count()
        if processed != events:
            problems.append(f"{subscriber} processed {processed} of {events}")
    if Notification.objects.count() != events:
        problems.append(f"{Notification.objects.count()} notifications for {events} events")
    folded = DailyAggregate.objects.aggregate(n=Sum("payments_registered"))["n"] or 0
    if folded != events:
        problems.append(f"bi counted {folded} of {events}")
    return {
        "events": events,
        "seed_seconds": seed_seconds,
        "drain_seconds": drain,
        "passes": passes,
        "budget_seconds": settings.EVENTS_RELAY_SECONDS,
        "batch": relay.RELAY_BATCH,
        "max_rss_mb": _max_rss_mb(),
        "problems": problems,
    }


def _max_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the section --------------------------------------------------------------------------


def relay_backlog(options):
    from events_bench import _bench_json, _child, child_section

    events = options.backlog_events

    def measure(db, env, log):
        # check=False: the child has exited badly after its report (once, at exit, with
        # nothing on stderr); the report counts. _bench_json raises when there is none.
        args = ["child", "--events", events]
        timeout = events * 0.01 + 600
        return _bench_json(
            _child(args, env=env, log=log, timeout=timeout, script=__file__, check=False)
        )

    return child_section(
        options,
        key="relay_backlog",
        title="Draining a backlog of events with the scheduled relay",
        measure=measure,
        line=_line,
        markdown=_markdown,
        note=f" {events:,} events",
    )


def _line(r: dict) -> str:
    n, drain, passes = r["events"], r["drain_seconds"], len(r["passes"])
    return (
        f"{n:,} events drained in {drain:.0f} s ({n / drain:,.0f} events/s), {passes} "
        f"pass{'es' if passes != 1 else ''} of up to {r['budget_seconds']:g} s"
    )


def _markdown(results, versions, options) -> str:
    lines = [
        f"Measured {options.started:%Y-%m-%d %H:%M} UTC at {options.commit} with "
        f"`{options.command}`; {options.machine}; {', '.join(versions)}.",
        "",
        "A backlog of unpublished PaymentRegistered events (64 riders; what a long SNS "
        "outage or crashed workers leave) drained by `relay_events()` called pass after pass "
        "as the schedule calls it, each pass taking batches of "
        f"{results[0]['batch'] if results else 500} until EVENTS_RELAY_SECONDS. Both "
        "subscribers work (bi folds each event per currency, notifications writes one row "
        "per event); checked after: every event published, processed by both, one "
        "notification each. On AWS the scheduled passes come once a minute, so the drain "
        "takes at most *passes* minutes; before this change a pass published 500 events "
        "(a million: 2,000 passes, about 33 hours). This is the local delivery path "
        "(EVENTS_SNS_TOPIC_ARN empty). On AWS a pass hands the events to SNS with "
        "PublishBatch, 10 a call (`events.sns.publish`), so there the rate is bound by SNS "
        "round trips: at 10-20 ms a call a 50 s pass publishes some 25,000-50,000 events "
        "(`bench/relay_backlog.py sns` measures the relay against moto's server).",
        "",
        "| database | events | drain s | events/s | passes (of up to N s) | longest pass s | "
        "peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        n, drain = r["events"], r["drain_seconds"]
        longest = max((p["seconds"] for p in r["passes"]), default=0.0)
        lines.append(
            f"| {r['database']} | {n:,} | {drain:.0f} | {n / drain:,.0f} | "
            f"{len(r['passes'])} (of up to {r['budget_seconds']:g} s) | {longest:.1f} | "
            f"{r['max_rss_mb']:.0f} |"
        )
    return "\n".join(lines)


# --- to SNS (moto's server) ---------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _moto(port: int):
    """moto's server in a process of its own (its CPU apart from the relay's)."""
    import subprocess
    import urllib.request

    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); "
        "from tests.aws.moto_stack import _list_moto_modules_once; _list_moto_modules_once(); "
        "from moto.server import main; main(['-H', '127.0.0.1', '-p', sys.argv[2]])"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code, str(ROOT), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return server
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("moto's server did not start")


def sns_child(events: int) -> dict:
    """The relay draining `events` unpublished events to SNS (moto's server on loopback,
    a topic and the two subscriber queues with their filter policies), on a fresh SQLite
    database: drain time, the SNS calls, the relay's and moto's CPU."""
    import socket
    import tempfile
    from collections import Counter

    with socket.create_server(("127.0.0.1", 0)) as free:
        port = free.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint,
        SQLITE_PATH=str(Path(tempfile.gettempdir()) / f"relay-sns-bench-{os.getpid()}.sqlite3"),
    )  # fmt: skip
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wildrydes.settings")
    import boto3
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from events import sns
    from events.models import OutboxEvent

    server = _moto(port)
    try:
        call_command("migrate", verbosity=0)
        topic = boto3.client("sns", region_name="us-east-1")
        queues = boto3.client("sqs", region_name="us-east-1")
        settings.AWS_REGION = "us-east-1"
        settings.EVENTS_SNS_TOPIC_ARN = topic.create_topic(Name="bench-events")["TopicArn"]
        urls = {}
        for name, subscriber in settings.EVENT_SUBSCRIBERS.items():
            urls[name] = queues.create_queue(QueueName=f"bench-events-{name}")["QueueUrl"]
            topic.subscribe(
                TopicArn=settings.EVENTS_SNS_TOPIC_ARN, Protocol="sqs",
                Endpoint=f"arn:aws:sqs:us-east-1:123456789012:bench-events-{name}",
                Attributes={"FilterPolicy": json.dumps({"event_type": subscriber["types"]}),
                            "RawMessageDelivery": "true"},
            )  # fmt: skip
        settings.EVENTS_DELIVERY = "relay"
        _seed(events)

        calls, real = Counter(), sns.client

        def counted(*args, **kwargs):
            made = real(*args, **kwargs)
            made.meta.events.register(
                "before-call.sns.*", lambda model, **_: calls.update([model.name])
            )
            return made

        sns.client = counted
        cpu, moto_cpu = time.process_time(), _cpu_seconds(server.pid)
        passes, drain = drain_backlog()
        cpu, moto_cpu = time.process_time() - cpu, _cpu_seconds(server.pid) - moto_cpu
        problems = []
        left = OutboxEvent.objects.filter(published_at__isnull=True).count()
        if left:
            problems.append(f"{left} events left unpublished")
        for name, url in urls.items():
            waiting = queues.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
            if int(waiting) != events:
                problems.append(f"{name}'s queue holds {waiting} of {events}")
    finally:
        server.kill()
        server.wait()
        Path(os.environ["SQLITE_PATH"]).unlink(missing_ok=True)
    return {
        "events": events,
        "drain_seconds": drain,
        "events_per_second": events / drain,
        "passes": len(passes),
        "sns_calls": dict(calls),
        "relay_cpu_ms_per_event": cpu * 1000 / events,
        "moto_cpu_ms_per_event": moto_cpu * 1000 / events,
        "load_average": os.getloadavg(),
        "problems": problems,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_child = commands.add_parser("child")
    run_child.add_argument("--events", type=int, required=True)
    run_sns = commands.add_parser(
        "sns", help="the relay to SNS (moto's server on loopback), SQLite; no report section"
    )
    run_sns.add_argument("--events", type=int, default=2000)
    args = parser.parse_args(argv)
    report = child(args.events) if args.command == "child" else sns_child(args.events)
    print("BENCH_JSON " + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
