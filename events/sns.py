"""Publishing an event to the stage's SNS topic (EVENTS_SNS_TOPIC_ARN), whose SQS queues,
one per subscriber, feed `events.aws.handle_sqs_event`."""

import json

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


def publish_to_sns(event: OutboxEvent) -> None:
    client("sns", SNS_CLIENT_CONFIG).publish(
        TopicArn=settings.EVENTS_SNS_TOPIC_ARN,
        Message=json.dumps(event.envelope()),
        MessageAttributes={"event_type": {"DataType": "String", "StringValue": event.type}},
    )
