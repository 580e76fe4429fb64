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
    fare_minor = 1250
    fare_currency = "USD"
