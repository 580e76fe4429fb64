"""The same thing sent several times at the same moment: one wins, the others get a 4xx
with a sentence, never a 500; the database holds it once.

Real threads, each with its own database connection, on whichever database the suite runs
(SQLite, then PostgreSQL through PgBouncer in `make test`).
"""

import pytest
from django.db import IntegrityError
from rest_framework.test import APIClient

from accounts.models import User
from core.exceptions import api_exception_handler
from core.models import IdempotencyRecord
from events.models import OutboxEvent
from payments.models import Payment
from tests.concurrency import all_at_once
from tests.conftest import client_for
from tests.factories import FinanceFactory

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"amount": "12.50", "currency": "USD", "reference": "INV-RACE"}


def test_the_same_reference_ten_times_at_once_registers_it_once_and_answers_409():
    finance = FinanceFactory()

    responses = all_at_once(10, lambda: client_for(finance).post("/api/payments/", BODY))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 9
    for response in responses:
        if response.status_code == 409:
            assert response.json() == {
                "detail": "A payment with reference 'INV-RACE' already exists."
            }
    assert Payment.objects.filter(reference="INV-RACE").count() == 1
    assert OutboxEvent.objects.filter(type="payments.PaymentRegistered").count() == 1


def test_the_same_idempotency_key_ten_times_at_once_registers_once_and_replays_it():
    finance = FinanceFactory()

    def send():
        return client_for(finance).post("/api/payments/", BODY, HTTP_IDEMPOTENCY_KEY="pay-1")

    responses = all_at_once(10, send)

    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == 9
    assert Payment.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_the_same_email_signing_up_five_times_at_once_makes_one_account():
    body = {"email": "twice@example.com", "password": "a-long-enough-passphrase-42"}

    responses = all_at_once(5, lambda: APIClient().post("/api/auth/register/", body))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [400] * 4, [r.content for r in responses]
    refused = next(r for r in responses if r.status_code == 400)
    assert "already exists" in str(refused.json()["email"])
    assert User.objects.filter(email="twice@example.com").count() == 1


def test_any_other_uniqueness_violation_answers_409_with_a_sentence():
    response = api_exception_handler(IntegrityError("duplicate key value"), {})

    assert response.status_code == 409
    assert "Nothing was changed" in response.data["detail"]
