"""Seed a load-test database: a fleet around the city, confirmed riders who sign in with a
password, and the demo promo campaign (budget lifted, so every draw takes the same path).

Run by load/run.py as a child process with the server's environment, after `migrate`:

    python load/seed.py --unicorns 600 --riders 50 --password PASSWORD --riders-file riders.txt

The password is hashed once (PBKDF2, as the server checks it) and that hash is given to
every rider, so seeding takes a second; signing in still costs the server a full check.
"""

import argparse
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wildrydes.settings")

COLORS = ("white", "golden", "rainbow", "silver", "black", "rose", "azure", "violet")
GENDERS = ("male", "female", "nonbinary")
RIDER_EMAIL = "load-rider-{:04d}@load.wildrydes.example"


def seed(*, unicorns, riders, password, center, spread, seed_value) -> tuple[int, int, str]:
    import django

    django.setup()

    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from promos.demo import seed_demo_campaign
    from promos.models import Campaign
    from rides.models import Unicorn

    rng = random.Random(seed_value)  # noqa: S311 (test data, not secrets)
    (lat0, lon0), (dlat, dlon) = center, spread
    hashed = make_password(password)
    now = timezone.now()
    with transaction.atomic():
        Unicorn.objects.bulk_create(
            (
                Unicorn(
                    name=f"Load unicorn {i:05d}",
                    color=rng.choice(COLORS),
                    gender=rng.choice(GENDERS),
                    latitude=lat0 + rng.uniform(-dlat, dlat),
                    longitude=lon0 + rng.uniform(-dlon, dlon),
                )
                for i in range(unicorns)
            ),
            batch_size=1000,
        )
        emails = [RIDER_EMAIL.format(i) for i in range(riders)]
        User.objects.bulk_create(
            User(email=email, password=hashed, email_confirmed_at=now) for email in emails
        )
        seed_demo_campaign()
        Campaign.objects.update(budget_minor=None)
        campaigns = ", ".join(
            Campaign.objects.filter(is_active=True).values_list("name", flat=True)
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return Unicorn.objects.count(), len(emails), campaigns


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unicorns", type=int, required=True)
    parser.add_argument("--riders", type=int, required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--center", type=float, nargs=2, required=True)
    parser.add_argument("--spread", type=float, nargs=2, required=True, help="±degrees lat lon")
    parser.add_argument("--riders-file", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    fleet, riders, campaigns = seed(
        unicorns=args.unicorns,
        riders=args.riders,
        password=args.password,
        center=tuple(args.center),
        spread=tuple(args.spread),
        seed_value=args.seed,
    )
    args.riders_file.write_text("".join(RIDER_EMAIL.format(i) + "\n" for i in range(riders)))
    print(f"seeded {fleet} unicorns, {riders} riders, campaigns: {campaigns or '-'}")


if __name__ == "__main__":
    main()
