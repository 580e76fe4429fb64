"""Every trigger of a payment list may come more than once, or out of order: the S3 event,
a Step Functions task, a whole execution. Driven through the real entry points the AWS
package calls (payment_lists.aws.on_inbox_object_created and run_step), then counted: the
payments, their events, the list's own events and the mails are those of one import."""

import json

import pytest
from django.core import mail

from events.models import OutboxEvent
from payment_lists import aws, runs, services
from payment_lists.models import PaymentList
from payments.models import Payment
from tests.factories import SubscriptionFactory
from tests.payment_lists.lists import csv_file, good_rows, s3_event, stored_list
from tests.payment_lists.state_machine_runs import TASKS, task

pytestmark = pytest.mark.django_db

ROWS = 6


@pytest.fixture(autouse=True)
def _runs_in_the_function(settings):
    """An AWS stage without a state machine: the S3 handler runs the steps itself."""
    settings.PAYMENT_LIST_RUNNER = "stepfunctions"
    settings.PAYMENT_LIST_STATE_MACHINE_ARN = ""


@pytest.fixture
def organization():
    return SubscriptionFactory().organization


def counts() -> dict:
    events = OutboxEvent.objects
    return {
        "payments": Payment.objects.count(),
        "registered": events.filter(type="payments.PaymentRegistered").count(),
        "imported": events.filter(type="payments.PaymentListImported").count(),
        "failed": events.filter(type="payments.PaymentListFailed").count(),
        "mails": len(mail.outbox),
    }


ONE_IMPORT = {"payments": ROWS, "registered": ROWS, "imported": 1, "failed": 0, "mails": 0}


@pytest.mark.parametrize("times", [2, 10])
def test_a_repeated_s3_event_imports_the_list_once(organization, times):
    payment_list = stored_list(organization, good_rows(ROWS))
    event = s3_event(payment_list.file.name, sequencer="0055AED6DCD90281E5")
    answers = [aws.on_inbox_object_created(event) for _ in range(times)]
    assert answers[0] == {"started": [payment_list.pk], "ignored": []}
    assert all(answer == {"started": [], "ignored": [payment_list.pk]} for answer in answers[1:])
    payment_list.refresh_from_db()
    assert payment_list.status == "imported"
    assert counts() == ONE_IMPORT
    assert PaymentList.objects.count() == 1


def test_repeats_in_one_batch_of_records_start_it_once(organization):
    payment_list = stored_list(organization, good_rows(ROWS))
    key = payment_list.file.name
    answer = aws.on_inbox_object_created(s3_event(key, key, key))
    assert answer == {"started": [payment_list.pk], "ignored": [payment_list.pk, payment_list.pk]}
    assert counts() == ONE_IMPORT


def test_an_s3_event_for_an_imported_list_changes_nothing(organization):
    """The reported loss: a second ObjectCreated for an imported list re-ran the workflow,
    which then compensated (deleted) every payment of the list."""
    payment_list = stored_list(organization, good_rows(ROWS))
    aws.on_inbox_object_created(s3_event(payment_list.file.name))
    Payment.objects.filter(payment_list_id=payment_list.pk).update(status="verified")
    for _ in range(3):
        assert aws.on_inbox_object_created(s3_event(payment_list.file.name))["started"] == []
    payment_list.refresh_from_db()
    assert payment_list.status == "imported"
    assert Payment.objects.filter(status="verified").count() == ROWS
    assert counts() == ONE_IMPORT


def test_an_s3_event_never_reruns_a_failed_list(organization):
    payment_list = stored_list(organization, ["bad,,abc,USD,"])
    aws.on_inbox_object_created(s3_event(payment_list.file.name))
    payment_list.refresh_from_db()
    assert payment_list.status == "failed"
    before = counts()
    assert aws.on_inbox_object_created(s3_event(payment_list.file.name))["started"] == []
    payment_list.refresh_from_db()
    assert (payment_list.status, counts()) == ("failed", before)
    assert before["failed"] == 1


def test_a_dropped_file_repeated_makes_one_list(organization):
    """SFTP drops straight into the bucket: the first event makes the list, repeats of it
    find that list."""
    key = f"inbox/{organization.pk}/march.csv"
    PaymentList(organization=organization).file.storage.save(key, csv_file(good_rows(ROWS)))
    event = s3_event(key, sequencer="0A1B2C")
    for _ in range(3):
        aws.on_inbox_object_created(event)
    assert PaymentList.objects.get().status == "imported"
    assert counts() == ONE_IMPORT


def test_the_upload_reaches_storage_only_after_its_list_is_committed(
    organization, django_capture_on_commit_callbacks, settings
):
    """So the upload's S3 event, however fast, finds the list and makes no second one."""
    upload = csv_file(good_rows(ROWS))
    with django_capture_on_commit_callbacks(execute=False) as pending:
        payment_list = services.submit_payment_list(
            organization=organization, uploaded_file=upload, submitted_by="finance@example.com"
        )
        storage = payment_list.file.storage
        assert not storage.exists(payment_list.file.name), "stored before the commit"
    upload.close()  # the request is over; the list's own copy is stored after the commit
    for callback in pending:
        callback()
    assert storage.exists(payment_list.file.name)
    # On AWS the S3 event starts it (the upload did not): once, whatever the repeats.
    for _ in range(2):
        aws.on_inbox_object_created(s3_event(payment_list.file.name))
    assert PaymentList.objects.count() == 1
    assert counts() == ONE_IMPORT


