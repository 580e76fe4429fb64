"""The Lambda function's entry point: Zappa's handler, and what it leaves undone.

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
3. Around every invocation that is not an HTTP request, the database connections are
   looked after as Django does around a request (see `_retire_connections`).
4. Django is set up with the garbage collector off (see `_zappa`).
"""

import functools
import gc
import logging

logger = logging.getLogger(__name__)


class UnhandledEvent(RuntimeError):
    """An event this function was invoked with but that none of its functions handles."""


def lambda_handler(event, context):
    zappa = _zappa()
    if not isinstance(event, dict):
        return zappa.lambda_handler(event, context)
    _fill_in_host(event)
    keep_only_api_gateways_source_ip(event)
    unhandled = _not_ours(zappa.LambdaHandler(), event)
    if unhandled is not None:
        return unhandled
    if _is_http(event):  # Django's request signals look after the connections
        return zappa.lambda_handler(event, context)
    _retire_connections()
    try:
        return zappa.lambda_handler(event, context)
    finally:
        _retire_connections()


@functools.cache
def _zappa():
    """Zappa's handler.py (at the root of the zip), with Django set up: once per process.

    Setting up imports about a thousand modules, objects that live as long as the process,
    and leaves next to no garbage (some 1,400 objects), yet the collector ran 200 times
    over them, about 90 ms of CPU. So it waits until set-up is done: the PostgreSQL cold
    start took 823 instead of 909 ms CPU (-9%, lambda_bench's run_runtime, 15 interleaved
    runs, 2026-12-07). What set-up made is then frozen (never walked again), and the
    requests are collected as usual."""
    gc.disable()
    try:
        import handler as zappa

        zappa.LambdaHandler()
    finally:
        gc.freeze()
        gc.enable()
    return zappa


def _is_http(event: dict) -> bool:
    return bool(event.get("version") == "2.0" or event.get("httpMethod"))


def _retire_connections() -> None:
    """What Django does around each HTTP request, for every other invocation (a Step
    Functions task, a queue batch, a schedule): a connection that broke (the database
    restarted, failed over, or cut it while the container was frozen) is replaced instead
    of failing every later invocation of this container, and one past CONN_MAX_AGE (0
    without a pooler) is given back."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def _fill_in_host(event: dict) -> None:
    context = event.get("requestContext") or {}
    domain = context.get("domainName")
    if not _is_http(event) or not domain or "elb" in context:
        return
    headers = event.get("headers") or {}
    multi = event.get("multiValueHeaders") or {}
    if any(name.lower() == "host" for name in [*headers, *multi]):
        return
    headers["host" if event.get("version") == "2.0" else "Host"] = domain
    event["headers"] = headers


def keep_only_api_gateways_source_ip(event: dict) -> None:
    """X-Forwarded-For reduced to the address API Gateway saw (requestContext's sourceIp),
    so that Zappa's REMOTE_ADDR is the caller's real address, which the throttles count.

    Zappa takes the next-to-last entry of X-Forwarded-For (the one before CloudFront's, for
    an edge-optimized API). But the caller writes the start of that header: on a regional
    API, an HTTP API or a Function URL nothing is appended after the caller's address, so
    the next-to-last entry is whatever the caller sent, a fresh "address" per request.
    sourceIp is API Gateway's own record of who connected (docs/security.md)."""
    context = event.get("requestContext") or {}
    source = (context.get("identity") or {}).get("sourceIp") or (context.get("http") or {}).get(
        "sourceIp"
    )
    if not source or "elb" in context:
        return
    for field in ("headers", "multiValueHeaders"):
        headers = event.get(field)
        if not isinstance(headers, dict):
            continue
        for name in [name for name in headers if name.lower() == "x-forwarded-for"]:
            del headers[name]
        name = "x-forwarded-for" if event.get("version") == "2.0" else "X-Forwarded-For"
        headers[name] = [source] if field == "multiValueHeaders" else source


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
    if event.get("detail-type") == "Scheduled Event":
        # Zappa names a schedule's rule "<function name>-<module.function>" and runs that
        # function; a rule whose name ends otherwise it takes for its own certificate
        # renewal (not used here) and does nothing.
        rule = str((event.get("resources") or [""])[0]).rsplit("/", 1)[-1]
        if "." not in rule.rsplit("-", 1)[-1]:
            raise UnhandledEvent(f"No function of this stage runs on the schedule {rule!r}.")
    return None
