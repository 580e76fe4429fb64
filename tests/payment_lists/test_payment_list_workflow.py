import csv
import hashlib
import io
import re

import pytest
from django.core import mail

from events.models import OutboxEvent
from payment_lists import runs, steps, workflow
from payment_lists import services as list_services
from payment_lists.models import PaymentList, PaymentListRow
from payment_lists.selectors import progress_of
from payments.events import payment_data
from payments.models import Payment, SubscriptionLimit
from payments.services import register_payment
from tests.database_faults import at_statements, marks_list_imported, table
from tests.factories import OrganizationFactory, PaymentFactory, RideFactory, SubscriptionFactory
from tests.payment_lists.lists import csv_file, good_rows, run_list, stored_list

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inline_runner(settings):
    settings.PAYMENT_LIST_RUNNER = "inline"


@pytest.fixture
def organization():
    org = SubscriptionFactory(
        plan="business", max_rows_per_list=1000, max_total_minor_per_list=10_000_000
    ).organization
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
        return list(csv.reader(io.TextIOWrapper(report, encoding="utf-8-sig")))


def test_a_valid_list_imports_every_row_with_one_event_each(
    organization, django_capture_on_commit_callbacks
):
    payment_list = submit(organization, good_rows(25), django_capture_on_commit_callbacks, bom=True)

    assert payment_list.status == "imported"
    assert (payment_list.rows_total, payment_list.rows_imported) == (25, 25)
    assert payment_list.totals == {"USD": 25 * 1250}
    imported = Payment.objects.filter(payment_list_id=payment_list.pk, status="registered")
    assert imported.count() == 25
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


def test_list_events_are_exactly_what_register_payment_emits(
    organization, django_capture_on_commit_callbacks, rider
):
    """One code path for the payload: the list's set-based events carry, for every payment,
    the very dict payments.events.payment_data makes (and register_payment emits)."""
    ride = RideFactory(rider=rider)
    rows = [
        f"E-1,{rider.email.upper()},3.10,eur,{ride.id}",
        "E-2,nobody@example.com,0.01,GBP,",
        "E-3,,99999.99,USD,",
    ]
    payment_list = submit(organization, rows, django_capture_on_commit_callbacks)
    assert payment_list.status == "imported"
    events = OutboxEvent.objects.filter(type="payments.PaymentRegistered")
    by_payment = {event.data["payment_id"]: event for event in events}
    assert len(by_payment) == 3
    for payment in Payment.objects.filter(payment_list_id=payment_list.pk):
        event = by_payment[str(payment.id)]
        assert event.data == payment_data(payment)
        assert event.version == 1
        assert event.id.version == 7  # time-ordered like every other outbox id
    api_payment = register_payment(
        amount_minor=5, currency="USD", reference="API-1", actor="finance@example.com"
    )
    api_event = OutboxEvent.objects.exclude(id__in=[e.id for e in events]).get(
        type="payments.PaymentRegistered"
    )
    assert api_event.data == payment_data(api_payment)
    assert set(api_event.data) == set(next(iter(by_payment.values())).data)


def test_a_lists_events_are_delivered_as_soon_as_it_commits(
    organization, django_capture_on_commit_callbacks, rider
):
    """No relay run needed: the payer is told and BI counts the payments once the list
    commits, like any payment registered through the API (a list of up to one relay batch:
    the rest of a larger one is the scheduled relay's, test_events_after_import)."""
    from bi.models import DailyAggregate
    from notifications.models import Notification

    rows = [f"N-1,{rider.email},3.10,EUR,", "N-2,nobody@example.com,2.00,EUR,"]
    payment_list = submit(organization, rows, django_capture_on_commit_callbacks)

    assert payment_list.status == "imported"
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    assert Notification.objects.filter(user=rider).count() == 1
    assert DailyAggregate.objects.filter(currency="EUR").get().payments_registered == 2


