"""Times and amounts a rider reads are written the same on the pages the browser fills in
(history, notifications) as on the receipt and in e-mails, whatever zone and language the
rider's phone is set to: times on the service area's clock with its zone named, amounts as
the English pages write them."""

from datetime import UTC, datetime

from playwright.sync_api import expect

from notifications.models import Notification
from rides.models import Ride
from tests.browser.support import BROWSER, PHONE, screenshot, serve_blank_tiles
from tests.factories import RideFactory, UserFactory

pytestmark = BROWSER

WINTER = datetime(2026, 12, 7, 21, 17, tzinfo=UTC)  # 13:17 in Seattle
# The hour the clocks go back in Seattle: 01:30 comes twice, and only the zone tells which.
SECOND_ONE_THIRTY = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


def test_history_notifications_and_receipt_agree_on_a_phone_set_to_another_zone_and_language(
    browser, live_server, sign_in
):
    rider = UserFactory()
    ride = RideFactory(rider=rider, status=Ride.Status.COMPLETED)
    Ride.objects.filter(pk=ride.pk).update(requested_at=WINTER)
    Notification.objects.create(user=rider, message="Your receipt.", created_at=SECOND_ONE_THIRTY)
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, timezone_id="Asia/Tokyo", locale="de-DE"
    )
    serve_blank_tiles(context)
    errors = []
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, rider)

    page.goto("/history/")
    expect(page.get_by_text("7 Dec 2026, 13:17 PST")).to_be_visible()
    expect(page.locator(f'[data-ride-id="{ride.pk}"] [data-label="Charged"]')).to_contain_text(
        "$12.50"
    )  # not 12,50 $
    screenshot(page, "history-times-phone")
    page.goto(f"/history/{ride.pk}/")
    expect(page.locator(".receipt-when")).to_contain_text("7 December 2026, 13:17 PST")
    page.goto("/notifications/")
    expect(page.get_by_text("1 Nov 2026, 01:30 PST")).to_be_visible()
    context.close()
    assert not errors, errors
