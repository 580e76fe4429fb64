"""Events written by the database, set-based (events.outbox.emit_rows), as a payment list's
ImportList writes its PaymentRegistered events: for tests of what happens after the
commit."""

import uuid

from django.db import connection, transaction

from events.outbox import emit_rows
from payment_lists.steps import payment_event_data_sql
from payments.events import PAYMENT_REGISTERED
from payments.models import Payment
from tests.factories import PaymentFactory


def written_by_the_database(count: int, *, payer=None) -> list[str]:
    """`count` payments registered and their PaymentRegistered events written in one
    INSERT ... SELECT, in a transaction of their own; the payments' ids (as the events
    carry them). The after-commit hook runs at the commit (a transactional test, or
    django_capture_on_commit_callbacks)."""
    tag = uuid.uuid4().hex[:8]
    Payment.objects.bulk_create(
        PaymentFactory.build(reference=f"SET-{tag}-{n}", payer=payer, amount_minor=100 + n)
        for n in range(count)
    )
    table = connection.ops.quote_name(Payment._meta.db_table)
    with transaction.atomic():
        written = emit_rows(
            PAYMENT_REGISTERED,
            data_sql=payment_event_data_sql("p"),
            from_sql=f"{table} p WHERE p.reference LIKE %s",
            params=[f"SET-{tag}-%"],
            occurred_at_sql="p.registered_at",
        )
    assert written == count
    ids = Payment.objects.filter(reference__startswith=f"SET-{tag}-").values_list("id", flat=True)
    return [str(pk) for pk in ids]