def test_totals_are_kept_per_currency_never_added(organization, django_capture_on_commit_callbacks):
    rows = ["C-1,,10.00,USD,", "C-2,,2.50,EUR,", "C-3,,1.25,USD,", "C-4,,0.99,GBP,"]
    payment_list = submit(organization, rows, django_capture_on_commit_callbacks)
    assert payment_list.totals == {"EUR": 250, "GBP": 99, "USD": 1125}
    event = OutboxEvent.objects.get(type="payments.PaymentListImported")
    assert event.data["totals"] == {"EUR": 250, "GBP": 99, "USD": 1125}


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
        ("8", "reference", "Use 1 to 64 letters, digits or . _ : / -"),  # as the API says
        ("8", "amount", "not a number"),
    }
    assert ["8", "amount", "oops", "not a number"] in report
    assert payment_list.errors_count == 7
    assert len(payment_list.first_errors) == 7
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
    assert "allows 2" in payment_list.failure_reason


def test_the_subscription_limit_applies_to_each_currency_apart(
    organization, django_capture_on_commit_callbacks
):
    """6 + 6 would break a limit of 10 if currencies were added; apart, each is under it."""
    organization.subscriptions.update(max_total_minor_per_list=1000)
    rows = ["M-1,,6.00,USD,", "M-2,,6.00,EUR,"]
    payment_list = submit(organization, rows, django_capture_on_commit_callbacks)
    assert payment_list.status == "imported"
    over = submit(organization, ["M-3,,10.01,GBP,"], django_capture_on_commit_callbacks)
    assert (over.status, over.failed_step) == ("failed", "VerifySubscription")
    assert "£10.01 where it allows £10.00" in over.failure_reason


def test_a_plan_limit_set_for_a_currency_is_checked_against_that_currency_only(
    organization, django_capture_on_commit_callbacks
):
    subscription = organization.subscriptions.get()
    SubscriptionLimit.objects.create(
        subscription=subscription, currency="EUR", max_total_minor_per_list=100
    )
    fine = submit(
        organization, ["P-1,,90.00,USD,", "P-2,,1.00,EUR,"], django_capture_on_commit_callbacks
    )
    assert fine.status == "imported"
    over = submit(
        organization, ["P-3,,1.00,USD,", "P-4,,1.01,EUR,"], django_capture_on_commit_callbacks
    )
    assert (over.status, over.failed_step) == ("failed", "VerifySubscription")
    assert "€1.01 where it allows €1.00" in over.failure_reason
    assert "$" not in over.failure_reason.split("cover it:")[1]


def test_a_fault_in_the_middle_of_import_leaves_no_payment_and_a_rerun_succeeds(
    organization, django_capture_on_commit_callbacks
):
    def fail_after_the_payments_are_written(sql, params):
        raise RuntimeError("the database went away mid-import")

    with at_statements(
        rf"^UPDATE {table(PaymentList)}",
        when=marks_list_imported,
        instead=fail_after_the_payments_are_written,
    ):
        payment_list = submit(organization, good_rows(45), django_capture_on_commit_callbacks)

    assert (payment_list.status, payment_list.failed_step) == ("failed", "ImportList")
    assert "went wrong while importing the payments" in payment_list.failure_reason
    assert "RuntimeError" not in payment_list.failure_reason  # plain words: it is in the log
    assert not Payment.objects.exists()
    assert not OutboxEvent.objects.filter(type="payments.PaymentRegistered").exists()
    assert not PaymentListRow.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        list_services.rerun_payment_list(payment_list)
    payment_list.refresh_from_db()
    assert payment_list.status == "imported"
    assert Payment.objects.filter(payment_list_id=payment_list.pk).count() == 45
    assert OutboxEvent.objects.filter(type="payments.PaymentRegistered").count() == 45


