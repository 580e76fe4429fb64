"""The admin's ride and payment pages show what people read: money with its currency,
durations and distances in words, a point on one line; a ride's payment is a link to its
page only for who may open that page (finance, within the organizations it acts for)."""

import re

import pytest
from django.contrib.auth.models import Group

from accounts.roles import FINANCE, OPERATORS
from organizations.models import Organization
from promos.models import DiscountAward
from rides.models import Ride
from tests.admin.conftest import signed_in
from tests.factories import (
    CampaignFactory,
    OperatorFactory,
    PaymentFactory,
    RideFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def discounted_ride(**kwargs):
    return RideFactory(
        status=Ride.Status.COMPLETED,
        pickup_latitude=47.606221,
        pickup_longitude=-122.332077,
        dropoff_latitude=47.607103,
        dropoff_longitude=-122.33036,
        distance_to_pickup_m=165,
        eta_seconds=200,
        base_fare_minor=1250,
        discount_multiplier="0.50",
        discount_label="Unicorn Launch Week: 50% off",
        fare_minor=625,
        **kwargs,
    )


def page_text(response) -> str:
    """The page's text, tags out, spaces folded."""
    assert response.status_code == 200
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(text.split())


def test_the_ride_page_shows_money_durations_distances_and_points_in_words(operator):
    ride = discounted_ride()

    text = page_text(signed_in(operator).get(f"/admin/rides/ride/{ride.pk}/change/"))

    assert "Fare before discount: $12.50" in text
    assert "Discount: Unicorn Launch Week: 50% off (\N{MINUS SIGN}$6.25)" in text
    assert "Fare: $6.25" in text
    assert "Cancellation fee: None" in text
    assert "Pickup: Downtown Seattle (47.60622, -122.33208)" in text
    assert "Drop-off: Downtown Seattle (47.60710, -122.33036)" in text
    assert "Distance to the pickup: 165 m" in text
    assert "Time to the pickup: 3 minutes 20 seconds (at dispatch)" in text
    for raw in ("Base fare minor", "Fare minor", "Eta seconds", "Distance to pickup m",
                "Pickup latitude", "Dropoff longitude", "1250", "625"):  # fmt: skip
        assert raw not in text


def staff_of(*groups, organizations=()):
    user = UserFactory(is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=groups))
    user.organizations.add(*organizations)
    return user


@pytest.mark.parametrize(
    ("viewer", "linked"),
    [
        ("superuser", True),
        ("operator", False),  # rides, not payments
        ("operator and finance of A", True),
        ("operator and finance of B", False),  # A's payment is behind B's wall
    ],
)
def test_a_rides_payment_is_linked_only_for_who_may_open_it(viewer, linked, django_user_model):
    org_a, org_b = (Organization.objects.create(name=name) for name in ("Org A", "Org B"))
    ride = discounted_ride()
    payment = PaymentFactory(ride=ride, organization=org_a, reference="A-RIDE-PAY",
                             amount_minor=625)  # fmt: skip
    user = {
        "superuser": lambda: django_user_model.objects.create_superuser("root@example.com", "x"),
        "operator": OperatorFactory,
        "operator and finance of A": lambda: staff_of(OPERATORS, FINANCE, organizations=[org_a]),
        "operator and finance of B": lambda: staff_of(OPERATORS, FINANCE, organizations=[org_b]),
    }[viewer]()

    page = signed_in(user).get(f"/admin/rides/ride/{ride.pk}/change/").content.decode()

    link = f'<a href="/admin/payments/payment/{payment.pk}/change/">A-RIDE-PAY</a>: $6.25'
    assert (link in page) is linked
    assert ("A-RIDE-PAY" in page) is linked  # the reference is finance's to read
    if not linked:
        assert "$6.25 (payments are for finance to see)" in page


def test_a_ride_without_a_payment_says_none(operator):
    ride = discounted_ride()
    text = page_text(signed_in(operator).get(f"/admin/rides/ride/{ride.pk}/change/"))
    assert "Payments: None" in text


def test_the_payment_page_shows_the_amount_with_its_currency(finance):
    payment = PaymentFactory(amount_minor=625, currency="USD")
    euros = PaymentFactory(amount_minor=123456, currency="EUR")

    text = page_text(signed_in(finance).get(f"/admin/payments/payment/{payment.pk}/change/"))
    assert "Amount: $6.25" in text
    assert "Amount minor" not in text and "625 " not in text
    text = page_text(signed_in(finance).get(f"/admin/payments/payment/{euros.pk}/change/"))
    assert "Amount: €1,234.56" in text


def test_the_discount_awards_list_shows_discounts_as_money(operator):
    campaign = CampaignFactory(currency="EUR")
    DiscountAward.objects.create(
        username="rider@example.com", latitude=47.6, longitude=-122.3, campaign=campaign,
        multiplier="0.50", outcome=DiscountAward.Outcome.DRAWN, fare_minor=1250,
        discount_minor=625,
    )  # fmt: skip

    text = page_text(signed_in(operator).get("/admin/promos/discountaward/"))

    assert "€6.25" in text
    assert " 625 " not in f" {text} "


def test_a_discount_awards_page_shows_the_fare_and_discount_as_money(operator):
    campaign = CampaignFactory(currency="EUR")
    award = DiscountAward.objects.create(
        username="rider@example.com", latitude=47.6, longitude=-122.3, campaign=campaign,
        multiplier="0.50", outcome=DiscountAward.Outcome.DRAWN, fare_minor=1250,
        discount_minor=625,
    )  # fmt: skip

    text = page_text(signed_in(operator).get(f"/admin/promos/discountaward/{award.pk}/change/"))

    assert "Fare: €12.50" in text
    assert "Discount: €6.25" in text
    assert "minor" not in text.lower()
