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
        written = emit_rows(PAYMENT_REGISTERED, data_sql=data, from_sql=series, params=[events])
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
        "(EVENTS_SNS_TOPIC_ARN empty). On AWS a pass hands each event to SNS with one "
        "Publish call (`events.sns.publish_to_sns`), so there the rate is bound by SNS "
        "round trips and not measured here: at 10-20 ms a call a 50 s pass publishes some "
        "2,500-5,000 events (SNS PublishBatch, 10 a call, would be the next step).",
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_child = commands.add_parser("child")
    run_child.add_argument("--events", type=int, required=True)
    args = parser.parse_args(argv)
    print("BENCH_JSON " + json.dumps(child(args.events)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
