"""Request ids, timing marks and metrics.

Every log line carries the request id (RequestIdFilter). `timed("dispatch")` records how
long a step took; the marks of a request (or a workflow step) are logged together.
`count_metric("RidesRequested")` writes a CloudWatch embedded-metric-format line on AWS
(METRICS_EMF) and a plain log line locally.
"""

import contextvars
import json
import logging
import time
import uuid
from contextlib import contextmanager

from django.conf import settings

request_id_var = contextvars.ContextVar("request_id", default="-")
marks_var = contextvars.ContextVar("timing_marks", default=None)

logger = logging.getLogger("wildrydes.timing")
metrics_logger = logging.getLogger("wildrydes.metrics")

METRICS_NAMESPACE = "WildRydes"


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get()
        return True


@contextmanager
def timed(name: str):
    """Record the duration of a step in the current request's timing marks."""
    started = time.perf_counter()
    try:
        yield
    finally:
        marks = marks_var.get()
        if marks is not None:
            marks.append((name, round((time.perf_counter() - started) * 1000, 2)))


@contextmanager
def timing_marks(label: str, **fields):
    """Collect the marks of one unit of work (a request, a workflow step) and log them."""
    token = marks_var.set([])
    started = time.perf_counter()
    try:
        yield
    finally:
        marks = marks_var.get()
        marks_var.reset(token)
        if marks:
            total = round((time.perf_counter() - started) * 1000, 2)
            logger.info(
                "%s took %.1f ms", label, total,
                extra={"marks_ms": dict(marks), "total_ms": total, "unit": label, **fields},
            )  # fmt: skip


def count_metric(name: str, value: float = 1, unit: str = "Count", **dimensions) -> None:
    if not settings.METRICS_EMF:
        metrics_logger.debug("metric %s=%s", name, value)
        return
    record = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": METRICS_NAMESPACE,
                    "Dimensions": [["Stage", *dimensions]],
                    "Metrics": [{"Name": name, "Unit": unit}],
                }
            ],
        },
        "Stage": settings.STAGE,
        name: value,
        **dimensions,
    }
    # EMF must be the whole line: print it, not through the JSON formatter.
    print(json.dumps(record), flush=True)


class RequestIdMiddleware:
    """Take the caller's X-Request-Id (or API Gateway's request id), or make one; echo it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-Id", "")
        gateway = request.META.get("lambda.context")
        request_id = (
            incoming[:64]
            if incoming.replace("-", "").isalnum()
            else getattr(gateway, "aws_request_id", None) or uuid.uuid4().hex
        )
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-Id"] = request_id
        return response