def claimed(payment_list) -> dict:
    """The first task's input: the list, claimed for a new run."""
    return {"payment_list_id": payment_list.pk, "run": runs.claim_new(payment_list.pk)}


def test_tasks_retried_after_they_succeeded_change_nothing(organization):
    """Each task twice (its answer lost, Step Functions retries): the same import."""
    payment_list = stored_list(organization, good_rows(ROWS))
    state = claimed(payment_list)
    for name in TASKS:
        first = aws.run_step(task(name, state))
        again = aws.run_step(task(name, state))
        state = first
        assert again.get("run") == first.get("run")
    assert aws.run_step(task("ImportList", state)).get("done") is True
    payment_list.refresh_from_db()
    assert payment_list.status == "imported"
    assert counts() == ONE_IMPORT


def test_an_earlier_step_retried_late_does_not_go_back(organization):
    payment_list = stored_list(organization, good_rows(ROWS))
    state = claimed(payment_list)
    for name in TASKS[:3]:
        state = aws.run_step(task(name, state))
    aws.run_step(task("ValidateList", state))  # a late retry: nothing re-staged or re-checked
    aws.run_step(task("ImportList", state))
    assert counts() == ONE_IMPORT


def test_a_second_execution_for_the_same_list_does_nothing(organization):
    """Two executions (two triggers before either claimed, an operator's click): only the
    run that owns the list runs; the other's tasks are skipped and compensate nothing."""
    payment_list = stored_list(organization, good_rows(ROWS))
    owner = claimed(payment_list)
    other = {"payment_list_id": payment_list.pk, "run": runs.new_token()}
    for name in TASKS:
        other = aws.run_step(task(name, other))
        assert other["skipped"]
        owner = aws.run_step(task(name, owner))
    compensated = aws.run_step(task("CompensateError", {**other, "error": {"reason": "x"}}))
    assert compensated["skipped"]
    payment_list.refresh_from_db()
    assert payment_list.status == "imported"
    assert counts() == ONE_IMPORT


def test_compensation_retried_announces_the_failure_once(organization):
    payment_list = stored_list(organization, good_rows(ROWS))
    state = claimed(payment_list)
    state = aws.run_step(task("RegisterList", state))
    error = {"step": "ValidateList", "reason": "The file is not valid CSV."}
    failed = {**state, "error": error}
    aws.run_step(task("CompensateError", failed))
    repeat = aws.run_step(task("CompensateError", failed))
    assert repeat["skipped"]
    assert counts()["failed"] == 1
    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.failed_step) == ("failed", "ValidateList")


def test_a_failed_list_runs_again_only_when_an_operator_reruns_it(
    organization, django_capture_on_commit_callbacks
):
    payment_list = stored_list(organization, good_rows(ROWS))
    organization.subscriptions.update(max_rows_per_list=1)
    aws.on_inbox_object_created(s3_event(payment_list.file.name))
    payment_list.refresh_from_db()
    assert payment_list.status == "failed"
    assert runs.recover() == []  # the scheduled pass leaves failed lists alone
    organization.subscriptions.update(max_rows_per_list=100)
    with django_capture_on_commit_callbacks(execute=True):
        services.rerun_payment_list(payment_list)
    payment_list.refresh_from_db()
    assert payment_list.status == "imported"
    assert counts() == {**ONE_IMPORT, "failed": 1}


def test_step_functions_execution_name_and_input_carry_the_run(organization, settings):
    from unittest import mock

    settings.PAYMENT_LIST_STATE_MACHINE_ARN = "arn:aws:states:us-east-1:1:stateMachine:lists"
    payment_list = stored_list(organization, good_rows(ROWS))
    with mock.patch("boto3.client") as client:
        aws.on_inbox_object_created(s3_event(payment_list.file.name))
        aws.on_inbox_object_created(s3_event(payment_list.file.name))
    start = client.return_value.start_execution
    start.assert_called_once()
    payment_list.refresh_from_db()
    given = json.loads(start.call_args.kwargs["input"])
    assert given == {"payment_list_id": payment_list.pk, "run": payment_list.run_token}


def test_an_s3_invocation_that_failed_to_start_the_run_is_retried_by_lambda(organization):
    """Lambda retries a failed asynchronous invocation: the retry must be able to start the
    list, so the failed one gives its claim back."""
    from unittest import mock

    payment_list = stored_list(organization, good_rows(ROWS))
    event = s3_event(payment_list.file.name)
    with (
        mock.patch.object(aws, "start_execution", side_effect=ConnectionError("throttled")),
        pytest.raises(ConnectionError),
    ):
        aws.on_inbox_object_created(event)
    payment_list.refresh_from_db()
    assert (payment_list.status, payment_list.run_token) == ("received", "")
    assert aws.on_inbox_object_created(event)["started"] == [payment_list.pk]
    assert counts() == ONE_IMPORT
