"""After a load run: does the database agree with every answer the riders got?

Run by load/run.py as a child process with the server's environment, once the server has
stopped:

    python load/reconcile.py ACKS_JSON      # prints one JSON line with each check's result

ACKS_JSON is the list of rides the server answered 201 for: {ride, key, rider, completed,
payment}. The database is a fresh one per run, so every ride in it came from the load.
"""

import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wildrydes.settings")


def reconcile(acks: list[dict]) -> dict:
    import django

    django.setup()

    from django.db.models import Count

    from core.models import IdempotencyRecord
    from events.models import Delivery, OutboxEvent
    from payments.models import Payment
    from promos.models import DiscountAward
    from rides.models import ACTIVE_STATUSES, Ride, Unicorn

    acked = Counter(a["ride"] for a in acks)
    rides = dict(Ride.objects.values_list("id", "status"))
    rides = {str(k): v for k, v in rides.items()}
    completed_in_db = {k for k, v in rides.items() if v == Ride.Status.COMPLETED}
    fees = dict(Ride.objects.filter(cancellation_fee_minor__gt=0).values_list("id", "status"))
    fees = {str(k): v for k, v in fees.items()}
    acked_complete = {a["ride"] for a in acks if a["completed"]}
    payments = list(
        Payment.objects.filter(ride__isnull=False)
        .exclude(reference__endswith="-fee")
        .values_list("ride_id", "id")
    )
    fee_payments = Counter(
        str(ride)
        for ride in Payment.objects.filter(reference__endswith="-fee").values_list(
            "ride_id", flat=True
        )
    )
    payments_per_ride = Counter(str(ride) for ride, _ in payments)
    payment_of = {str(ride): str(pid) for ride, pid in payments}
    wrong_payment = [
        a["ride"]
        for a in acks
        if a["completed"] and a.get("payment") and payment_of.get(a["ride"]) != a["payment"]
    ]
    keys = IdempotencyRecord.objects.filter(scope="rides.create")
    # Awards given back (the ride was not booked) are not spent: they need no ride.
    spent_awards = DiscountAward.objects.filter(released_at__isnull=True)
    awards = set(spent_awards.values_list("id", flat=True))
    ride_awards = list(Ride.objects.values_list("discount_award_id", flat=True))
    events = Counter(OutboxEvent.objects.values_list("type", flat=True))
    checks = {
        # Every 201 names a ride that exists, once; and no ride exists that no 201 named.
        "acknowledged_rides_missing": sum(1 for ride in acked if ride not in rides),
        "rides_acknowledged_twice": sum(1 for n in acked.values() if n > 1),
        "rides_never_acknowledged": sum(1 for ride in rides if ride not in acked),
        "idempotency_keys_with_other_than_one_ride": keys.values("key")
        .annotate(n=Count("id"))
        .exclude(n=1)
        .count(),
        # Every completion the riders saw is in the database, and only those.
        "completions_missing": len(acked_complete - completed_in_db),
        "completed_but_not_acknowledged": len(completed_in_db - acked_complete),
        "rides_left_active": sum(1 for v in rides.values() if v in ACTIVE_STATUSES),
        # Exactly one fare payment per completed ride, none for the others.
        "completed_rides_without_payment": sum(
            1 for r in completed_in_db if payments_per_ride[r] == 0
        ),
        "rides_with_more_than_one_payment": sum(1 for n in payments_per_ride.values() if n > 1),
        "payments_for_rides_not_completed": sum(
            1 for r in payments_per_ride if r not in completed_in_db
        ),
        "payment_ids_differing_from_the_answer": len(wrong_payment),
        # A fee (cancelled after arrival, no-show) is charged once, and only then.
        "fees_not_charged_once": sum(1 for r in fees if fee_payments[r] != 1)
        + sum(1 for r in fee_payments if r not in fees),
        # The fleet is free again.
        "unicorns_still_busy": Unicorn.objects.filter(is_available=False).count(),
        # One discount draw per ride, no draw without a ride.
        "rides_without_their_discount_award": sum(
            1 for a in ride_awards if a is not None and a not in awards
        ),
        "discount_awards_without_a_ride": max(0, len(awards) - len(ride_awards)),
        # The events: one RideCompleted and one PaymentRegistered per completed ride,
        # all handed on, none dead-lettered.
        "ride_completed_events_off_by": abs(events["rides.RideCompleted"] - len(completed_in_db)),
        "ride_assigned_events_off_by": abs(events["rides.RideAssigned"] - len(rides)),
        "ride_boarded_events_off_by": abs(
            events["rides.RideBoarded"] - Ride.objects.filter(boarded_at__isnull=False).count()
        ),
        "payment_registered_events_off_by": abs(
            events["payments.PaymentRegistered"] - len(payments) - sum(fee_payments.values())
        ),
        "events_unpublished": OutboxEvent.objects.filter(published_at__isnull=True).count(),
        "dead_letters": Delivery.objects.filter(status=Delivery.Status.DEAD).count(),
    }
    totals = {
        "rides": len(rides),
        "completed": len(completed_in_db),
        "payments": len(payments),
        "acknowledged": len(acks),
        "completion_conflicts": sum(1 for a in acks if a.get("conflict")),
        "ended_before_boarding": sum(1 for a in acks if a.get("ended")),
        "expired": sum(1 for v in rides.values() if v == Ride.Status.EXPIRED),
        "unicorns": Unicorn.objects.count(),
        "discount_awards": len(awards),
        "events": sum(events.values()),
        # A subscriber that failed once and waits for the relay's retry: not lost, but worth
        # knowing under load.
        "deliveries_waiting_for_retry": Delivery.objects.filter(
            status=Delivery.Status.PENDING
        ).count(),
    }
    return {"ok": not any(checks.values()), "checks": checks, "totals": totals}


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    acks = json.loads(Path(argv[0]).read_text())
    print(json.dumps(reconcile(acks)))


if __name__ == "__main__":
    main()
