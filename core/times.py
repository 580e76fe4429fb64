"""Times as people read them: in the service area's zone (TIME_ZONE), with its name."""

from datetime import datetime

from django.utils import dateformat, timezone


def local_when(moment: datetime) -> str:
    """`moment` as a rider reads it, wherever they read it: "7 December 2026, 02:54 PST".
    The zone's name comes from the local time itself: Django's "T" leaves it out in the
    hour the clocks go back, the one hour that needs it (01:30 PDT, then 01:30 PST)."""
    local = timezone.localtime(moment, timezone.get_default_timezone())
    return f"{dateformat.format(local, 'j F Y, H:i')} {local.tzname()}"
