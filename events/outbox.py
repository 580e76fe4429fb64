"""The outbox: a change's events are written in the change's own transaction.

Nothing leaves before the commit, and a rollback leaves nothing to publish. Once the
transaction commits, the events are handed on (`events.relay.publish_after_commit`; of a
set-based `emit_rows`, one batch: `events.relay.relay_after_commit`); whatever that leaves
(the rest of a large set, a process that died right after its commit, SNS out of reach) is
the scheduled relay's.
"""

import json
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router, transaction
from django.utils import timezone
from uuid6 import uuid7

from events import relay
from events.models import OutboxEvent


def emit(event_type: str, data: dict, *, version: int = 1, occurred_at=None) -> OutboxEvent:
    """Record `event_type` in the outbox as part of the current transaction.

    `occurred_at`: the moment of the change the event reports, as its row has it (a
    payment's registered_at): subscribers date the change by it (BI's local day). Now, if
    not given."""
    # The data as it reads back from the outbox (JSON): the event handed on after the
    # commit is this object, not a copy read again.
    data = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    event = OutboxEvent.objects.create(
        type=event_type, version=version, occurred_at=occurred_at or timezone.now(), data=data
    )
    # A function of its own, not a partial: robust on_commit logs a failure by __qualname__.
    transaction.on_commit(lambda: relay.publish_after_commit(event), robust=True)
    return event


def emit_rows(
    event_type: str,
    *,
    data_sql: str,
    from_sql: str,
    params: list,
    occurred_at_sql: str,
    version: int = 1,
) -> int:
    """Record one `event_type` per row of `SELECT data_sql FROM from_sql` in the current
    transaction, set-based (a million events in one INSERT ... SELECT): `emit` for many.

    `data_sql` is an SQL JSON object (the event's data, built by the database) and
    `occurred_at_sql` the moment of the row's change (as `emit`'s `occurred_at`); the row
    is the one `emit` writes, with a version-7 id (this moment's milliseconds, then random)
    made by the database. Once the transaction commits, one batch of them is handed on
    (`events.relay.relay_after_commit`: all of a small set); the rest is the scheduled
    relay's. Returns how many were written.
    """
    db = connections[router.db_for_write(OutboxEvent)]
    quote = db.ops.quote_name
    prefix = uuid7().hex[:12]  # the v7 timestamp: this moment, shared by the batch
    # Every id this call writes lies between these two (any other written in the same
    # millisecond too, which is as much the relay's to hand on).
    first, last = (uuid.UUID(prefix + fill * 20) for fill in "0f")
    transaction.on_commit(lambda: relay.relay_after_commit(first, last), robust=True)
    if db.vendor == "postgresql":
        # "tttttttt-tttt-7" + the random rest of a v4 uuid (its variant bits included).
        new_id = f"('{prefix[:8]}-{prefix[8:]}-7' || substr(gen_random_uuid()::text, 16))::uuid"
    else:  # SQLite stores a UUIDField as 32 hex digits
        new_id = (
            f"'{prefix}7' || substr(lower(hex(randomblob(2))), 1, 3) "
            "|| substr('89ab', 1 + abs(random()) % 4, 1) "
            "|| substr(lower(hex(randomblob(8))), 1, 15)"
        )
    sql = (
        f"INSERT INTO {quote(OutboxEvent._meta.db_table)} (id, type, version, occurred_at, data, "  # noqa: S608
        f"published_at, publish_attempts, last_error) SELECT {new_id}, %s, %s, "
        f"{occurred_at_sql}, {data_sql}, NULL, 0, '' FROM {from_sql}"
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [event_type, version, *params])
        return cursor.rowcount
