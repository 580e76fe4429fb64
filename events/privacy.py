"""Erasing a closed account's e-mail address from the domain events kept in the outbox
(payment events carry the payer's address; the event itself stays, for delivery and audit)."""

from django.dispatch import receiver

from accounts.signals import account_closed
from events.models import OutboxEvent


@receiver(account_closed, dispatch_uid="events.forget_person")
def forget_person(sender, *, user, email, **kwargs) -> None:
    events = OutboxEvent.objects.filter(data__payer_email__iexact=email).only("id", "data")
    for event in events:
        event.data = {**event.data, "payer_email": ""}
        event.save(update_fields=["data"])
