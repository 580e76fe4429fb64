"""What is kept of an `Idempotency-Key` answer, and for how long: a closed account's
answers go with it, and every answer goes once IDEMPOTENCY_RETENTION_HOURS have passed (the
relay's scheduled pass purges them), so the e-mail addresses they carry do not stay."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.idempotency import purge_expired_records
from core.models import IdempotencyRecord
from events import aws as events_aws
from tests.concurrency import all_at_once
from tests.conftest import client_for
from tests.factories import DEMO_CITY, PASSWORD, UnicornFactory

PICKUP = {"pickup": {"latitude": DEMO_CITY[0], "longitude": DEMO_CITY[1]}}


def kept_answers_mentioning(email: str) -> list:
    bodies = IdempotencyRecord.objects.values_list("response_body", flat=True)
    return [body for body in bodies if email.lower() in json.dumps(body).lower()]


@pytest.mark.django_db
def test_closing_an_account_erases_its_address_from_the_answers_kept_for_retries(
    rider, rider_api, finance
):
    UnicornFactory()
    booked = rider_api.post("/api/rides/", PICKUP, format="json", HTTP_IDEMPOTENCY_KEY="ride-1")
    assert booked.status_code == 201, booked.content
    assert rider_api.post(f"/api/rides/{booked.json()['id']}/cancel/").status_code == 200
    payment = {"amount": "12.50", "currency": "USD", "reference": "INV-77",
               "payer_email": rider.email}  # fmt: skip
    finance_api = client_for(finance)
    paid = finance_api.post("/api/payments/", payment, HTTP_IDEMPOTENCY_KEY="pay-1")
    assert paid.status_code == 201, paid.content
    assert len(kept_answers_mentioning(rider.email)) == 2

    assert rider_api.delete("/api/auth/me/", {"password": PASSWORD}).status_code == 204

    assert kept_answers_mentioning(rider.email) == []
    # Finance's retry is still answered with the same payment, as it now reads.
    replayed = finance_api.post("/api/payments/", payment, HTTP_IDEMPOTENCY_KEY="pay-1")
    assert replayed.status_code == 201
    assert replayed["Idempotent-Replayed"] == "true"
    assert (replayed.json()["id"], replayed.json()["payer_email"]) == (paid.json()["id"], "")


def answer(key: str, *, age: timedelta, claimed_age: timedelta | None = None):
    record = IdempotencyRecord.objects.create(
        owner="user:1", scope="rides.create", key=key, fingerprint="f", status_code=201,
        response_body={"rider": "someone@example.com"}, claimed_at=timezone.now(),
    )  # fmt: skip
    now = timezone.now()
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=now - age, claimed_at=now - (claimed_age if claimed_age else age)
    )


def relay_command():
    call_command("relay_events", stdout=open("/dev/null", "w"))  # noqa: SIM115


@pytest.mark.django_db
@pytest.mark.parametrize(
    "scheduled_pass",
    [relay_command, lambda: events_aws.relay_on_schedule({}, None)],
    ids=["relay_events command", "relay schedule on AWS"],
)
def test_answers_older_than_the_retention_are_purged_by_the_scheduled_relay_pass(
    settings, scheduled_pass
):
    settings.IDEMPOTENCY_RETENTION_HOURS = 24
    answer("yesterday-morning", age=timedelta(hours=25))
    answer("last-week", age=timedelta(days=7))
    answer("this-morning", age=timedelta(hours=23))
    # An old key a retry took over a moment ago (its process died): still being answered.
    answer("retried-now", age=timedelta(hours=25), claimed_age=timedelta(seconds=1))

    scheduled_pass()

    kept = set(IdempotencyRecord.objects.values_list("key", flat=True))
    assert kept == {"this-morning", "retried-now"}


@pytest.mark.django_db(transaction=True)
def test_two_purges_at_once_delete_each_expired_answer_once_and_a_repeat_finds_none(settings):
    settings.IDEMPOTENCY_RETENTION_HOURS = 24
    old = timezone.now() - timedelta(days=2)
    IdempotencyRecord.objects.bulk_create(
        IdempotencyRecord(owner="user:1", scope="rides.create", key=f"k{n}", fingerprint="f",
                          status_code=201, response_body={}, claimed_at=old)
        for n in range(1_200)
    )  # fmt: skip
    IdempotencyRecord.objects.update(created_at=old)
    answer("fresh", age=timedelta(minutes=5))

    purged = all_at_once(2, purge_expired_records)

    assert sum(purged) == 1_200
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    assert purge_expired_records() == 0
