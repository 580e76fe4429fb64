"""The AWS side of events: publish to SNS, and the SQS entry point for subscribers.

Each subscriber has its own queue, named `<anything>-<subscriber>` (e.g.
`wildrydes-dev-events-bi`), subscribed to the topic with a filter policy on the
`event_type` message attribute. Zappa hands the queue's records to `handle_sqs_event`.
"""

import json
import logging

from django.conf import settings

from events import registry, services
from events.models import OutboxEvent

logger = logging.getLogger(__name__)


def _client(service: str):
    import boto3  # provided by the Lambda runtime; imported only when AWS is in use

    return boto3.client(service, region_name=settings.AWS_REGION)


def publish_to_sns(event: OutboxEvent) -> None:
    _client("sns").publish(
        TopicArn=settings.EVENTS_SNS_TOPIC_ARN,
        Message=json.dumps(event.envelope()),
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": event.type}},
    )


def subscriber_for_queue(queue_arn: str) -> registry.Subscriber:
    queue_name = queue_arn.rsplit(":", 1)[-1]
    return registry.subscriber(queue_name.rsplit("-", 1)[-1])


def envelope_from_body(body: str) -> dict:
    """The event from an SQS body: an SNS notification, or the raw message."""
    message = json.loads(body)
    if message.get("Type") == "Notification" and "Message" in message:
        message = json.loads(message["Message"])
    return message


def handle_sqs_event(event: dict, context=None) -> dict:
    """Process a batch; report only the failed messages so SQS retries just those."""
    failures = []
    for record in event.get("Records", []):
        try:
            _handle_record(record)
        except Exception:
            logger.exception("Subscriber failed on SQS message %s", record.get("messageId"))
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def _handle_record(record: dict) -> None:
    subscriber = subscriber_for_queue(record["eventSourceARN"])
    envelope = envelope_from_body(record["body"])
    attempts = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    try:
        services.process_event(subscriber, envelope)
    except Exception as error:
        if attempts >= settings.EVENTS_MAX_ATTEMPTS:
            services.record_dead_letter(
                subscriber=subscriber.name, envelope=envelope, error=repr(error), attempts=attempts
            )
        raise


def is_sqs_event(event: dict) -> bool:
    records = event.get("Records") or []
    return bool(records) and records[0].get("eventSource") == "aws:sqs"
