from playwright.sync_api import expect

from notifications.models import Notification
from tests.browser.support import BROWSER, DESKTOP, PHONE, screenshot
from tests.factories import UserFactory

pytestmark = BROWSER


def unread_badge(page):
    return page.locator("[data-notifications-link] [data-unread-count]")


def test_a_rider_reads_notifications_and_marks_one_as_read(page, sign_in):
    rider = UserFactory()
    receipt = Notification.objects.create(user=rider, message="We received your payment of $12.50.")
    sign_in(page, rider)

    page.goto("/notifications/")
    item = page.locator(f'[data-notification-id="{receipt.pk}"]')
    expect(item).to_contain_text("We received your payment of $12.50.")
    expect(page.get_by_text("No notifications yet.")).to_be_hidden()
    expect(unread_badge(page)).to_have_text("1")
    screenshot(page, "notifications-list")

    item.get_by_role("button", name="Mark as read").click()
    expect(page.locator("[data-notifications-status]")).to_have_text("Marked as read.")
    expect(item).to_have_class("notification is-read")
    expect(unread_badge(page)).to_have_text("")
    receipt.refresh_from_db()
    assert receipt.read_at is not None


def test_the_header_counts_unread_notifications_and_mark_all_clears_them(new_page, sign_in):
    rider = UserFactory()
    for message in ("Shadowfax is on his way.", "Shadowfax has arrived.", "Your receipt."):
        Notification.objects.create(user=rider, message=message)
    Notification.objects.create(user=UserFactory(), message="Someone else's.")
    page = new_page(PHONE)
    sign_in(page, rider)

    page.goto("/history/")
    expect(page.locator("[data-menu-unread]")).to_have_text("3")  # on the closed phone menu
    screenshot(page, "notifications-count-on-the-menu-phone")
    page.get_by_role("button", name="Menu").click()
    link = page.get_by_role("link", name="Notifications, 3 unread")
    expect(link).to_be_visible()
    expect(unread_badge(page)).to_have_text("3")
    link.click()

    expect(page.locator(".notification:not(.is-read)")).to_have_count(3)
    page.get_by_role("button", name="Mark all as read").click()
    expect(page.locator("[data-notifications-status]")).to_have_text(
        "All notifications are marked as read."
    )
    expect(page.locator(".notification.is-read")).to_have_count(3)
    expect(page.locator(".unread-dot")).to_have_count(0)
    expect(page.get_by_role("button", name="Mark all as read")).to_be_hidden()
    expect(unread_badge(page)).to_have_text("")
    assert not Notification.objects.filter(user=rider, read_at__isnull=True).exists()
    screenshot(page, "notifications-all-read-phone")


# From the end of the word "Notifications" to the end of its link, beyond the link's padding.
SPACE_AFTER_THE_WORD = """(link) => {
  const range = document.createRange();
  range.setStart(link.firstChild, 0);
  range.setEnd(link.firstChild, "Notifications".length);
  const padding = parseFloat(getComputedStyle(link).paddingRight);
  return link.getBoundingClientRect().right - padding - range.getBoundingClientRect().right;
}"""


def test_with_nothing_unread_the_header_keeps_no_room_for_a_badge(new_page, sign_in):
    """The empty badge was hidden but kept its room: a gap of ~25 px after 'Notifications'."""
    rider = UserFactory()
    page = new_page(DESKTOP)
    sign_in(page, rider)
    page.goto("/history/")
    link = page.locator("[data-notifications-link]")
    expect(link).to_have_attribute("aria-label", "Notifications")  # the count came back: 0
    assert link.evaluate(SPACE_AFTER_THE_WORD) < 2

    Notification.objects.create(user=rider, message="Shadowfax is on his way.")
    page.reload()
    expect(unread_badge(page)).to_have_text("1")
    assert link.evaluate(SPACE_AFTER_THE_WORD) > 10  # the badge, when there is one


def test_the_empty_state_never_shows_before_the_notifications_arrive(page, sign_in):
    rider = UserFactory()
    Notification.objects.create(user=rider, message="Your unicorn is on the way.")
    sign_in(page, rider)
    # Hold the list's answer back: meanwhile a placeholder holds its place.
    held = []
    page.route("**/api/notifications/", lambda route: held.append(route))

    page.goto("/notifications/")
    expect(page.locator("[data-notifications-loading]")).to_be_visible()
    expect(page.get_by_text("No notifications yet.")).to_be_hidden()
    page.wait_for_timeout(300)
    expect(page.get_by_text("No notifications yet.")).to_be_hidden()
    for route in held:
        route.continue_()

    expect(page.get_by_text("Your unicorn is on the way.")).to_be_visible()
    expect(page.locator("[data-notifications-loading]")).to_be_hidden()
    expect(page.get_by_text("No notifications yet.")).to_be_hidden()
    shift = page.evaluate(
        """() => new Promise((resolve) => {
             let total = 0;
             new PerformanceObserver((list) => {
               for (const entry of list.getEntries()) total += entry.value;
             }).observe({ type: "layout-shift", buffered: true });
             setTimeout(() => resolve(total), 200);
           })"""
    )
    assert shift < 0.05, shift
