"""The one rule for which organization a request acts for (a payment, a payment list)."""

import re

from django.core.exceptions import ValidationError

from organizations.models import Organization
from organizations.selectors import organizations_acted_for

SEVERAL = "You act for several organizations: choose one."


def organization_acted_for(
    *, user, service_key=None, chosen=None, refusal: str
) -> Organization | None:
    """The organization a caller's request is for: `chosen` (an id, from the request's
    `organization`) if the caller acts for it (selectors.organizations_acted_for: a service
    key's own, a member's, any for a superuser), else the only one they act for.

    ValidationError on `organization`: `refusal` for one they do not act for, SEVERAL when
    they act for several and chose none. None when they act for none: the caller says what
    that means (a payment list is refused, a payment is of no organization)."""
    organizations = organizations_acted_for(user=user, service_key=service_key)
    if chosen not in (None, ""):
        # ASCII digits only: "²" passes str.isdigit() but int() refuses it, and 20 digits
        # overflow the database's integer.
        is_id = re.fullmatch(r"[0-9]{1,18}", str(chosen)) is not None
        found = organizations.filter(pk=int(chosen)).first() if is_id else None
        if found is None:
            raise ValidationError({"organization": [refusal]})
        return found
    choices = list(organizations[:2])
    if len(choices) > 1:
        raise ValidationError({"organization": [SEVERAL]})
    return choices[0] if choices else None
