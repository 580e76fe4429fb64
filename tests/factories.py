from datetime import timedelta

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import User
from accounts.roles import FINANCE, OPERATORS
from rides.models import Ride, Unicorn

PASSWORD = "correct-horse-battery"
DEMO_CITY = (47.6062, -122.3321)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"rider{n}@example.com")
    full_name = factory.Faker("name")
    email_confirmed_at = factory.LazyFunction(timezone.now)
    password = factory.django.Password(PASSWORD)


class OperatorFactory(UserFactory):
    email = factory.Sequence(lambda n: f"operator{n}@example.com")
    is_staff = True

    @factory.post_generation
    def group(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name=OPERATORS))


class FinanceFactory(UserFactory):
    email = factory.Sequence(lambda n: f"finance{n}@example.com")
    is_staff = True

    @factory.post_generation
    def group(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name=FINANCE))

    @factory.post_generation
    def organizations(self, create, extracted, **kwargs):
        """FinanceFactory(organizations=[...]): the organizations they act for."""
        if create and extracted:
            self.organizations.add(*extracted)


class UnicornFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unicorn

    name = factory.Sequence(lambda n: f"Unicorn {n}")
    color = "white"
    gender = Unicorn.Gender.FEMALE
    latitude = DEMO_CITY[0]
    longitude = DEMO_CITY[1]


class RideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ride

    rider = factory.SubFactory(UserFactory)
    unicorn = factory.SubFactory(UnicornFactory, is_available=False)
    pickup_latitude = DEMO_CITY[0]
    pickup_longitude = DEMO_CITY[1]
    unicorn_start_latitude = DEMO_CITY[0]
    unicorn_start_longitude = DEMO_CITY[1]
    distance_to_pickup_m = 500
    eta_seconds = 60
    arrives_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(seconds=60))
    base_fare_minor = 1250
    fare_minor = 1250
    fare_currency = "USD"


class CampaignFactory(factory.django.DjangoModelFactory):
    """A running campaign with the classic tiers: 1.00 x60, 0.90 x25, 0.75 x10, 0.50 x5."""

    class Meta:
        model = "promos.Campaign"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Campaign {n}")
    starts_at = factory.LazyFunction(lambda: timezone.now() - timezone.timedelta(hours=1))

    @factory.post_generation
    def tiers(self, create, extracted, **kwargs):
        if not create:
            return
        for multiplier, weight in extracted or [
            ("1.00", 60),
            ("0.90", 25),
            ("0.75", 10),
            ("0.50", 5),
        ]:
            self.tiers.create(multiplier=multiplier, weight=weight)


class ServiceKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "accounts.ServiceKey"

    name = factory.Sequence(lambda n: f"key {n}")
    service = "rides-dev"
    organization = None
    # An organization's key does its payments; a key of no organization (the promo
    # service's) only draws promos.
    scopes = factory.LazyAttribute(
        lambda key: (
            ["payments:read", "payments:write", "payment_lists:submit"]
            if key.organization
            else ["promos:draw"]
        )
    )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        key_object, key = model_class.objects.create_key(**kwargs)
        key_object.plain_key = key
        return key_object


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "organizations.Organization"

    name = factory.Sequence(lambda n: f"Organization {n}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """An organization's plan, running since yesterday, open-ended."""

    class Meta:
        model = "payments.Subscription"

    organization = factory.SubFactory(OrganizationFactory)
    plan = "pro"
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    max_rows_per_list = 100
    max_total_minor_per_list = 10**9


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "payments.Payment"

    reference = factory.Sequence(lambda n: f"PAY-{n:06d}")
    amount_minor = 1250
    currency = "USD"
    registered_by = "finance@example.com"


def arrive_now(ride) -> None:
    """Move `ride`'s clock on: its unicorn reaches the pickup now (not persisted: the next
    read or action observes the arrival, as in real time). Now, not a second ago: the
    arrival is an event of that moment, never before the booking that sent the unicorn."""
    Ride.objects.filter(pk=ride.pk).update(arrives_at=timezone.now())


def ride_in_progress(**kwargs) -> Ride:
    """A ride the rider has boarded (the lifecycle's state from which it can be completed)."""
    now = timezone.now()
    return RideFactory(
        status=Ride.Status.IN_PROGRESS,
        arrives_at=now - timezone.timedelta(minutes=2),
        arrived_at=now - timezone.timedelta(minutes=2),
        boarded_at=now - timezone.timedelta(minutes=1),
        **kwargs,
    )