def test_compensation_never_takes_back_an_imported_payment(organization):
    """A CompensateError that comes late (a retried task, a stale run) for a list already
    imported changes nothing: its payments stay, no failure is announced."""
    payment_list = stored_list(organization, good_rows(5))
    output = run_list(payment_list)
    assert payment_list.status == "imported"
    PaymentFactory(reference="someone-elses")
    Payment.objects.filter(payment_list_id=payment_list.pk).update(status="verified")
    error = {"step": "ImportList", "reason": "late"}
    after = workflow.compensate({**output, "error": error})
    assert "skipped" in after
    payment_list.refresh_from_db()
    assert payment_list.status == "imported"
    assert Payment.objects.filter(payment_list_id=payment_list.pk, status="verified").count() == 5
    assert not OutboxEvent.objects.filter(type="payments.PaymentListFailed").exists()


def test_import_shows_the_real_total_and_no_made_up_progress(organization):
    payment_list = stored_list(organization, good_rows(25))
    seen = []

    def watch(step, payload):
        seen.append((step.name, progress_of(PaymentList.objects.get(pk=payment_list.pk))))

    run_list(payment_list, on_step=watch)
    steps_seen = dict(seen)
    register = steps_seen["RegisterList"]
    assert register.total is None, "before the file is read its size is not known"
    validated = steps_seen["ValidateList"]
    assert (validated.total, validated.finished) == (25, False)
    imported = steps_seen["ImportList"]
    assert (imported.done, imported.total, imported.finished) == (25, 25, True)
    assert imported.description == "Imported: all 25 payments are registered."


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
    run_list(payment_list)
    assert payment_list.failed_step == "ValidateList"
    assert reason in payment_list.failure_reason


def test_rerun_of_an_imported_list_is_refused(organization, django_capture_on_commit_callbacks):
    from core.exceptions import Conflict

    payment_list = submit(organization, good_rows(1), django_capture_on_commit_callbacks)
    with pytest.raises(Conflict):
        list_services.rerun_payment_list(payment_list)


def test_the_same_file_sent_twice_at_once_is_imported_once(organization):
    """Two uploads of one file (a client's retry after a timeout) whose RegisterList steps
    run at the same moment: each stores its checksum before it looks for the other. The one
    sent second is the duplicate; the first goes on and is imported (both were refused as
    each other's duplicate, and nothing was imported)."""
    rows = good_rows(3, prefix="TWICE")
    first, second = stored_list(organization, rows), stored_list(organization, rows)
    first_run, second_run = runs.claim_new(first.pk), runs.claim_new(second.pk)
    with second.file.open("rb") as stored:
        checksum = hashlib.sha256(stored.read()).hexdigest()
    # The second's RegisterList half-way: its checksum stored, its look-up still to come.
    PaymentList.objects.filter(pk=second.pk).update(
        status="validating", current_step="RegisterList", checksum=checksum
    )

    refusals = {}
    for payment_list, run in ((first, first_run), (second, second_run)):
        try:
            steps.register_list({"payment_list_id": payment_list.pk, "run": run})
        except steps.ListRejected as refusal:
            refusals[payment_list] = str(refusal)
    workflow.run_workflow(first.pk, first_run)
    workflow.run_workflow(second.pk, second_run)

    assert refusals == {second: f"This file was already submitted as list #{first.pk}."}
    first.refresh_from_db(), second.refresh_from_db()
    assert (first.status, second.status) == ("imported", "failed")
    assert Payment.objects.filter(payment_list_id=first.pk).count() == 3


def test_a_line_longer_than_any_row_fails_the_list_with_its_line_number(
    organization, django_capture_on_commit_callbacks
):
    rows = ["LONG-1,,1.00,USD,", "," * 2_000_000]
    payment_list = submit(organization, rows, django_capture_on_commit_callbacks)

    assert (payment_list.status, payment_list.failed_step) == ("failed", "ValidateList")
    assert payment_list.failure_reason == (
        "Line 3 of the file is longer than 1,048,576 characters; a payment row is a few hundred."
    )
    assert not Payment.objects.filter(payment_list_id=payment_list.pk).exists()
