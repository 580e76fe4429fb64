"""The mark-read rule lives in notifications.services.mark_read: only one's own, and the
first read time is kept, also when another request marks it at the same moment."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.exceptions import NotFound
from notifications import selectors, services
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def notify(user):
    return Notification.objects.create(user=user, message="Payment of $12.50 registered")


def test_marking_anothers_notification_is_not_found_and_leaves_it_unread(rider, other_rider):
    theirs = notify(other_rider)

    with pytest.raises(NotFound, match="No such notification"):
        services.mark_read(user=rider, notification_id=theirs.pk)

    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_while_another_request_marks_it_answers_the_first_read_time(rider, monkeypatch):
    notification = notify(rider)
    first = timezone.now() - timedelta(seconds=5)
    fetch = selectors.notification_for

    def fetched_then_read_elsewhere(**kwargs):
        stale = fetch(**kwargs)  # still unread when this request fetched it
        Notification.objects.filter(pk=stale.pk).update(read_at=first)
        return stale

    monkeypatch.setattr(services, "notification_for", fetched_then_read_elsewhere)

    marked = services.mark_read(user=rider, notification_id=notification.pk)

    assert marked.read_at == first
    notification.refresh_from_db()
    assert notification.read_at == first
