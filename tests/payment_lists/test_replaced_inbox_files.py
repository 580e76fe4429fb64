"""A file dropped into the inbox (SFTP) and replaced under the same key by a corrected one,
or deleted, with S3's events for it arriving late, twice, or in the wrong order.

The events are AWS's own samples (SAM CLI's S3 put event, Powertools' S3 event: see
tests/package/events/README.md), given this stage's key, and the eTag and sequencer S3 gives
each version. Executions are started as Step Functions would be (their tasks run here, in
the order a test chooses, through payment_lists.aws.run_step), so that a version's event can
arrive while the other version's list is half-way.
"""

import copy
import json
from pathlib import Path
from unittest import mock
from urllib.parse import quote_plus

import pytest
from django.core.files.base import ContentFile

from events.models import OutboxEvent
from payment_lists import aws
from payment_lists.models import PaymentList
from payment_lists.state_machine import definition
from payments.models import Payment
from tests.factories import SubscriptionFactory
from tests.payment_lists.lists import HEADER, good_rows

pytestmark = pytest.mark.django_db

EVENTS = Path(__file__).resolve().parents[1] / "package" / "events"
SAMPLES = [EVENTS / "sam" / "s3-put-inbox.json", EVENTS / "powertools" / "s3Event.json"]
ARN = "arn:aws:lambda:us-east-1:123456789012:function:wildrydes-dev"
TASKS = ("RegisterList", "ValidateList", "VerifySubscription", "ImportList")
# S3's sequencers of two PUTs of one key, the second later (and longer: compared padded).
FIRST, SECOND = "0055AED6DCD90281E5", "0055AED6DCD90281E6A0"


@pytest.fixture(params=SAMPLES, ids=lambda path: path.parent.name)
def sample(request) -> dict:
    return json.loads(request.param.read_text())


@pytest.fixture
def started(settings):
    """Executions the S3 handler starts: [(list id, run)], their tasks left to the test."""
    settings.PAYMENT_LIST_RUNNER = "stepfunctions"
    settings.PAYMENT_LIST_STATE_MACHINE_ARN = "arn:aws:states:us-east-1:1:stateMachine:lists"
    executions = []
    with mock.patch.object(aws, "start_execution", lambda *run: executions.append(run)):
        yield executions


@pytest.fixture
def inbox(settings, tmp_path):
    """An organization's inbox key, in a bucket (media folder) of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    organization = SubscriptionFactory().organization
    return organization, f"inbox/{organization.pk}/march payments.csv"


def put(key: str, rows: list[str]) -> None:
    """A PUT of the key, as SFTP does it: whatever it held is replaced."""
    storage = PaymentList().file.storage
    if storage.exists(key):
        storage.delete(key)
    storage.save(key, ContentFile(("\n".join([HEADER, *rows]) + "\n").encode()))


def s3_event(sample: dict, key: str, sequencer: str, etag: str) -> dict:
    event = copy.deepcopy(sample)
    s3_object = event["Records"][0]["s3"]["object"]
    s3_object.update(key=quote_plus(key), sequencer=sequencer, eTag=etag)
    return event


def run(execution: tuple, *tasks: str) -> None:
    """These tasks of an execution, as its state machine calls them; a failure is caught
    into CompensateError, as the definition's Catch does."""
    list_id, token = execution
    state = {"payment_list_id": list_id, "run": token}
    states = definition(ARN)["States"]
    for name in tasks:
        params = states[name]["Parameters"]
        event = {"command": params["command"], "step": params["step"], "input": state}
        try:
            state = aws.run_step(event)
        except aws.StepFailed as failed:
            error = {"Error": "StepFailed", "Cause": json.dumps({"errorMessage": str(failed)})}
            aws.run_step({**event, "step": "CompensateError", "input": {**state, "error": error}})
            return


def references() -> list[str]:
    return sorted(Payment.objects.values_list("reference", flat=True))


def lists() -> list[tuple]:
    return list(PaymentList.objects.order_by("pk").values_list("status", "failure_reason"))


def test_the_older_versions_event_arriving_last_starts_nothing(sample, started, inbox):
    """Finance dropped march.csv, then a corrected one; S3 delivers the second's event first.
    Its list imports the corrected file; the first's event, late, is of a version no longer
    there: no second list refused as a duplicate of the first, no failure to explain."""
    _, key = inbox
    put(key, good_rows(3, prefix="first"))
    put(key, good_rows(3, prefix="corrected"))

    assert aws.on_inbox_object_created(s3_event(sample, key, SECOND, "e2"))["ignored"] == []
    run(started[0], *TASKS)
    late = aws.on_inbox_object_created(s3_event(sample, key, FIRST, "e1"))

    assert late["started"] == [] and len(started) == 1
    assert lists() == [("imported", "")]
    assert references() == [f"corrected-{n}" for n in range(3)]
    assert not OutboxEvent.objects.filter(type="payments.PaymentListFailed").exists()


