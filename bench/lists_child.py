"""Seed a bench database for the payment-list benchmark (bench/lists_bench.py runs it).

    python bench/lists_child.py --rows 1000000 --payers-file P --rides-file R

Creates the organization "Bench Org" with a subscription that covers the list, the payers
whose e-mails the CSV names (one a line in --payers-file) and the rides its ride_id column
points at (one id a line in --rides-file), each ride with its rider and unicorn, and a
payment list for the raw path's rows to point at (as imported payments point at theirs).
Prints the organization's id and that list's id.
"""

import argparse
import os
import sys
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wildrydes.settings")

ORGANIZATION = "Bench Org"


def seed(*, rows: int, payers: list[str], rides: list[str]) -> tuple[int, int]:
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import User
    from organizations.models import Organization
    from payment_lists.models import PaymentList
    from payments.models import Subscription
    from rides.models import Ride
    from tests.factories import RideFactory, UnicornFactory

    now = timezone.now()
    with transaction.atomic():
        organization = Organization.objects.create(name=ORGANIZATION)
        Subscription.objects.create(
            organization=organization,
            plan="bench",
            starts_at=now - timedelta(days=1),
            max_rows_per_list=rows,
            max_total_minor_per_list=10**15,
        )
        unusable = make_password(None)
        User.objects.bulk_create(
            (User(email=email, password=unusable, email_confirmed_at=now) for email in payers),
            batch_size=2000,
        )
        rider = User.objects.get(email=payers[0])
        unicorn = UnicornFactory()
        Ride.objects.bulk_create(
            RideFactory.build(
                id=uuid.UUID(ride_id), rider=rider, unicorn=unicorn, status="completed",
                completed_at=now,
            )
            for ride_id in rides
        )  # fmt: skip
        raw_list = PaymentList.objects.create(
            organization=organization,
            file="inbox/raw.csv",
            original_name="raw.csv",
            submitted_by="bench raw path",
            status=PaymentList.Status.IMPORTED,
        )
    return organization.pk, raw_list.pk


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--payers-file", type=Path, required=True)
    parser.add_argument("--rides-file", type=Path, required=True)
    args = parser.parse_args(argv)
    organization, raw_list = seed(
        rows=args.rows,
        payers=args.payers_file.read_text().split(),
        rides=args.rides_file.read_text().split(),
    )
    print(organization, raw_list)
    return 0


if __name__ == "__main__":
    sys.exit(main())
