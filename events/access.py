"""Who may read an event's payload, decided by the app the events come from.

Events never import the apps that emit them: an app whose events carry data not every
operator may see registers its rule here when it is ready (payments.apps). A guarded kind
of event with no rule registered is shown to superusers only.
"""

from collections.abc import Callable

# Events whose payloads carry payment data (references, amounts, payer e-mails).
GUARDED_PREFIXES = ("payments.", "payment_lists.")

_rules: dict[str, Callable] = {}


def guard_payloads(prefix: str, may_read: Callable) -> None:
    """`may_read(user, data)` decides for events whose type starts with `prefix`."""
    _rules[prefix] = may_read


def may_read(user, event_type: str, data) -> bool:
    if user.is_superuser:
        return True
    for prefix in GUARDED_PREFIXES:
        if event_type.startswith(prefix):
            rule = _rules.get(prefix)
            return bool(rule and rule(user, data))
    return True
