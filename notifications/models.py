from django.conf import settings
from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """A message on the rider's pages, made from a domain event."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    message = models.CharField(max_length=300)
    event_id = models.UUIDField(null=True, blank=True)
    event_type = models.CharField(max_length=80, blank=True)
    ride_id = models.UUIDField(null=True, blank=True, help_text="The ride it is about, if any.")
    # When what it reports happened (its event's time), so a rider reads their
    # notifications in the order things happened, whatever order the events came in.
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="notification_user_newest")]

    def __str__(self):
        return self.message
