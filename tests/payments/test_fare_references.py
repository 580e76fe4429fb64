"""A ride's fare is registered by the ride's completion only: nobody can pre-empt it with a
payment of the fare's reference."""

import pytest

from payments import services
from payments.models import Payment
from tests.factories import RideFactory

pytestmark = pytest.mark.django_db

URL = "/api/payments/"


@pytest.mark.parametrize("form", ["ride-{id}", "RIDE-{id}", "ride-{id}-cancellation"])
def test_a_ride_reference_is_refused_through_the_api(finance_api, form):
    ride = RideFactory()
    reference = form.format(id=ride.id)

    response = finance_api.post(URL, {"amount": "0.01", "currency": "GBP", "reference": reference})

    assert response.status_code == 400
    assert "reserved for the fares of rides" in response.json()["detail"]
    assert not Payment.objects.exists()


def test_the_fare_is_still_registered_by_the_ride_after_an_attempt_to_pre_empt_it(
    service_api,
):
    ride = RideFactory(fare_minor=1250, fare_currency="USD")
    refused = service_api.post(
        URL, {"amount": "0.01", "currency": "GBP", "reference": f"ride-{ride.id}"}
    )
    assert refused.status_code == 400

    fare = services.register_fare_payment(ride=ride, actor="rides")

    assert (fare.reference, fare.amount_minor, fare.currency) == (f"ride-{ride.id}", 1250, "USD")
    assert fare.payer == ride.rider
    assert Payment.objects.get() == fare


def test_payment_lists_get_the_same_sentence_for_a_ride_reference():
    assert services.reserved_reference_sentence("ride-123") == (
        "References starting with 'ride-' are reserved for the fares of rides, which are "
        "registered when the ride is completed. Use another reference."
    )
    assert services.reserved_reference_sentence("INV-ride-1") is None


def test_a_payment_list_row_with_a_ride_reference_is_refused_with_the_same_sentence():
    from payment_lists import rows

    ride = RideFactory()
    row = [f"ride-{ride.id}", "", "0.01", "GBP", ""]

    staged, errors = rows.check_row(2, row, rows.known_currencies())

    assert staged == ()
    assert [(e.row, e.column, e.reason) for e in errors] == [
        (2, "reference", services.reserved_reference_sentence(f"ride-{ride.id}"))
    ]
