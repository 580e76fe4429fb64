import csv
import io
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.utils import timezone

from events.models import OutboxEvent
from payment_lists import services as list_services
from payment_lists import steps as list_steps
from payment_lists import workflow
from payment_lists.models import PaymentList, PaymentListRow
from payments.models import Payment, Subscription
from tests.factories import OrganizationFactory, PaymentFactory, RideFactory
from tests.payment_lists.lists import csv_file, good_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inline_runner(settings):
    settings.PAYMENT_LIST_RUNNER = "inline"


@pytest.fixture
def organization():
    org = OrganizationFactory()
    Subscription.objects.create(
        organization=org,
        plan="business",
        starts_at=timezone.now() - timedelta(days=1),
        max_rows_per_list=1000,
        max_total_minor_per_list=10_000_000,
    )
    return org


def submit(organization, rows, django_capture_on_commit_callbacks, **kwargs) -> PaymentList:
    with django_capture_on_commit_callbacks(execute=True):
        payment_list = list_services.submit_payment_list(
            organization=organization,
            uploaded_file=csv_file(rows, **kwargs),
            submitted_by="finance@example.com",
            submitter_email="finance@example.com",
        )
    payment_list.refresh_from_db()
    return payment_list


def report_rows(payment_list) -> list[list[str]]:
    with payment_list.error_report.open("rb") as report:
        return list(csv.reader(io.TextIOWrapper(report, encoding="utf-8")))


def test_a_valid_list_imports_every_row_with_one_event_each(
    organization, django_capture_on_commit_callbacks
):
    payment_list = submit(organization, good_rows(25), django_capture_on_commit_callbacks, bom=True)

    assert payment_list.status == "imported"
    assert (payment_list.rows_total, payment_list.rows_imported) == (25, 25)
    assert payment_list.total_minor == 25 * 1250
    assert (
        Payment.objects.filter(payment_list_id=payment_list.pk, status="registered").count() == 25
    )
    assert OutboxEvent.objects.filter(type="payments.PaymentRegistered").count() == 25
    assert OutboxEvent.objects.filter(type="payments.PaymentListImported").count() == 1
    assert not PaymentListRow.objects.exists(), "staging is cleaned up"
    assert "imported" in mail.outbox[-1].subject


def test_imported_events_carry_the_payment(organization, django_capture_on_commit_callbacks, rider):
    ride = RideFactory(rider=rider)
    rows = [f"R-1,{rider.email},3.10,eur,{ride.id}"]
    submit(organization, rows, django_capture_on_commit_callbacks)
    payment = Payment.objects.get()
    assert (payment.payer, payment.ride, payment.currency) == (rider, ride, "EUR")
    event = OutboxEvent.objects.get(type="payments.PaymentRegistered")
    assert event.data["payment_id"] == str(payment.id)
    assert event.data["ride_id"] == str(ride.id)
    assert event.data["payer_id"] == rider.pk
    assert event.data["amount_minor"] == 310


def test_any_invalid_row_imports_nothing_and_the_report_names_each_problem(
    organization, django_capture_on_commit_callbacks
):
    PaymentFactory(reference="TAKEN")
    rows = [
        "A-1,,10.00,USD,",
        "A-2,,10.001,USD,",  # row 3: too many decimals
        "A-1,,5.00,USD,",  # row 4: repeats row 2
        "TAKEN,,5.00,USD,",  # row 5: already in the database
        "A-5,,5.00,XXX,",  # row 6: unknown currency
        "A-6,,5.00,USD,7d7c8a4e-0000-4000-8000-000000000000",  # row 7: no such ride
        "=HYPERLINK(1),,oops,USD,",  # row 8: formula in a cell, bad amount
    ]
    payment_list = submit(organization, rows, django_capture_on_commit_callbacks)

    assert payment_list.status == "failed"
    assert payment_list.failed_step == "ValidateList"
    assert "nothing was imported" in payment_list.failure_reason
    assert not Payment.objects.filter(payment_list_id=payment_list.pk).exists()
    assert Payment.objects.count() == 1
    report = report_rows(payment_list)
    assert report[0] == ["row", "column", "value", "reason"]
    problems = {(row[0], row[1], row[3]) for row in report[1:]}
    assert problems == {
        ("3", "amount", "at most 2 decimals"),
        ("4", "reference", "appears earlier in the file"),
        ("5", "reference", "a payment with this reference already exists"),
        ("6", "currency", "unknown currency"),
        ("7", "ride_id", "no such ride"),
        ("8", "amount", "not a number"),
    }
    assert ["8", "amount", "oops", "not a number"] in report
    assert payment_list.errors_count == 6
    assert len(payment_list.first_errors) == 6
    assert "not imported" in mail.outbox[-1].subject


