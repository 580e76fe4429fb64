"""The rules of a payment an API client registers (payments.services.register_requested_payment)
and who sees which payment (payments.selectors, given a user and a service key, no request)."""

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from core.exceptions import NotFound
from events.models import OutboxEvent
from payments import selectors
from payments.models import Payment
from tests.conftest import client_for
from tests.factories import (
    FinanceFactory,
    OrganizationFactory,
    PaymentFactory,
    RideFactory,
    ServiceKeyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/payments/"
BODY = {"amount": "12.50", "currency": "USD", "reference": "INV-7"}
NO_RIDE = "7d7c8a4e-0000-4000-8000-000000000000"


def test_a_payment_for_a_ride_that_does_not_exist_is_a_400_on_the_ride(finance):
    response = client_for(finance).post(URL, {**BODY, "ride": NO_RIDE})

    assert response.status_code == 400
    assert response.json() == {"ride": ["No ride with this id."]}
    assert not Payment.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_after_an_unknown_ride_the_same_idempotency_key_registers_the_corrected_payment(finance):
    api = client_for(finance)

    refused = api.post(URL, {**BODY, "ride": NO_RIDE}, HTTP_IDEMPOTENCY_KEY="pay-7")
    ride = RideFactory()
    accepted = api.post(URL, {**BODY, "ride": str(ride.id)}, HTTP_IDEMPOTENCY_KEY="pay-7")

    assert refused.status_code == 400
    assert accepted.status_code == 201
    assert Payment.objects.get().ride == ride


def test_the_payer_is_the_account_with_that_email_in_any_case(finance):
    rider = UserFactory(email="payer@example.com")

    response = client_for(finance).post(URL, {**BODY, "payer_email": "Payer@Example.COM"})

    assert response.status_code == 201
    assert Payment.objects.get().payer == rider


def test_a_payer_email_of_no_account_is_kept_without_a_payer(finance):
    response = client_for(finance).post(URL, {**BODY, "payer_email": "someone@example.com"})

    assert response.status_code == 201
    payment = Payment.objects.get()
    assert (payment.payer, payment.payer_email) == (None, "someone@example.com")


def test_finance_of_one_organization_registers_for_it_and_the_other_does_not_see_it():
    mine, theirs = OrganizationFactory(), OrganizationFactory()
    finance, other = FinanceFactory(organizations=[mine]), FinanceFactory(organizations=[theirs])

    created = client_for(finance).post(URL, BODY).json()

    assert Payment.objects.get().organization == mine
    assert created["organization"] == mine.name
    assert client_for(other).get(f"{URL}{created['id']}/").status_code == 404


def test_finance_of_several_organizations_who_does_not_choose_one_is_a_400():
    finance = FinanceFactory(organizations=[OrganizationFactory(), OrganizationFactory()])

    response = client_for(finance).post(URL, BODY)

    assert response.status_code == 400
    assert response.json() == {"organization": ["You act for several organizations: choose one."]}
    assert not Payment.objects.exists()


def test_finance_of_several_organizations_registers_for_the_one_it_chooses():
    mine, also_mine, theirs = OrganizationFactory(), OrganizationFactory(), OrganizationFactory()
    finance = FinanceFactory(organizations=[mine, also_mine])

    created = client_for(finance).post(URL, {**BODY, "organization": also_mine.pk})

    assert created.status_code == 201
    assert created.json()["organization"] == also_mine.name
    only_mine = client_for(FinanceFactory(organizations=[mine]))
    only_theirs = client_for(FinanceFactory(organizations=[theirs]))
    assert only_mine.get(f"{URL}{created.json()['id']}/").status_code == 404
    assert only_theirs.delete(f"{URL}{created.json()['id']}/").status_code == 404


def test_finance_may_not_register_for_an_organization_it_does_not_act_for():
    mine, theirs = OrganizationFactory(), OrganizationFactory()
    finance = FinanceFactory(organizations=[mine])

    for chosen in (theirs.pk, 10**20):
        response = client_for(finance).post(URL, {**BODY, "organization": chosen})

        assert response.status_code == 400, chosen
        assert response.json() == {
            "organization": ["You cannot register payments for that organization."]
        }
    not_an_id = client_for(finance).post(URL, {**BODY, "organization": "Mine Ltd"})
    assert (not_an_id.status_code, list(not_an_id.json())) == (400, ["organization"])
    assert not Payment.objects.exists()


def test_a_service_key_registers_for_its_own_organization_and_no_other():
    key = ServiceKeyFactory(organization=OrganizationFactory())
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key.plain_key}")

    other = api.post(URL, {**BODY, "organization": OrganizationFactory().pk})
    own = api.post(URL, {**BODY, "organization": key.organization.pk})
    unsaid = api.post(URL, {**BODY, "reference": "INV-8"})

    assert other.status_code == 400
    assert (own.status_code, unsaid.status_code) == (201, 201)
    assert {p.organization for p in Payment.objects.all()} == {key.organization}


def test_a_superuser_registers_a_payment_of_no_organization_unless_they_choose_one():
    root = User.objects.create_superuser("root@example.com", "correct-horse-battery")
    chosen, _ = OrganizationFactory(), OrganizationFactory()

    house = client_for(root).post(URL, BODY)
    theirs = client_for(root).post(URL, {**BODY, "reference": "INV-8", "organization": chosen.pk})

    assert (house.status_code, theirs.status_code) == (201, 201)
    assert (house.json()["organization"], theirs.json()["organization"]) == (None, chosen.name)


def test_who_sees_which_payment_from_a_user_and_a_key_alone():
    mine, theirs = OrganizationFactory(), OrganizationFactory()
    rider = UserFactory()
    own = PaymentFactory(organization=mine, payer=rider)
    other = PaymentFactory(organization=theirs)
    house = PaymentFactory()  # of no organization: a fare, the house's own
    key = ServiceKeyFactory(organization=mine)

    def visible(**who):
        return set(selectors.payments_visible_to(**who))

    assert visible(user=FinanceFactory(organizations=[mine])) == {own, house}
    assert visible(user=rider) == {own}
    assert visible(user=UserFactory(), service_key=key) == {own}
    assert selectors.payment_for(user=rider, payment_id=own.pk) == own
    with pytest.raises(NotFound, match="No such payment"):
        selectors.payment_for(user=rider, payment_id=other.pk)
