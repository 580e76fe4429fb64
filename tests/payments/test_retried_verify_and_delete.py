"""Verifying or deleting a payment, retried (its answer lost on the way back) or raced.

A client that retries with the same Idempotency-Key gets the first answer again, as for
registering a payment: not a 409 for the change its own first try made. A verify and a
delete of one payment at the same moment (real threads, each with its own connection, on
SQLite and on PostgreSQL through PgBouncer): one of them happens, the other is a 409 with a
sentence, and the payment, its events, the BI day and the payer's notifications all tell
the winner's story once.
"""

import threading

import pytest

from bi.models import DailyAggregate
from core.models import IdempotencyRecord
from events.models import OutboxEvent
from notifications.models import Notification
from payments.models import Payment
from tests.concurrency import all_at_once
from tests.conftest import client_for
from tests.factories import FinanceFactory, UserFactory

BODY = {"amount": "12.50", "currency": "USD", "payer_email": ""}


def register(finance, reference: str, payer=None) -> str:
    body = {**BODY, "reference": reference, "payer_email": payer.email if payer else ""}
    answer = client_for(finance).post("/api/payments/", body)
    assert answer.status_code == 201, answer.content
    return answer.json()["id"]


def events_of(payment_id: str, event_type: str) -> int:
    return OutboxEvent.objects.filter(type=event_type, data__payment_id=payment_id).count()


@pytest.mark.django_db
def test_a_verify_retried_with_its_key_gets_its_answer_again_and_verifies_once():
    finance = FinanceFactory()
    payment = register(finance, "INV-V1")
    api = client_for(finance)

    first = api.post(f"/api/payments/{payment}/verify/", HTTP_IDEMPOTENCY_KEY="verify-1")
    retry = api.post(f"/api/payments/{payment}/verify/", HTTP_IDEMPOTENCY_KEY="verify-1")

    assert (first.status_code, retry.status_code) == (200, 200), retry.content
    assert retry.json() == first.json() and retry.json()["status"] == "verified"
    assert retry["Idempotent-Replayed"] == "true"
    assert events_of(payment, "payments.PaymentVerified") == 1
    # Without the key a second verify is still refused: the payment is not registered.
    again = api.post(f"/api/payments/{payment}/verify/")
    assert again.status_code == 409
    assert again.json() == {
        "detail": "Only a registered payment can be verified; this one is verified."
    }


@pytest.mark.django_db
def test_a_delete_retried_with_its_key_gets_its_answer_again_and_deletes_once():
    finance = FinanceFactory()
    payment = register(finance, "INV-D1")
    api = client_for(finance)

    first = api.delete(f"/api/payments/{payment}/", HTTP_IDEMPOTENCY_KEY="delete-1")
    retry = api.delete(f"/api/payments/{payment}/", HTTP_IDEMPOTENCY_KEY="delete-1")

    assert (first.status_code, retry.status_code) == (204, 204), retry.content
    assert Payment.objects.get(pk=payment).status == "deleted"
    assert events_of(payment, "payments.PaymentDeleted") == 1


@pytest.mark.django_db
def test_a_key_is_the_payments_own_and_a_refusal_is_not_kept():
    finance = FinanceFactory()
    verified, other = register(finance, "INV-K1"), register(finance, "INV-K2")
    api = client_for(finance)
    api.delete(f"/api/payments/{verified}/", HTTP_IDEMPOTENCY_KEY="k")  # key used on one

    # The same key on another payment is that payment's request, not a replay.
    answer = api.post(f"/api/payments/{other}/verify/", HTTP_IDEMPOTENCY_KEY="k")
    assert (answer.status_code, answer.json()["id"]) == (200, other)
    # A refusal (409) is not kept as the key's answer: the key is given back.
    refused = api.post(f"/api/payments/{verified}/verify/", HTTP_IDEMPOTENCY_KEY="v")
    assert refused.status_code == 409
    assert not IdempotencyRecord.objects.filter(key="v").exists()


@pytest.mark.django_db(transaction=True)
def test_a_verify_and_a_delete_at_once_one_happens_and_everyone_is_told_that_one():
    finance, payer = FinanceFactory(), UserFactory()
    payment = register(finance, "INV-RACE", payer)
    paths = iter(["verify", "delete"])
    lock = threading.Lock()

    def send():
        with lock:
            which = next(paths)
        api = client_for(finance)
        if which == "verify":
            return which, api.post(f"/api/payments/{payment}/verify/")
        return which, api.delete(f"/api/payments/{payment}/")

    answers = dict(all_at_once(2, send))

    won = "verify" if answers["verify"].status_code == 200 else "delete"
    lost = {"verify": "delete", "delete": "verify"}[won]
    assert answers[won].status_code in (200, 204)
    assert answers[lost].status_code == 409 and answers[lost].json()["detail"]
    status = {"verify": "verified", "delete": "deleted"}[won]
    assert Payment.objects.get(pk=payment).status == status
    event = {"verify": "payments.PaymentVerified", "delete": "payments.PaymentDeleted"}
    assert events_of(payment, event[won]) == 1 and events_of(payment, event[lost]) == 0
    day = DailyAggregate.objects.get()
    assert (day.payments_registered, day.payments_verified + day.payments_deleted) == (1, 1)
    assert getattr(day, f"payments_{status}_minor") == 1250
    told = Notification.objects.filter(user=payer).values_list("message", flat=True)
    word = {"verify": "confirmed", "delete": "cancelled"}[won]
    assert sorted(told) == sorted(["Payment of $12.50 registered", f"Payment of $12.50 {word}"])


@pytest.mark.django_db(transaction=True)
def test_the_same_verify_sent_four_times_at_once_with_one_key_verifies_once():
    finance = FinanceFactory()
    payment = register(finance, "INV-V4")

    def send():
        return client_for(finance).post(
            f"/api/payments/{payment}/verify/", HTTP_IDEMPOTENCY_KEY="verify-4"
        )

    answers = all_at_once(4, send)

    assert [answer.status_code for answer in answers] == [200] * 4
    assert events_of(payment, "payments.PaymentVerified") == 1
