import pytest

from notifications.models import Notification

pytestmark = pytest.mark.django_db

URL = "/api/notifications/"


def notify(user, message="Payment of $12.50 registered"):
    return Notification.objects.create(user=user, message=message)


def test_rider_sees_own_notifications_newest_first(rider_api, rider, other_rider):
    older = notify(rider, "first")
    newer = notify(rider, "second")
    notify(other_rider, "not yours")
    body = rider_api.get(URL).json()
    assert [n["id"] for n in body["results"]] == [newer.id, older.id]
    assert body["results"][0]["read"] is False


def test_mark_as_read(rider_api, rider):
    notification = notify(rider)
    response = rider_api.post(f"{URL}{notification.id}/read/")
    assert response.status_code == 200
    assert response.json()["read"] is True
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_marking_twice_keeps_the_first_read_time(rider_api, rider):
    notification = notify(rider)
    first = rider_api.post(f"{URL}{notification.id}/read/").json()["read_at"]
    assert rider_api.post(f"{URL}{notification.id}/read/").json()["read_at"] == first


def test_cannot_read_another_riders_notification(rider_api, other_rider):
    theirs = notify(other_rider)
    assert rider_api.post(f"{URL}{theirs.id}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_anonymous_is_401(api, rider):
    notification = notify(rider)
    assert api.get(URL).status_code == 401
    assert api.post(f"{URL}{notification.id}/read/").status_code == 401


def test_wrong_methods_are_405(rider_api, rider):
    notification = notify(rider)
    assert rider_api.post(URL).status_code == 405
    assert rider_api.get(f"{URL}{notification.id}/read/").status_code == 405
    assert rider_api.delete(f"{URL}{notification.id}/read/").status_code == 405


def test_unknown_notification_is_404(rider_api):
    assert rider_api.post(f"{URL}999999/read/").status_code == 404
