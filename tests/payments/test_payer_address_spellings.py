"""A payer's address is kept in the one form accounts use, whichever way finance wrote it:
the payment reaches the rider's account, and closing the account erases it."""

import pytest

from payments.models import Payment
from tests.conftest import client_for
from tests.factories import SubscriptionFactory, UserFactory
from tests.payment_lists.lists import run_list, stored_list

pytestmark = pytest.mark.django_db

SPELLINGS = ["Rider@Example.COM", '"rider"@example.com', "R\u0131DER@example.com"]


def csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@pytest.fixture(autouse=True)
def _inline_runner(settings):
    settings.PAYMENT_LIST_RUNNER = "inline"


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_listed_payment_reaches_the_account_of_any_spelling_of_its_address(spelling):
    rider = UserFactory(email="rider@example.com")
    organization = SubscriptionFactory(plan="business").organization
    payment_list = stored_list(organization, [f"SP-1,{csv_cell(spelling)},12.50,USD,"])

    run_list(payment_list)

    assert payment_list.status == "imported", payment_list.failure_reason
    payment = Payment.objects.get(reference="SP-1")
    assert (payment.payer, payment.payer_email) == (rider, "rider@example.com")


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_closing_an_account_erases_its_address_from_payments_made_before_it(finance, spelling):
    body = {"amount": "12.50", "currency": "USD", "reference": "SP-2", "payer_email": spelling}
    assert client_for(finance).post("/api/payments/", body).status_code == 201
    rider = UserFactory(email="rider@example.com")
    rider.set_password("wildrydes-demo-9")
    rider.save()

    closed = client_for(rider).delete("/api/auth/me/", {"password": "wildrydes-demo-9"})

    assert closed.status_code == 204
    assert Payment.objects.get(reference="SP-2").payer_email == ""
