"""Who listens to what. Each subscriber: a handler path and the event types it takes.

A subscriber's module may also define `handle_batch(envelopes)` beside its handler: the
same effect as the handler applied to each event in turn, done set-based (events.delivery
hands it a whole batch in one transaction: the relay's, or an SQS batch's). Without one,
the handler runs per event.

A subscriber runs inside the delivery's transaction, and an attempt that fails is rolled
back and tried again (events.delivery). What it does outside the database (an e-mail)
goes in `transaction.on_commit`, or a failed attempt does it twice (see
notifications.rides.send_receipt).

On AWS each subscriber has its own SQS queue subscribed to the SNS topic with a filter
policy on the `event_type` attribute built from the same `types`.
"""

from dataclasses import dataclass
from functools import cache
from importlib import import_module

from django.conf import settings
from django.utils.module_loading import import_string

BATCH_HANDLER = "handle_batch"


class UnknownEventType(ValueError):
    """A subscriber was handed an event type it does not take (its queue's filter policy
    or a replay let through something it cannot handle). Raised, never ignored: the
    delivery fails and, after its last try, is kept as a dead letter."""

    def __init__(self, subscriber: str, event_types):
        self.subscriber, self.event_types = subscriber, sorted(event_types)
        super().__init__(
            f"The {subscriber} subscriber does not handle {', '.join(self.event_types)} events."
        )


def refuse_unknown_types(subscriber: str, envelopes: list[dict], known) -> None:
    """Raise UnknownEventType unless every envelope is of a type in `known`."""
    unknown = {envelope["type"] for envelope in envelopes} - set(known)
    if unknown:
        raise UnknownEventType(subscriber, unknown)


@dataclass(frozen=True)
class Subscriber:
    name: str
    handler_path: str
    types: frozenset[str]

    @property
    def handler(self):
        return import_string(self.handler_path)

    @property
    def batch_handler(self):
        """`handle_batch` of the handler's module, or None."""
        module = import_module(self.handler_path.rsplit(".", 1)[0])
        return getattr(module, BATCH_HANDLER, None)

    def wants(self, event_type: str) -> bool:
        return event_type in self.types


@cache
def subscribers() -> tuple[Subscriber, ...]:
    return tuple(
        Subscriber(name, spec["handler"], frozenset(spec["types"]))
        for name, spec in settings.EVENT_SUBSCRIBERS.items()
    )


def subscriber(name: str) -> Subscriber:
    for candidate in subscribers():
        if candidate.name == name:
            return candidate
    raise LookupError(f"No subscriber named {name!r}.")
