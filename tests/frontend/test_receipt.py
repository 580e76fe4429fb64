"""The receipt page, rendered on the server from the ride as recorded."""

from datetime import UTC, datetime

import pytest

from payments.models import Payment
from rides.models import Ride
from tests.factories import PaymentFactory, RideFactory, UserFactory

pytestmark = pytest.mark.django_db


def receipt_of(client, ride):
    return client.get(f"/history/{ride.id}/")


def test_a_completed_ride_shows_the_fare_breakdown_and_its_payment(client, rider):
    ride = RideFactory(
        rider=rider,
        status=Ride.Status.COMPLETED,
        dropoff_latitude=47.6162,
        dropoff_longitude=-122.3321,
        base_fare_minor=1000,
        discount_multiplier="0.75",
        discount_label="Spring sparkle: 25% off",
        fare_minor=750,
    )
    PaymentFactory(ride=ride, reference=f"ride-{ride.id}", amount_minor=750, currency="USD")
    client.force_login(rider)

    response = receipt_of(client, ride)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Fare for the distance" in page
    assert "$10.00" in page
    assert "Discount: Spring sparkle: 25% off</dt>" in page
    assert "&minus;$2.50" in page
    assert "Fare charged" in page
    assert "$7.50" in page
    assert "1.11 km" in page  # 0.01 degree of latitude
    assert "Payment reference" in page


def test_a_discount_without_a_label_says_how_much_off(client, rider):
    ride = RideFactory(
        rider=rider,
        status=Ride.Status.COMPLETED,
        base_fare_minor=1000,
        discount_multiplier="0.75",
        discount_label="",
        fare_minor=750,
    )
    client.force_login(rider)

    page = receipt_of(client, ride).content.decode()

    assert "Discount (25% off)</dt>" in page


def test_a_cancelled_ride_says_it_was_not_charged(client, rider):
    ride = RideFactory(rider=rider, status=Ride.Status.CANCELLED, fare_minor=1250)
    client.force_login(rider)

    page = receipt_of(client, ride).content.decode()

    assert "Not charged" in page
    assert "You were not charged for this ride." in page
    assert "Fare charged" not in page


def test_another_riders_receipt_is_not_found(client, rider):
    ride = RideFactory(rider=UserFactory())
    client.force_login(rider)

    assert receipt_of(client, ride).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in_first(client):
    ride = RideFactory()

    response = receipt_of(client, ride)

    assert response.status_code == 302
    assert response.url.startswith("/signin/?next=/history/")


def test_a_hostile_unicorn_name_is_text_on_the_receipt(client, rider):
    ride = RideFactory(rider=rider, unicorn__name='<img src=x onerror="alert(1)">')
    client.force_login(rider)

    page = receipt_of(client, ride).content.decode()

    assert '<img src=x onerror="alert(1)">' not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


def test_a_short_trip_says_it_cost_the_minimum_fare(client, rider, settings):
    """A 0.11 km trip costs the flat fare ($12.50), not its distance fare ($5.17): it was
    labelled 'Fare for the distance $12.50'."""
    ride = RideFactory(
        rider=rider,
        status=Ride.Status.COMPLETED,
        dropoff_latitude=47.6072,  # 0.001 degree of latitude north of the pickup
        dropoff_longitude=-122.3321,
        base_fare_minor=settings.FARE_FLAT_MINOR,
        fare_minor=settings.FARE_FLAT_MINOR,
    )
    client.force_login(rider)

    page = receipt_of(client, ride).content.decode()

    assert "<dt>Minimum fare</dt><dd>$12.50</dd>" in page
    assert "Fare for the distance" not in page


def test_a_long_trip_is_charged_for_its_distance(client, rider):
    ride = RideFactory(
        rider=rider,
        status=Ride.Status.COMPLETED,
        dropoff_latitude=47.7062,  # 0.1 degree of latitude: 11.12 km, $5.00 + 11.12 x $1.50
        dropoff_longitude=-122.3321,
        base_fare_minor=2168,
        fare_minor=2168,
    )
    client.force_login(rider)

    page = receipt_of(client, ride).content.decode()

    assert "<dt>Fare for the distance</dt><dd>$21.68</dd>" in page
    assert "Minimum fare" not in page


def test_a_completed_ride_states_its_fare_once_as_the_charge(client, rider):
    """'Fare $12.50' above 'Fare charged $12.50' said the same thing twice."""
    ride = RideFactory(rider=rider, status=Ride.Status.COMPLETED)
    client.force_login(rider)

    page = receipt_of(client, ride).content.decode()

    assert "<dt>Flat fare</dt><dd>$12.50</dd>" in page
    assert "<dt>Fare</dt>" not in page
    assert "<dt>Fare charged</dt><dd>$12.50</dd>" in page


def test_a_ride_not_charged_its_fare_still_shows_what_the_fare_was(client, rider):
    ride = RideFactory(rider=rider, status=Ride.Status.CANCELLED)
    client.force_login(rider)

    page = receipt_of(client, ride).content.decode()

    assert "<dt>Fare</dt><dd>$12.50</dd>" in page


@pytest.mark.parametrize(
    ("status", "words"), [(Payment.Status.REGISTERED, "Charged"), (Payment.Status.VERIFIED, "Paid")]
)
def test_the_payments_status_is_in_a_riders_words(client, rider, status, words):
    """It showed finance's word for it: 'Registered'."""
    ride = RideFactory(rider=rider, status=Ride.Status.COMPLETED)
    PaymentFactory(
        ride=ride, reference=f"ride-{ride.id}", amount_minor=1250, currency="USD", status=status
    )
    client.force_login(rider)

    page = receipt_of(client, ride).content.decode()

    assert f"<dt>Status</dt><dd>{words}</dd>" in page
    assert status.label not in page.lower()


@pytest.mark.parametrize(
    ("utc_hour", "shown"),
    [(8, "1 November 2026, 01:30 PDT"), (9, "1 November 2026, 01:30 PST")],
)
def test_the_time_of_a_ride_names_its_zone_in_the_hour_the_clocks_go_back(
    client, rider, settings, utc_hour, shown
):
    """Seattle's clocks read 01:30 twice on 1 November: the receipt says which one."""
    settings.TIME_ZONE = "America/Los_Angeles"
    ride = RideFactory(rider=rider, status=Ride.Status.COMPLETED)
    Ride.objects.filter(pk=ride.pk).update(
        requested_at=datetime(2026, 11, 1, utc_hour, 30, tzinfo=UTC)
    )
    client.force_login(rider)

    assert shown in receipt_of(client, ride).content.decode()


def test_a_fee_an_operator_waived_is_told_as_waived(client, rider, operator):
    from rides import services as rides
    from tests.factories import UnicornFactory, arrive_now

    ride = RideFactory(rider=rider, unicorn=UnicornFactory(is_available=False))
    arrive_now(ride)
    ride = rides.cancel_ride(ride=ride, by=rider)
    rides.waive_cancellation_fee(ride=ride, by=operator)
    client.force_login(rider)

    page = receipt_of(client, ride).content.decode()

    assert "Fee waived" in page
    assert "The $5.00 fee was waived: you owe nothing for this ride." in page
    assert "Cancellation fee" not in page
