"""Organizations: the businesses that pay or submit payment lists, and their finance staff.

Below accounts (a service key acts for one) and payments (payments, subscriptions and lists
belong to one), so neither imports the other for it. The tables keep the names they had in
the payments app (payments_organization, payments_organization_members): moving the model
changed no data.
"""

from django.conf import settings
from django.db import models


class Organization(models.Model):
    """A business that pays or submits payment lists; finance staff act for it."""

    name = models.CharField(max_length=120, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="organizations",
        help_text="Finance staff allowed to act for this organization.",
    )  # fmt: skip
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "payments_organization"
        ordering = ["name"]

    def __str__(self):
        return self.name