def test_a_corrected_file_dropped_while_the_first_is_checked_is_imported(sample, started, inbox):
    """The first version has one payment more than the subscription allows; finance drops
    the corrected file under the same key while the first is being checked. The first fails
    for its size; the corrected one is a list of its own and is imported. (Its event was
    ignored while the first ran: the corrected payments were never imported.)"""
    organization, key = inbox
    organization.subscriptions.update(max_rows_per_list=3)
    put(key, good_rows(4, prefix="march"))
    aws.on_inbox_object_created(s3_event(sample, key, FIRST, "e1"))
    run(started[0], "RegisterList", "ValidateList")

    put(key, good_rows(3, prefix="march"))
    aws.on_inbox_object_created(s3_event(sample, key, SECOND, "e2"))
    aws.on_inbox_object_created(s3_event(sample, key, SECOND, "e2"))  # S3 repeats it
    aws.on_inbox_object_created(s3_event(sample, key, FIRST, "e1"))  # and the first, late
    assert len(started) == 2
    run(started[0], *TASKS)
    run(started[1], *TASKS)

    first, corrected = lists()
    assert first[0] == "failed" and "4 rows where it allows 3" in first[1]
    assert corrected == ("imported", "")
    assert references() == [f"march-{n}" for n in range(3)]


def test_a_newer_version_while_the_first_runs_never_imports_a_payment_twice(sample, started, inbox):
    """The same good file dropped again while its first copy is imported: two lists, the
    payments once (the second is refused as the same file, or for references it meets)."""
    _, key = inbox
    put(key, good_rows(4, prefix="april"))
    aws.on_inbox_object_created(s3_event(sample, key, FIRST, "e1"))
    run(started[0], "RegisterList")
    put(key, good_rows(4, prefix="april"))
    aws.on_inbox_object_created(s3_event(sample, key, SECOND, "e1"))
    run(started[1], *TASKS)
    run(started[0], *TASKS)

    assert sorted(status for status, _ in lists()) == ["failed", "imported"]
    assert references() == [f"april-{n}" for n in range(4)]
    assert OutboxEvent.objects.filter(type="payments.PaymentRegistered").count() == 4


def test_the_event_of_a_file_deleted_since_starts_nothing(sample, started, inbox):
    """Dropped by mistake and deleted before its event came: no list that could only fail
    ('the file never arrived'), for finance to wonder about."""
    _, key = inbox
    put(key, good_rows(2, prefix="oops"))
    PaymentList().file.storage.delete(key)

    answer = aws.on_inbox_object_created(s3_event(sample, key, FIRST, "e1"))

    assert answer == {"started": [], "ignored": []}
    assert (lists(), started) == ([], [])


@pytest.mark.parametrize("folder", ["²", "99999999999999999999999"])
def test_a_folder_that_is_no_organization_id_is_ignored_and_the_rest_of_the_event_goes(
    sample, started, inbox, folder
):
    """An object under inbox/² (a digit to str.isdigit, not to int) or a number no
    organization id can be made the whole invocation fail, with the good record beside it,
    and Lambda retried it twice: the function-errors alarm, the good list late."""
    _, key = inbox
    put(key, good_rows(2, prefix="good"))
    odd = f"inbox/{folder}/march.csv"
    put(odd, good_rows(2, prefix="odd"))
    event = s3_event(sample, odd, FIRST, "e0")
    event["Records"] += s3_event(sample, key, FIRST, "e1")["Records"]

    answer = aws.on_inbox_object_created(event)

    assert len(answer["started"]) == 1 and len(started) == 1
    assert [status for status, _ in lists()] == ["received"]


@pytest.mark.parametrize(
    ("sequencer", "other", "later"),
    [
        ("0055AED6DCD90281E6", "0055AED6DCD90281E5", True),
        ("0055AED6DCD90281E5", "0055AED6DCD90281E6", False),
        ("0055AED6DCD90281E5", "0055AED6DCD90281E5", False),
        ("0055AED6DCD90281E5A0", "0055AED6DCD90281E5", True),  # padded: ...E5A0 > ...E500
        ("0055AED6DCD90281E5", "0055AED6DCD90281E501", False),
        ("0055aed6dcd90281e6", "0055AED6DCD90281E5", True),
        ("0A1B2C3D4E5F678901", "", True),
    ],
)
def test_s3_sequencers_are_compared_as_s3_says(sequencer, other, later):
    assert aws._later(sequencer, other) is later
