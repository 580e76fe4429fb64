"""Reading notifications: one, or all at once. The first read time is kept."""

from django.utils import timezone

from notifications.models import Notification
from notifications.selectors import notifications_of


def mark_read(notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def mark_all_read(user) -> int:
    """Mark every unread notification of `user` read; returns how many there were."""
    return notifications_of(user).filter(read_at__isnull=True).update(read_at=timezone.now())
