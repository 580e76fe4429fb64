"""Erasing a person's data from payments when their account is closed.

Payments stay for accounting (amount, reference, ride, the anonymised payer); the e-mail
address written on them goes, as payer and as who registered them (a rider completing a
ride registers its fare), and from the payment answers kept for `Idempotency-Key`
retries, which still replay, as the payment now reads.
"""

from django.db.models import Q
from django.dispatch import receiver

from accounts.signals import account_closed
from core.models import IdempotencyRecord
from payments.models import Payment


@receiver(account_closed, dispatch_uid="payments.forget_person")
def forget_person(sender, *, user, email, **kwargs) -> None:
    Payment.objects.filter(Q(payer=user) | Q(payer_email__iexact=email)).update(payer_email="")
    Payment.objects.filter(registered_by__iexact=email).update(registered_by=f"closed-{user.pk}")
    kept = IdempotencyRecord.objects.filter(response_body__payer_email__iexact=email)
    for record in kept.only("pk", "response_body"):
        record.response_body = {**record.response_body, "payer_email": ""}
        record.save(update_fields=["response_body"])
