"""Publishing an event to the stage's SNS topic (EVENTS_SNS_TOPIC_ARN), whose SQS queues,
one per subscriber, feed `events.aws.handle_sqs_event`."""

import json
from collections.abc import Iterator

from django.conf import settings

from events.models import OutboxEvent

# SNS is called right after the commit of the request that made the change. An SNS that
# is slow or out of reach (a Lambda in a VPC without a route to it) must not hold that
# request: botocore's defaults (60 s to connect, 60 s to read, 5 tries) outlast API
# Gateway's 29 s and Lambda's timeout. What does not go out stays in the outbox for the relay.
SNS_CLIENT_CONFIG = {
    "connect_timeout": 1,
    "read_timeout": 2,
    "retries": {"mode": "standard", "total_max_attempts": 2},
}


def client(service: str, config: dict | None = None):
    import boto3  # provided by the Lambda runtime; imported only when AWS is in use
    from botocore.config import Config

    return boto3.client(
        service, region_name=settings.AWS_REGION, config=Config(**config) if config else None
    )


# SNS's PublishBatch: up to 10 messages a call, 256 KiB in all (message bodies and attributes).
BATCH_ENTRIES = 10
BATCH_BYTES = 256 * 1024


def message(event: OutboxEvent) -> dict:
    """The message every subscriber's queue receives: the envelope, and `event_type` for
    the queues' filter policies."""
    return {
        "Message": json.dumps(event.envelope()),
        "MessageAttributes": {"event_type": {"DataType": "String", "StringValue": event.type}},
    }


def publish(events: list[OutboxEvent]) -> Iterator[tuple[list[OutboxEvent], dict]]:
    """Publish these events, as few calls as SNS allows: one Publish for one event, else
    PublishBatch calls of up to BATCH_ENTRIES and BATCH_BYTES. After each call, yield its
    events and the error of each one that did not go out, by event id: those SNS failed,
    or all of them when the call failed as a whole (SNS out of reach, the topic gone).

    A call that fails as a whole ends it, unless SNS refused it for what it carries
    (MESSAGE_ERRORS): the calls after it are not tried (their events stay unpublished,
    untried, for the next pass). With SNS out of reach each call waits
    about 6 s (SNS_CLIENT_CONFIG): 50 of them, a batch of 500, would outlast the function.
    An event over BATCH_BYTES is not sent: SNS would refuse it as a whole call every time,
    and ending the pass there would leave the events behind it untried for good."""
    sns = None
    for call, size in _calls(events):
        if size > BATCH_BYTES:  # one event SNS refuses every time: not sent, the pass goes on
            error = f"Too big for SNS: {size} bytes (body and attributes), {BATCH_BYTES} at most"
            yield [event for event, _ in call], {event.pk: error for event, _ in call}
            continue
        try:
            sns = sns or client("sns", SNS_CLIENT_CONFIG)
            failed = _publish_call(sns, call)
        except Exception as error:  # the relay will try again
            yield [event for event, _ in call], {event.pk: str(error) for event, _ in call}
            if _refused_these_messages(error):
                continue  # about this call's messages: the next call need not share it
            return
        yield [event for event, _ in call], failed


# SNS's answers that refuse a call for what it carries, not for SNS being out of reach,
# failing, or refusing every call (the topic gone, no permission): the pass goes on.
MESSAGE_ERRORS = {
    "InvalidParameter", "InvalidParameterValue", "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong", "EmptyBatchRequest", "InvalidBatchEntryId",
    "TooManyEntriesInBatchRequest",
}  # fmt: skip


def _refused_these_messages(error: Exception) -> bool:
    from botocore.exceptions import ClientError, ParamValidationError

    if isinstance(error, ParamValidationError):  # refused before sending: what it carries
        return True
    return isinstance(error, ClientError) and error.response["Error"]["Code"] in MESSAGE_ERRORS


def _calls(events: list[OutboxEvent]) -> Iterator[tuple[list[tuple[OutboxEvent, dict]], int]]:
    """The events as PublishBatch entries, split into calls of at most BATCH_ENTRIES and
    BATCH_BYTES, each with its size as SNS counts it (an event bigger than that goes alone)."""
    call, size = [], 0
    for event in events:
        entry = {"Id": event.pk.hex, **message(event)}  # unique in the call, [0-9a-f]{32}
        attribute = entry["MessageAttributes"]["event_type"]
        entry_size = sum(
            len(part.encode())
            for part in (entry["Message"], "event_type", "String", attribute["StringValue"])
        )
        if call and (len(call) == BATCH_ENTRIES or size + entry_size > BATCH_BYTES):
            yield call, size
            call, size = [], 0
        call.append((event, entry))
        size += entry_size
    if call:
        yield call, size


def _publish_call(sns, call: list[tuple[OutboxEvent, dict]]) -> dict:
    topic = settings.EVENTS_SNS_TOPIC_ARN
    if len(call) == 1:
        [(_, entry)] = call
        sns.publish(
            TopicArn=topic, Message=entry["Message"], MessageAttributes=entry["MessageAttributes"]
        )
        return {}
    answer = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[e for _, e in call])
    sent = {entry["Id"] for entry in answer.get("Successful", [])}
    errors = {f["Id"]: f"({f['Code']}) {f.get('Message', '')}" for f in answer.get("Failed", [])}
    return {
        event.pk: errors.get(entry["Id"], "not in SNS's answer")
        for event, entry in call
        if entry["Id"] not in sent
    }
