"""The outbox page hides a payment event's payload from whoever may not read it; a filter
on the payload typed into the page's URL must not tell it either, by the rows it leaves."""

import pytest
from django.utils import timezone

from accounts.models import User
from events.models import OutboxEvent
from payments.events import PAYMENT_REGISTERED, payment_data
from tests.admin.conftest import signed_in
from tests.factories import FinanceFactory, OperatorFactory, OrganizationFactory, PaymentFactory

pytestmark = pytest.mark.django_db

PAYER = "secret-payer-5521@theirs.example"
# The payer's address guessed a letter at a time, as an outsider would.
PROBE = "/admin/events/outboxevent/?data__payer_email__startswith=secret-payer"


@pytest.fixture
def payment_event():
    theirs = OrganizationFactory()
    payment = PaymentFactory(organization=theirs, payer_email=PAYER)
    OutboxEvent.objects.create(
        type=PAYMENT_REGISTERED, occurred_at=timezone.now(), data=payment_data(payment)
    )
    return theirs


@pytest.mark.parametrize("role", ["operator", "finance of another organization"])
def test_a_filter_on_the_payload_is_refused_to_who_may_not_read_it(payment_event, role):
    user = OperatorFactory() if role == "operator" else FinanceFactory(organizations=[
        OrganizationFactory()
    ])  # fmt: skip
    client = signed_in(user)
    assert client.get("/admin/events/outboxevent/").status_code == 200

    answer = client.get(PROBE)

    assert answer.status_code == 400
    assert PAYER not in answer.content.decode()


def test_a_superuser_may_filter_on_the_payload(payment_event):
    superuser_client = signed_in(User.objects.create_superuser("root@example.com", "pw-5521x"))
    answer = superuser_client.get(PROBE)
    assert answer.status_code == 200
    assert answer.context["cl"].result_count == 1
    nobody = superuser_client.get(PROBE.replace("secret-payer", "nobody"))
    assert nobody.context["cl"].result_count == 0
