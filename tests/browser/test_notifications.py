from playwright.sync_api import expect

from notifications.models import Notification
from tests.browser.support import BROWSER, screenshot
from tests.factories import UserFactory

pytestmark = BROWSER


def test_a_rider_reads_notifications_and_marks_one_as_read(page, sign_in):
    rider = UserFactory()
    receipt = Notification.objects.create(user=rider, message="We received your payment of $12.50.")
    sign_in(page, rider)

    page.goto("/notifications/")
    item = page.locator(f'[data-notification-id="{receipt.pk}"]')
    expect(item).to_contain_text("We received your payment of $12.50.")
    expect(page.get_by_text("No notifications yet.")).to_be_hidden()
    screenshot(page, "notifications-list")

    item.get_by_role("button", name="Mark as read").click()
    expect(page.locator("[data-notifications-status]")).to_have_text("Marked as read.")
    expect(item).to_have_class("notification is-read")
    receipt.refresh_from_db()
    assert receipt.read_at is not None
