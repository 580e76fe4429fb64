from django.db.models import QuerySet

from core.exceptions import NotFound
from notifications.models import Notification


def notifications_of(user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user)


def unread_count(user) -> int:
    return notifications_of(user).filter(read_at__isnull=True).count()


def notification_for(*, user, notification_id) -> Notification:
    notification = notifications_of(user).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound("No such notification.")
    return notification
