import json

import pytest
from rest_framework.test import APIClient

from events.models import OutboxEvent
from payments.models import Payment
from tests.factories import PaymentFactory, RideFactory

pytestmark = pytest.mark.django_db

URL = "/api/payments/"
BODY = {"amount": "12.50", "currency": "USD", "reference": "INV-1001"}


def event_types():
    return list(OutboxEvent.objects.order_by("occurred_at").values_list("type", flat=True))


def test_finance_registers_a_payment_in_minor_units(finance_api, finance):
    response = finance_api.post(URL, BODY)
    assert response.status_code == 201
    body = response.json()
    assert (body["amount"], body["currency"], body["status"]) == ("12.50", "USD", "registered")
    payment = Payment.objects.get()
    assert payment.amount_minor == 1250
    assert payment.registered_by == finance.email
    assert event_types() == ["payments.PaymentRegistered"]


def test_service_key_registers_a_payment_for_a_ride(service_api):
    ride = RideFactory()
    response = service_api.post(
        URL, {**BODY, "ride": str(ride.id), "payer_email": ride.rider.email}
    )
    assert response.status_code == 201
    payment = Payment.objects.get()
    assert payment.ride == ride
    assert payment.payer == ride.rider
    assert payment.registered_by == "service:rides-dev"


def test_riders_may_not_register_payments(rider_api):
    response = rider_api.post(URL, BODY)
    assert response.status_code == 403
    assert "finance staff" in response.json()["detail"]
    assert not Payment.objects.exists()


def test_anonymous_is_401(api):
    assert api.post(URL, BODY).status_code == 401
    assert api.get(URL).status_code == 401


def test_operators_may_not_register_payments(operator_api):
    assert operator_api.post(URL, BODY).status_code == 403


@pytest.mark.parametrize(
    "change, field",
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "twelve"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "Infinity"}, "amount"),
        ({"amount": None}, "amount"),
        ({"amount": "12345678901.00"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "US"}, "currency"),
        ({"currency": ""}, "currency"),
        ({"reference": ""}, "reference"),
        ({"reference": "has spaces"}, "reference"),
        ({"reference": "x" * 65}, "reference"),
        ({"ride": "not-a-uuid"}, "ride"),
        ({"ride": "7d7c8a4e-0000-4000-8000-000000000000"}, "ride"),
        ({"payer_email": "nope"}, "payer_email"),
    ],
)
def test_bad_payment_is_400_and_changes_nothing(finance_api, change, field):
    response = finance_api.post(URL, {**BODY, **change})
    assert response.status_code == 400
    assert field in response.json()
    assert not Payment.objects.exists()
    assert not OutboxEvent.objects.exists()


@pytest.mark.parametrize("number", ["10.5", "0.30000000000000004", "10", "1e3"])
def test_an_amount_sent_as_a_json_number_is_a_400_asking_for_a_string(finance_api, number):
    body = json.dumps({**BODY, "amount": "NUMBER"}).replace('"NUMBER"', number)

    response = finance_api.post(URL, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"amount": ['Send the amount as a string, e.g. "12.50".']}
    assert not Payment.objects.exists()


@pytest.mark.parametrize("amount", ["1e3", "1E2", "12.5e0", "0x10", "1_000"])
def test_an_amount_in_exponent_or_other_forms_is_a_400(finance_api, amount):
    response = finance_api.post(URL, {**BODY, "amount": amount})

    assert response.status_code == 400
    assert response.json() == {
        "amount": ['Write the amount as a plain decimal number, e.g. "12.50".']
    }
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("amount", "minor"), [("12.5", 1250), ("7", 700), ("9999999999.99", 999999999999)]
)
def test_plain_decimal_strings_are_registered_to_the_cent(finance_api, amount, minor):
    response = finance_api.post(URL, {**BODY, "amount": amount})

    assert response.status_code == 201
    assert Payment.objects.get().amount_minor == minor


def test_unknown_currency_names_the_known_ones(finance_api):
    response = finance_api.post(URL, {**BODY, "currency": "XYZ"})
    assert "use one of USD" in response.json()["currency"][0]


def test_duplicate_reference_is_409(finance_api):
    PaymentFactory(reference="INV-1001")
    response = finance_api.post(URL, BODY)
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


