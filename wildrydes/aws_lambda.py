"""The Lambda function's entry point: Zappa's handler, and the two things it leaves undone.

zappa_settings.json names it ("lambda_handler": "wildrydes.aws_lambda.lambda_handler");
everything else is Zappa's own handler.py (the copy at the root of the zip).

1. A request whose event carries no Host header gets the host API Gateway or the Function
   URL was called on (requestContext.domainName), as every real request has. Without one
   Zappa makes up "zappa" as the host, which Django refuses (400): that is what the test
   events of the API Gateway console and of AWS's own tools (SAM CLI, Powertools) send.
2. An event no function of this stage handles is reported, never swallowed. Zappa logs
   "Cannot find a function" and returns None: for an SQS batch that means "all done", so
   SQS would delete the messages. Here an SQS batch nobody handles comes back as failed
   (batchItemFailures: SQS tries again, then moves it to the queue's DLQ), and any other
   event (SNS, EventBridge, unknown shapes) raises, so Lambda counts an error (the
   function's errors alarm) and retries or sends it to its on-failure destination.
"""

import logging

logger = logging.getLogger(__name__)


class UnhandledEvent(RuntimeError):
    """An event this function was invoked with but that none of its functions handles."""


def lambda_handler(event, context):
    import handler as zappa  # Zappa's handler.py, at the root of the zip

    if isinstance(event, dict):
        _fill_in_host(event)
        unhandled = _not_ours(zappa.LambdaHandler(), event)
        if unhandled is not None:
            return unhandled
    return zappa.lambda_handler(event, context)


def _fill_in_host(event: dict) -> None:
    context = event.get("requestContext") or {}
    domain = context.get("domainName")
    is_http = event.get("version") == "2.0" or event.get("httpMethod")
    if not is_http or not domain or "elb" in context:
        return
    headers = event.get("headers") or {}
    multi = event.get("multiValueHeaders") or {}
    if any(name.lower() == "host" for name in [*headers, *multi]):
        return
    headers["host" if event.get("version") == "2.0" else "Host"] = domain
    event["headers"] = headers


# What Zappa's LambdaHandler.handler acts on (zappa/handler.py, in this order).
def _zappa_takes(event: dict) -> bool:
    context = event.get("requestContext") or {}
    return bool(
        event.get("version") == "2.0"
        or event.get("httpMethod")
        or context.get("eventType") in ("CONNECT", "DISCONNECT", "MESSAGE")
        or event.get("detail-type") == "Scheduled Event"
        or event.get("command")
        or event.get("raw_command")
        or event.get("manage")
        or event.get("Records")
        or event.get("bot")
        or event.get("type") == "TOKEN"
        or event.get("triggerSource")
        or event.get("awslogs")
    )


def _not_ours(zappa_handler, event: dict):
    """None when Zappa will route the event to one of our functions; otherwise the answer
    for an SQS batch, or UnhandledEvent raised."""
    if not event:
        return None  # a warm-up ping (Zappa's keep_warm sends {})
    records = event.get("Records")
    if records and isinstance(records, list):
        if zappa_handler.get_function_for_aws_event(records[0]):
            return None
        source = records[0].get("eventSource") or records[0].get("EventSource")
        arn = (
            records[0].get("eventSourceARN")
            or (records[0].get("Sns") or {}).get("TopicArn")
            or ((records[0].get("s3") or {}).get("bucket") or {}).get("arn")
        )
        if source == "aws:sqs":
            logger.error(
                "No function of this stage reads the queue %s: %d messages reported as failed",
                arn,
                len(records),
            )
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}
        raise UnhandledEvent(f"No function of this stage handles {source} events from {arn}.")
    if not _zappa_takes(event):
        kind = event.get("detail-type") or event.get("source") or sorted(event)[:5]
        raise UnhandledEvent(f"No function of this stage handles this event ({kind}).")
    return None
