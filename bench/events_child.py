"""Django-side helpers of the events benchmarks (bench/events_bench.py runs them).

Run as a child process with the environment of the database under test (SQLITE_PATH or
DATABASE_URL), after `manage.py migrate`:

    python bench/events_child.py seed-post --riders 64 --key-file K --emails-file E
    python bench/events_child.py deliver --events 2000 [--db-pid PID ...]
    python bench/events_child.py relay --interval 0.1 --ready-file F

`seed-post`: the organization, a service key for it (written to --key-file) and riders
whose e-mails (written to --emails-file) the POSTed payments name as payers.

`deliver`: creates payments directly (no events), then
1. in-process (`EVENTS_DELIVERY = "inline"`, the default): for each payment, one committed
   transaction that emits PaymentRegistered; after commit the event is delivered in-process to both
   subscribers (bi and notifications) before the caller goes on: a batch of one. Timed as
   a whole and, separately, inside `publish_events` (the delivery).
2. relay: the same number of events emitted with the after-commit delivery switched off
   (as if the process had died after each commit), then `relay_events()` called until
   the backlog is drained (batches of 500). Timed around the relay only.
Prints one line "BENCH_JSON {...}" with the timings, the CPU used by this process and by
the database server (PostgreSQL), and the checks (every event delivered to both).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wildrydes.settings")

WARMUP_EVENTS = 20


def _setup():
    import django

    django.setup()


def _riders(count: int, tag: str):
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import User

    unusable, now = make_password(None), timezone.now()
    emails = [f"bench-{tag}-{i:04d}@bench.wildrydes.example" for i in range(count)]
    User.objects.bulk_create(
        User(email=email, password=unusable, email_confirmed_at=now) for email in emails
    )
    return list(User.objects.filter(email__in=emails).order_by("email"))


def seed_post(*, riders: int, key_file: Path, emails_file: Path) -> None:
    _setup()
    from django.db import transaction

    from accounts.models import ServiceKey
    from organizations.models import Organization

    with transaction.atomic():
        organization = Organization.objects.create(name="Bench Org")
        _, key = ServiceKey.objects.create_key(
            name="bench", service="bench", organization=organization, scopes=["payments:write"]
        )
        users = _riders(riders, "payer")
    key_file.write_text(key + "\n")
    emails_file.write_text("".join(f"{u.email}\n" for u in users))
    print(f"seeded Bench Org, 1 service key, {len(users)} payers")


def _payments(count: int, payers: list, tag: str) -> list:
    from organizations.models import Organization
    from payments.models import Payment

    organization = Organization.objects.get_or_create(name="Bench Org")[0]
    return Payment.objects.bulk_create(
        (
            Payment(
                amount_minor=100 + i % 50_000,
                currency="USD",
                reference=f"bench-{tag}-{i:07d}",
                payer=payers[i % len(payers)],
                payer_email=payers[i % len(payers)].email,
                organization=organization,
                registered_by="bench",
            )
            for i in range(count)
        ),
        batch_size=2000,
    )


def deliver(*, events: int, payers: int, db_pids: list[int]) -> dict:
    _setup()
    from unittest import mock

    from django.db import connection, transaction
    from django.test import override_settings
    from relay_backlog import drain_backlog
    from run import CpuMeter

    from events import relay
    from events.models import Delivery, OutboxEvent, ProcessedEvent
    from notifications.models import Notification
    from payments.events import PAYMENT_REGISTERED, emit_payment_event

    with transaction.atomic():
        users = _riders(payers, "deliver")
        payments = _payments(WARMUP_EVENTS + 2 * events, users, "deliver")
    warmup, payments = payments[:WARMUP_EVENTS], payments[WARMUP_EVENTS:]
    inline, backlog = payments[:events], payments[events:]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def emit_each(batch):
        for payment in batch:
            with transaction.atomic():
                emit_payment_event(PAYMENT_REGISTERED, payment)

    with override_settings(EVENTS_DELIVERY="inline"):
        emit_each(warmup)  # code paths, caches and connections warm

    # 1. In-process delivery after each commit, with the time inside publish_events.
    publish = relay.publish_events

    def timed(tally: dict):
        """publish_events, adding its calls and seconds to `tally`."""

        def timed_publish(event_ids, **kwargs):
            started = time.perf_counter()
            try:
                return publish(event_ids, **kwargs)
            finally:
                tally["seconds"] += time.perf_counter() - started
                tally["calls"] += 1

        return timed_publish

    delivering = {"seconds": 0.0, "calls": 0}
    with (
        override_settings(EVENTS_DELIVERY="inline"),
        mock.patch.object(relay, "publish_events", timed(delivering)),
        CpuMeter(app=[os.getpid()], db=db_pids) as inline_cpu,
    ):
        started = time.perf_counter()
        emit_each(inline)
        inline_seconds = time.perf_counter() - started
    processed_inline = ProcessedEvent.objects.count()

    # 2. A backlog of unpublished events, drained by the relay.
    with override_settings(EVENTS_DELIVERY="relay"):
        emit_each(backlog)
    unpublished = OutboxEvent.objects.filter(published_at__isnull=True).count()
    with CpuMeter(app=[os.getpid()], db=db_pids) as relay_cpu:
        passes, relay_seconds = drain_backlog()
    calls = len(passes) + 1  # and the last, which found nothing

    total = WARMUP_EVENTS + 2 * events
    checks = {
        "events": OutboxEvent.objects.count(),
        "unpublished_before_relay": unpublished,
        "unpublished_after_relay": OutboxEvent.objects.filter(published_at__isnull=True).count(),
        "processed_after_inline": processed_inline,
        "processed": ProcessedEvent.objects.count(),
        "deliveries_retried_or_dead": Delivery.objects.count(),
        "notifications": Notification.objects.count(),
    }
    expected = {
        "events": total,
        "unpublished_before_relay": events,
        "unpublished_after_relay": 0,
        "processed_after_inline": 2 * (WARMUP_EVENTS + events),
        "processed": 2 * total,
        "deliveries_retried_or_dead": 0,
        "notifications": total,
    }
    return {
        "events": events,
        "inline": {
            "seconds": inline_seconds,
            "delivery_seconds": delivering["seconds"],
            "publish_calls": delivering["calls"],
            "app_cpu": inline_cpu.seconds["app"],
            "db_cpu": inline_cpu.seconds["db"],
            "other_cpu": inline_cpu.other / inline_cpu.machine_capacity
            if inline_cpu.machine_capacity
            else 0.0,
        },
        "relay": {
            "seconds": relay_seconds,
            "calls": calls,
            "app_cpu": relay_cpu.seconds["app"],
            "db_cpu": relay_cpu.seconds["db"],
            "other_cpu": relay_cpu.other / relay_cpu.machine_capacity
            if relay_cpu.machine_capacity
            else 0.0,
        },
        "checks": checks,
        "problems": [
            f"{name}: {checks[name]}, expected {value}"
            for name, value in expected.items()
            if checks[name] != value
        ],
    }


def relay(*, interval: float, ready_file: Path) -> None:
    """`manage.py relay_events --loop`, telling the bench once Django is set up."""
    _setup()
    from django.core.management import call_command

    ready_file.write_text("ready\n")
    call_command("relay_events", loop=True, interval=interval)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    seed = commands.add_parser("seed-post")
    seed.add_argument("--riders", type=int, default=64)
    seed.add_argument("--key-file", type=Path, required=True)
    seed.add_argument("--emails-file", type=Path, required=True)
    run = commands.add_parser("deliver")
    run.add_argument("--events", type=int, required=True)
    run.add_argument("--payers", type=int, default=64)
    run.add_argument("--db-pid", type=int, action="append", default=[])
    loop = commands.add_parser("relay")
    loop.add_argument("--interval", type=float, required=True)
    loop.add_argument("--ready-file", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "relay":
        relay(interval=args.interval, ready_file=args.ready_file)
    elif args.command == "seed-post":
        seed_post(riders=args.riders, key_file=args.key_file, emails_file=args.emails_file)
    else:
        found = deliver(events=args.events, payers=args.payers, db_pids=args.db_pid)
        print("BENCH_JSON " + json.dumps(found), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
