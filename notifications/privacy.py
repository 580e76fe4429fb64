"""Erasing a person's notifications when their account is closed (they are only theirs)."""

from django.dispatch import receiver

from accounts.signals import account_closed
from notifications.models import Notification


@receiver(account_closed, dispatch_uid="notifications.forget_person")
def forget_person(sender, *, user, email, **kwargs) -> None:
    Notification.objects.filter(user=user).delete()
