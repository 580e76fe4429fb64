"""What rides says when an account is to be closed (accounts.signals)."""

from django.dispatch import receiver

from accounts.signals import account_closing
from core.exceptions import Conflict
from rides.services import active_ride_of


@receiver(account_closing, dispatch_uid="rides.no_closing_during_a_ride")
def no_closing_during_a_ride(sender, *, user, **kwargs) -> None:
    if active_ride_of(user) is not None:  # settled first: a no-show nobody read is over
        raise Conflict("You have a ride under way. Finish or cancel it, then close your account.")
