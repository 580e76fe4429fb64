"""Many rows fast (bulk_create), for the query-count tests of the heavy change lists."""

import uuid

from django.utils import timezone

from accounts.models import User
from events.models import Delivery, OutboxEvent
from organizations.models import Organization
from payment_lists.models import PaymentList
from payments.models import Payment
from promos.models import Campaign, DiscountAward
from rides.models import Ride, Unicorn
from tests.factories import DEMO_CITY


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def unicorns(count: int) -> list[Unicorn]:
    tag = _tag()
    return Unicorn.objects.bulk_create(
        Unicorn(
            name=f"U-{tag}-{n}",
            color="white",
            gender="female",
            latitude=DEMO_CITY[0] + n * 1e-5,
            longitude=DEMO_CITY[1],
            on_duty=n % 3 != 0,
        )
        for n in range(count)
    )


def riders(count: int) -> list[User]:
    tag = _tag()
    return User.objects.bulk_create(
        User(email=f"r-{tag}-{n}@example.com", password="!") for n in range(count)
    )


def rides(count: int) -> list[Ride]:
    people, fleet = riders(count), unicorns(count)
    return Ride.objects.bulk_create(
        Ride(
            rider=rider,
            unicorn=unicorn,
            pickup_latitude=DEMO_CITY[0],
            pickup_longitude=DEMO_CITY[1],
            unicorn_start_latitude=unicorn.latitude,
            unicorn_start_longitude=unicorn.longitude,
            distance_to_pickup_m=100,
            eta_seconds=12,
            base_fare_minor=1250,
            fare_minor=1250,
            fare_currency="USD",
            cancelled_by=rider if n % 2 else None,
        )
        for n, (rider, unicorn) in enumerate(zip(people, fleet, strict=True))
    )


def organization() -> Organization:
    return Organization.objects.create(name=f"Org {_tag()}")


def payment_lists(count: int) -> list[PaymentList]:
    org, tag = organization(), _tag()
    return PaymentList.objects.bulk_create(
        PaymentList(organization=org, file=f"inbox/{tag}-{n}.csv", original_name=f"{n}.csv")
        for n in range(count)
    )


def payments(count: int) -> list[Payment]:
    org, people = organization(), riders(count)
    (source,) = payment_lists(1)
    tag = _tag()
    return Payment.objects.bulk_create(
        Payment(
            reference=f"P-{tag}-{n}",
            amount_minor=1250,
            currency="USD",
            organization=org,
            payer=payer,
            payment_list_id=source.pk,
            registered_by="finance@example.com",
        )
        for n, payer in enumerate(people)
    )


def awards(count: int) -> list[DiscountAward]:
    campaign = Campaign.objects.create(name=f"Campaign {_tag()}", starts_at=timezone.now())
    return DiscountAward.objects.bulk_create(
        DiscountAward(
            username=f"rider{n}@example.com",
            latitude=DEMO_CITY[0],
            longitude=DEMO_CITY[1],
            campaign=campaign,
            multiplier="0.75",
            outcome="drawn",
            fare_minor=1000,
            discount_minor=250,
        )
        for n in range(count)
    )


def dead_letters(count: int) -> list[Delivery]:
    events = OutboxEvent.objects.bulk_create(
        OutboxEvent(
            type="payments.PaymentRegistered",
            occurred_at=timezone.now(),
            data={"amount_minor": 100},
            published_at=timezone.now(),
        )
        for _ in range(count)
    )
    return Delivery.objects.bulk_create(
        Delivery(
            event=event,
            subscriber="bi",
            status=Delivery.Status.DEAD,
            attempts=5,
            last_error="RuntimeError: boom",
        )
        for event in events
    )
