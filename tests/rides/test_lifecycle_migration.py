"""Migration 0005 keeps the rides that exist: each gets a reference and its arrival time, and
a rider who had several open rides (the old code allowed it) keeps the newest."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import UserFactory
from tests.migrations import migrate_to, migrated_back_to

BEFORE = [("rides", "0004_drop_redundant_fk_index")]
AFTER = [("rides", "0005_ride_lifecycle_and_reference")]


@pytest.mark.django_db(transaction=True)
def test_existing_rides_are_kept_and_a_second_open_ride_expires():
    with migrated_back_to(BEFORE) as old:
        User, Unicorn, Ride = (old.get_model(*m) for m in (
            ("accounts", "User"), ("rides", "Unicorn"), ("rides", "Ride"),
        ))  # fmt: skip
        rider = User.objects.get(pk=UserFactory().pk)  # accounts' tables are the current ones
        now = timezone.now()
        rides = []
        for n, status in enumerate(["assigned", "assigned", "completed"]):
            unicorn = Unicorn.objects.create(
                name=f"Old {n}", color="white", gender="male", latitude=47.6, longitude=-122.3,
                is_available=status == "completed",
            )  # fmt: skip
            rides.append(
                Ride.objects.create(
                    rider=rider,
                    unicorn=unicorn,
                    status=status,
                    pickup_latitude=47.6,
                    pickup_longitude=-122.3,
                    unicorn_start_latitude=47.6,
                    unicorn_start_longitude=-122.3,
                    distance_to_pickup_m=100,
                    eta_seconds=60,
                    base_fare_minor=1250,
                    fare_minor=1250,
                    fare_currency="USD",
                )
            )
            Ride.objects.filter(pk=rides[-1].pk).update(
                requested_at=now - timedelta(minutes=10 - n)
            )

        new = migrate_to(AFTER)
        Ride, Unicorn = new.get_model("rides", "Ride"), new.get_model("rides", "Unicorn")
        older, newer, done = (Ride.objects.get(pk=r.pk) for r in rides)
        assert (older.status, newer.status, done.status) == ("expired", "assigned", "completed")
        assert older.expired_at is not None
        assert Unicorn.objects.get(pk=older.unicorn_id).is_available
        assert not Unicorn.objects.get(pk=newer.unicorn_id).is_available
        references = {r.reference for r in (older, newer, done)}
        assert len(references) == 3 and all(r.startswith("WR-") for r in references)
        assert newer.arrives_at == newer.requested_at + timedelta(seconds=60)
