"""Reading notifications: one, or all at once. The first read time is kept."""

from django.utils import timezone

from notifications.models import Notification
from notifications.selectors import notification_for, notifications_of


def mark_read(*, user, notification_id) -> Notification:
    """Mark one of `user`'s own notifications read and return it. Another person's is not
    found (NotFound), as if it did not exist. Read before (or by a request at the same
    moment): it keeps the time it was first read."""
    notification = notification_for(user=user, notification_id=notification_id)
    if notification.read_at is None:
        now = timezone.now()
        unread = Notification.objects.filter(pk=notification.pk, read_at__isnull=True)
        if unread.update(read_at=now):
            notification.read_at = now
        else:  # read by another request since it was fetched: keep that time
            notification.refresh_from_db(fields=["read_at"])
    return notification


def mark_all_read(user) -> int:
    """Mark every unread notification of `user` read; returns how many there were."""
    return notifications_of(user).filter(read_at__isnull=True).update(read_at=timezone.now())
