"""core.db.insert_row writes the same row as Model.save() would."""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from core.db import insert_row
from promos.models import DiscountAward
from rides.models import Ride
from tests.factories import CampaignFactory, UnicornFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=False)


def test_a_new_award_gets_its_id_and_creation_time():
    campaign = CampaignFactory()
    before = timezone.now()
    award = DiscountAward(
        username="rider@example.com", latitude=47.6, longitude=-122.3, campaign=campaign,
        multiplier=Decimal("0.75"), outcome=DiscountAward.Outcome.DRAWN, fare_minor=1000,
        discount_minor=250,
    )  # fmt: skip

    insert_row(award)
    second = DiscountAward(username="x@example.com", latitude=0, longitude=0, multiplier=1)
    insert_row(second)

    stored = DiscountAward.objects.get(pk=award.pk)
    assert second.pk == award.pk + 1
    assert stored.multiplier == Decimal("0.75")
    assert stored.campaign == campaign
    assert stored.discount_minor == 250
    assert stored.created_at >= before
    assert stored.created_at.tzinfo is not None
    assert not award._state.adding


def test_a_ride_keeps_its_uuid_and_every_value():
    ride = Ride(
        id=uuid.uuid4(), rider=UserFactory(), unicorn=UnicornFactory(), pickup_latitude=47.6,
        pickup_longitude=-122.3, unicorn_start_latitude=47.61, unicorn_start_longitude=-122.31,
        distance_to_pickup_m=1200, eta_seconds=90, base_fare_minor=1250,
        discount_multiplier=Decimal("0.90"), fare_minor=1125, fare_currency="USD",
    )  # fmt: skip

    insert_row(ride)

    stored = Ride.objects.get(pk=ride.id)
    assert stored.status == Ride.Status.ASSIGNED
    assert stored.discount_multiplier == Decimal("0.90")
    assert stored.fare_minor == 1125
    assert stored.dropoff_latitude is None
    assert stored.requested_at == ride.requested_at


def test_a_duplicate_primary_key_fails_like_save():
    from django.db import IntegrityError, transaction

    ride = Ride.objects.create(
        rider=UserFactory(), unicorn=UnicornFactory(), pickup_latitude=1, pickup_longitude=1,
        unicorn_start_latitude=1, unicorn_start_longitude=1, distance_to_pickup_m=0,
        eta_seconds=1, base_fare_minor=1, fare_minor=1, fare_currency="USD",
    )  # fmt: skip
    copy = Ride(**{f.attname: getattr(ride, f.attname) for f in Ride._meta.concrete_fields})

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(copy)
