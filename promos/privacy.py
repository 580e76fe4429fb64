"""Erasing a person's data from promos when their account is closed: awards stay for the
campaign's budget and statistics, under a name that is no longer the e-mail address."""

from django.dispatch import receiver

from accounts.signals import account_closed
from promos.models import DiscountAward


@receiver(account_closed, dispatch_uid="promos.forget_person")
def forget_person(sender, *, user, email, **kwargs) -> None:
    DiscountAward.objects.filter(username__iexact=email).update(username=f"closed-{user.pk}")