def test_idempotency_key_replays_the_first_answer(finance_api):
    first = finance_api.post(URL, BODY, HTTP_IDEMPOTENCY_KEY="pay-1")
    again = finance_api.post(URL, BODY, HTTP_IDEMPOTENCY_KEY="pay-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Payment.objects.count() == 1
    assert event_types() == ["payments.PaymentRegistered"]


def test_idempotency_key_with_another_body_is_422(finance_api):
    finance_api.post(URL, BODY, HTTP_IDEMPOTENCY_KEY="pay-1")
    other = finance_api.post(URL, {**BODY, "amount": "99.00"}, HTTP_IDEMPOTENCY_KEY="pay-1")
    assert other.status_code == 422
    assert Payment.objects.get().amount_minor == 1250


def test_rider_lists_only_their_own_payments(rider_api, rider, other_rider):
    mine = PaymentFactory(payer=rider)
    PaymentFactory(payer=other_rider)
    body = rider_api.get(URL).json()
    assert [p["id"] for p in body["results"]] == [str(mine.id)]


def test_rider_cannot_see_another_riders_payment(rider_api, other_rider):
    theirs = PaymentFactory(payer=other_rider)
    assert rider_api.get(f"{URL}{theirs.id}/").status_code == 404


STAFF_FIELDS = {"registered_by", "verified_by", "deleted_by"}


def test_a_rider_sees_their_payment_without_who_handled_it(rider_api, rider, finance_api, finance):
    payment = PaymentFactory(payer=rider, registered_by="clerk@example.com")
    finance_api.post(f"{URL}{payment.id}/verify/")

    detail = rider_api.get(f"{URL}{payment.id}/")
    listed = rider_api.get(URL)

    assert detail.json()["status"] == "verified"
    assert STAFF_FIELDS.isdisjoint(detail.json())
    assert STAFF_FIELDS.isdisjoint(listed.json()["results"][0])
    for answer in (detail, listed):
        assert finance.email not in answer.content.decode()
        assert "clerk@example.com" not in answer.content.decode()


def test_finance_and_services_see_who_handled_a_payment(finance_api, finance, service_key):
    service_key.organization.members.add(finance)
    payment = PaymentFactory(organization=service_key.organization, registered_by="a@example.com")
    finance_api.post(f"{URL}{payment.id}/verify/")
    service = APIClient()
    service.credentials(HTTP_AUTHORIZATION=f"Api-Key {service_key.plain_key}")

    for api in (finance_api, service):
        detail = api.get(f"{URL}{payment.id}/").json()
        listed = api.get(URL).json()["results"][0]
        for answer in (detail, listed):
            handled = (answer["registered_by"], answer["verified_by"], answer["deleted_by"])
            assert handled == ("a@example.com", finance.email, "")


def test_finance_lists_all_and_filters_by_status(finance_api):
    PaymentFactory(status="registered")
    verified = PaymentFactory(status="verified")
    assert finance_api.get(URL).json()["count"] == 2
    body = finance_api.get(URL, {"status": "verified"}).json()
    assert [p["id"] for p in body["results"]] == [str(verified.id)]


def test_unknown_status_filter_is_400(finance_api):
    response = finance_api.get(URL, {"status": "paid"})
    assert response.status_code == 400
    assert "Unknown status" in response.json()["status"][0]


def test_verify_a_registered_payment(finance_api, finance):
    payment = PaymentFactory()
    response = finance_api.post(f"{URL}{payment.id}/verify/")
    assert response.status_code == 200
    assert response.json()["status"] == "verified"
    assert response.json()["verified_by"] == finance.email
    assert event_types() == ["payments.PaymentVerified"]


@pytest.mark.parametrize("state", ["verified", "deleted"])
def test_verify_a_payment_that_is_not_registered_is_409(finance_api, state):
    payment = PaymentFactory(status=state)
    response = finance_api.post(f"{URL}{payment.id}/verify/")
    assert response.status_code == 409
    assert not OutboxEvent.objects.exists()


def test_delete_keeps_the_row_for_audit(finance_api, finance):
    payment = PaymentFactory()
    response = finance_api.delete(f"{URL}{payment.id}/")
    assert response.status_code == 204
    payment.refresh_from_db()
    assert (payment.status, payment.deleted_by) == ("deleted", finance.email)
    assert event_types() == ["payments.PaymentDeleted"]


def test_delete_a_verified_payment_is_409(finance_api):
    payment = PaymentFactory(status="verified")
    response = finance_api.delete(f"{URL}{payment.id}/")
    assert response.status_code == 409
    payment.refresh_from_db()
    assert payment.status == "verified"


def test_riders_may_not_verify_or_delete_even_their_own(rider_api, rider):
    payment = PaymentFactory(payer=rider)
    assert rider_api.post(f"{URL}{payment.id}/verify/").status_code == 403
    assert rider_api.delete(f"{URL}{payment.id}/").status_code == 403
    payment.refresh_from_db()
    assert payment.status == "registered"


def test_service_verifies_and_deletes(service_key, service_api):
    organization = service_key.organization
    first, second = (
        PaymentFactory(organization=organization),
        PaymentFactory(organization=organization),
    )
    assert service_api.post(f"{URL}{first.id}/verify/").status_code == 200
    assert service_api.delete(f"{URL}{second.id}/").status_code == 204


def test_service_key_of_an_organization_sees_only_its_payments(service_key, service_api):
    from tests.factories import OrganizationFactory

    service_key.organization = OrganizationFactory()
    service_key.save()
    PaymentFactory()  # another organization's
    response = service_api.post(URL, BODY)
    assert Payment.objects.get(pk=response.json()["id"]).organization == service_key.organization
    assert service_api.get(URL).json()["count"] == 1


def test_wrong_methods_are_405(finance_api):
    payment = PaymentFactory()
    assert finance_api.put(f"{URL}{payment.id}/", BODY).status_code == 405
    assert finance_api.get(f"{URL}{payment.id}/verify/").status_code == 405


def test_unknown_payment_is_404(finance_api):
    response = finance_api.get(f"{URL}7d7c8a4e-0000-4000-8000-000000000000/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No such payment."}
