"""Reads the pages need that the rides app's API does not serve."""

from django.db.models import QuerySet

from rides.models import Unicorn


def fleet() -> QuerySet[Unicorn]:
    """Every unicorn of the fleet for the public fleet page, by name."""
    return Unicorn.objects.order_by("name").only("name", "color", "gender", "on_duty")