def test_formula_in_an_error_value_is_neutralised_in_the_report(
    organization, django_capture_on_commit_callbacks
):
    payment_list = submit(organization, ["=1+1,,x,USD,"], django_capture_on_commit_callbacks)
    payment_list.refresh_from_db()
    assert ["2", "amount", "x", "not a number"] in report_rows(payment_list)
    long_ref = "=" + "x" * 70
    second = submit(organization, [f"{long_ref},,1.00,USD,"], django_capture_on_commit_callbacks)
    assert report_rows(second)[1][2] == "'" + long_ref


def test_the_same_file_twice_is_refused_at_register_list(
    organization, django_capture_on_commit_callbacks
):
    rows = good_rows(3, prefix="SAME")
    submit(organization, rows, django_capture_on_commit_callbacks)
    second = submit(organization, rows, django_capture_on_commit_callbacks)
    assert (second.status, second.failed_step) == ("failed", "RegisterList")
    assert re.search(r"already submitted as list #\d+", second.failure_reason)
    assert Payment.objects.count() == 3


def test_no_active_subscription_fails_at_verify_subscription(django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    payment_list = submit(organization, good_rows(2), django_capture_on_commit_callbacks)
    assert (payment_list.status, payment_list.failed_step) == ("failed", "VerifySubscription")
    assert "no active subscription" in payment_list.failure_reason
    assert not Payment.objects.exists()


def test_a_list_over_the_subscription_limits_fails_with_the_limits(
    organization, django_capture_on_commit_callbacks
):
    organization.subscriptions.update(max_rows_per_list=2)
    payment_list = submit(organization, good_rows(3), django_capture_on_commit_callbacks)
    assert payment_list.failed_step == "VerifySubscription"
    assert "3 rows" in payment_list.failure_reason
    assert "allows 2 rows" in payment_list.failure_reason


def test_a_fault_in_the_middle_of_import_leaves_no_payment_and_a_rerun_succeeds(
    organization, django_capture_on_commit_callbacks, settings
):
    settings.PAYMENT_LIST_IMPORT_CHUNK = 10
    real_insert = list_steps._insert_payments
    calls = []

    def fail_on_third_chunk(*args):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the database went away mid-import")
        return real_insert(*args)

    with mock.patch.object(list_steps, "_insert_payments", side_effect=fail_on_third_chunk):
        payment_list = submit(organization, good_rows(45), django_capture_on_commit_callbacks)

    assert (payment_list.status, payment_list.failed_step) == ("failed", "ImportList")
    assert "failed unexpectedly" in payment_list.failure_reason
    assert not Payment.objects.exists()
    assert not OutboxEvent.objects.filter(type="payments.PaymentRegistered").exists()

    with django_capture_on_commit_callbacks(execute=True):
        list_services.rerun_payment_list(payment_list)
    payment_list.refresh_from_db()
    assert payment_list.status == "imported"
    assert Payment.objects.filter(payment_list_id=payment_list.pk).count() == 45


def test_import_runs_in_chunks_with_progress(organization, settings):
    settings.PAYMENT_LIST_IMPORT_CHUNK = 10
    seen = []
    payment_list = PaymentList.objects.create(
        organization=organization, submitted_by="test", original_name="x.csv"
    )
    payment_list.file.save("x.csv", csv_file(good_rows(25)), save=True)

    def watch(step, payload):
        if step.name == "ImportList":
            seen.append(PaymentList.objects.get(pk=payment_list.pk).rows_imported)

    workflow.run_workflow(payment_list.pk, on_step=watch)
    assert seen == [10, 20, 25]


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty"),
        (b"ref;amount\n1;2\n", "header must be"),
        (b"reference,payer_email,amount,currency,ride_id\n\xff\xfe,,1.00,USD,\n", "not UTF-8"),
        (b"reference,payer_email,amount,currency,ride_id\n", "no payment rows"),
    ],
)
def test_unreadable_files_fail_at_validate_list_with_a_reason(organization, content, reason):
    payment_list = PaymentList.objects.create(organization=organization, submitted_by="test")
    payment_list.file.save("bad.csv", io.BytesIO(content), save=True)
    workflow.run_workflow(payment_list.pk)
    payment_list.refresh_from_db()
    assert payment_list.failed_step == "ValidateList"
    assert reason in payment_list.failure_reason


def test_rerun_of_an_imported_list_is_refused(organization, django_capture_on_commit_callbacks):
    from core.exceptions import Conflict

    payment_list = submit(organization, good_rows(1), django_capture_on_commit_callbacks)
    with pytest.raises(Conflict):
        list_services.rerun_payment_list(payment_list)
