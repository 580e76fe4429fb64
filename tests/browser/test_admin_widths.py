"""The operators' and finance's admin pages fit a 1280x800 laptop with Django's navigation
sidebar open, as the admin shows it by default: no page is wider than the window, so the
last column of a list (an action's checkbox is the first, the ride's age or a payment's
organization the last) is in view without scrolling sideways. With the values that made
them overflow: a long rider e-mail, a unicorn name of 60 characters, a payment reference
of 46 characters without a space, long organization, campaign and file names, and a
hostile name that must show as text.

An object's page is measured on a 390x844 phone too (its title and an event's data wrap
within the screen); a list's table may scroll sideways within its box on a phone, as Django
lays it out. One browser context, every page visited in one test, each role by its session
cookie: a page load costs Chromium more than the measuring does."""

from datetime import timedelta

from django.contrib.admin.utils import quote
from django.core.management import call_command
from django.utils import timezone

from accounts.models import User
from bi.models import CampaignDailySpend, DailyAggregate
from events.models import Delivery, OutboxEvent
from notifications.models import Notification
from payment_lists.models import PaymentList
from promos.models import DiscountAward
from rides.models import Ride, UnicornApplication
from tests import factories
from tests.browser.support import BROWSER, DESKTOP, PHONE, screenshot

pytestmark = BROWSER

LONG_EMAIL = "margaret.featherstonehaugh-cholmondeley.accounts@enchanted-forest-tours.example.com"
LONG_UNICORN = "Sir Galahad Moonwhisper of the Silver Mist and Seven Rainbows"[:60]  # 60
HOSTILE = "<img src=x onerror=alert(1)>"
LONG_ORGANIZATION = "Enchanted Forest Tours and Moonlit Unicorn Excursions International"
LONG_CAMPAIGN = "Autumn equinox rainbow weekend for first-time riders of Seattle"
LONG_FILE = "payments-2026-11-enchanted-forest-tours-batch-0042-final-v2-corrected.csv"


def seed_long_values() -> dict:
    """Rows of every list with the longest values people give them; the objects whose pages
    are checked too."""
    now = timezone.now()
    rider = factories.UserFactory(email=LONG_EMAIL, full_name="Margaret Featherstonehaugh")
    long_unicorn = factories.UnicornFactory(name=LONG_UNICORN, color="iridescent silver-blue")
    hostile = factories.UnicornFactory(name=HOSTILE, color="white")
    ride = factories.RideFactory(
        rider=rider, unicorn=long_unicorn, discount_campaign=LONG_CAMPAIGN,
        discount_label="25% off: " + LONG_CAMPAIGN, discount_multiplier="0.75",
        base_fare_minor=125_000, fare_minor=93_750, status=Ride.Status.IN_PROGRESS,
        arrived_at=now, boarded_at=now,
    )  # fmt: skip
    Ride.objects.filter(pk=ride.pk).update(requested_at=now - timedelta(days=3, hours=5))
    factories.RideFactory(
        rider=factories.UserFactory(email="x" * 40 + "@example.com"), unicorn=hostile,
        status=Ride.Status.CANCELLED, cancelled_at=now, cancellation_fee_minor=500,
    )  # fmt: skip
    organization = factories.OrganizationFactory(name=LONG_ORGANIZATION)
    subscription = factories.SubscriptionFactory(organization=organization, plan="business-plus")
    payment = factories.PaymentFactory(
        reference=f"ride-{ride.pk}-fee", ride=ride, payer=rider, payer_email=LONG_EMAIL,
        organization=organization, amount_minor=12_345_67, currency="EUR",
        registered_by=LONG_EMAIL,
    )  # fmt: skip
    payment_list = PaymentList.objects.create(
        organization=organization, submitted_by=LONG_EMAIL, submitter_email=LONG_EMAIL,
        original_name=LONG_FILE, status=PaymentList.Status.FAILED, failed_step="ImportList",
        failure_reason="Row 1,204: the payer " + LONG_EMAIL + " is not a rider of this service.",
        rows_total=12_000, rows_validated=12_000, errors_count=1,
    )  # fmt: skip
    key = factories.ServiceKeyFactory(
        name="Enchanted Forest Tours booking backend (production, eu-west-1)",
        service="enchanted-forest-tours-booking-prod", organization=organization,
    )  # fmt: skip
    campaign = factories.CampaignFactory(name=LONG_CAMPAIGN, budget_minor=1_500_000_00)
    award = DiscountAward.objects.create(
        username=LONG_EMAIL, latitude=47.6, longitude=-122.3, campaign=campaign,
        multiplier="0.75", outcome=DiscountAward.Outcome.DRAWN, fare_minor=125_000,
        discount_minor=31_250, ride_id=ride.pk,
    )  # fmt: skip
    application = UnicornApplication.objects.create(
        name=LONG_UNICORN[:-1] + "?", color="iridescent silver-blue", gender="female",
        email=LONG_EMAIL, motivation="I have carried knights across seven kingdoms. " * 20,
    )  # fmt: skip
    event = OutboxEvent.objects.create(
        type="payment_lists.PaymentListImportFinished", occurred_at=now,
        data={"payer_email": LONG_EMAIL, "unicorn": LONG_UNICORN, "note": "x" * 300},
    )  # fmt: skip
    dead = Delivery.objects.create(
        event=event, subscriber="notifications-receipts", status=Delivery.Status.DEAD,
        attempts=12, last_error="botocore.exceptions.ClientError: An error occurred "
        "(MessageRejected) when calling the SendEmail operation: Email address is not "
        "verified. The following identities failed the check in region EU-WEST-1: " + LONG_EMAIL,
    )  # fmt: skip
    for currency in ("USD", "EUR", "GBP"):
        DailyAggregate.objects.create(
            day=timezone.localdate(), currency=currency, rides_completed=12_345,
            revenue_minor=1_234_567_89, discounts_minor=12_345_67, payments_registered=12_345,
            payments_verified=12_000, payments_deleted=345,
            payments_registered_minor=1_234_567_89, payments_verified_minor=1_200_000_00,
            payments_deleted_minor=34_567_89,
        )  # fmt: skip
    CampaignDailySpend.objects.create(
        day=timezone.localdate(), campaign=LONG_CAMPAIGN, rides=1_234, discounts_minor=1_234_567
    )
    notification = Notification.objects.create(
        user=rider,
        message=f"{LONG_UNICORN} is on the way to " + "Pike Place Market, " * 12,
    )
    return {
        "ride": ride, "unicorn": long_unicorn, "hostile": hostile, "payment": payment,
        "payment_list": payment_list, "organization": organization, "key": key,
        "campaign": campaign, "award": award, "application": application, "event": event,
        "dead": dead, "notification": notification, "rider": rider,
        "subscription": subscription,
    }  # fmt: skip


# Width of the page (documentElement) and of the change list's table, against the window.
WIDTHS = """() => {
  const page = document.documentElement;
  const results = document.querySelector("#changelist-form .results");
  const table = document.querySelector("#result_list");
  return {
    page: page.scrollWidth, window: page.clientWidth,
    table: table ? Math.ceil(table.getBoundingClientRect().right) : 0,
    tableScroll: results ? results.scrollWidth - results.clientWidth : 0,
  };
}"""


def pages_of(rows: dict) -> dict:
    ride, payment_list = rows["ride"], rows["payment_list"]
    return {
        "operator@example.com": [
            "/admin/",
            "/admin/rides/ride/",
            f"/admin/rides/ride/{ride.pk}/change/",
            "/admin/rides/unicorn/",
            f"/admin/rides/unicorn/{rows['unicorn'].pk}/change/",
            "/admin/rides/unicorn/add/",
            "/admin/rides/unicornapplication/",
            f"/admin/rides/unicornapplication/{rows['application'].pk}/change/",
            "/admin/promos/campaign/",
            f"/admin/promos/campaign/{rows['campaign'].pk}/change/",
            "/admin/promos/discountaward/",
            f"/admin/promos/discountaward/{rows['award'].pk}/change/",
            "/admin/events/deadletter/",
            f"/admin/events/deadletter/{rows['dead'].pk}/change/",
            "/admin/events/outboxevent/",
            f"/admin/events/outboxevent/{rows['event'].pk}/change/",
            "/admin/bi/dailyaggregate/",
            "/admin/bi/campaigndailyspend/",
        ],
        "finance@example.com": [
            "/admin/payments/payment/",
            f"/admin/payments/payment/{rows['payment'].pk}/change/",
            "/admin/payment_lists/paymentlist/",
            f"/admin/payment_lists/paymentlist/{payment_list.pk}/change/",
            "/admin/organizations/organization/",
            f"/admin/organizations/organization/{rows['organization'].pk}/change/",
            "/admin/payments/subscription/",
            f"/admin/payments/subscription/{rows['subscription'].pk}/change/",
            "/admin/accounts/servicekey/",
            f"/admin/accounts/servicekey/{quote(rows['key'].pk)}/change/",
            "/admin/events/deadletter/",
        ],
        "root@example.com": [
            "/admin/notifications/notification/",
            "/admin/accounts/user/",
        ],
    }


def test_no_admin_page_is_wider_than_a_laptop_with_the_sidebar_open(page, sign_in, settings):
    settings.DEMO_DATA_ALLOWED = True
    call_command("seed_demo", stdout=None)
    rows = seed_long_values()
    rows["organization"].members.add(User.objects.get(email="finance@example.com"))
    User.objects.create_superuser(email="root@example.com", password="-")

    too_wide, shown = [], []
    for email, paths in pages_of(rows).items():
        sign_in(page, User.objects.get(email=email))  # the same context, another session
        for path in paths:
            page.set_viewport_size(DESKTOP)
            assert page.goto(path).status == 200, path
            if path != "/admin/":  # the home page lists the apps itself, with no sidebar
                assert page.locator("#nav-sidebar").is_visible(), "open, as Django shows it"
            laptop = page.evaluate(WIDTHS)
            if max(laptop["page"], laptop["table"]) > laptop["window"] or laptop["tableScroll"]:
                too_wide.append(f"1280: {path} {laptop}")
            if path.endswith("/change/"):  # on a phone too (a list's table scrolls in its box)
                page.set_viewport_size(PHONE)
                phone = page.evaluate(WIDTHS)
                if phone["page"] > phone["window"]:
                    too_wide.append(f"390: {path} {phone}")
            if path == "/admin/rides/ride/":
                page.set_viewport_size(DESKTOP)
                screenshot(page, "admin-widths-rides")
                shown.append(page.locator("#result_list").inner_text())
                cut = page.locator("#result_list .cut", has_text="margaret")
                shown.append(cut.first.get_attribute("title") if cut.count() else "")
                shown.append(page.locator('img[src="x"]').count())
                # An everyday address is read whole: only a long one is cut.
                shown.append(
                    page.locator("#result_list .cut", has_text="rider@example.com").first.evaluate(
                        "cell => cell.scrollWidth > cell.clientWidth"
                    )
                )
            if path == "/admin/payments/payment/":
                shown.append(page.locator("#result_list").inner_text())
    assert not too_wide, "wider than the window:\n" + "\n".join(too_wide)
    # The long values were there, whole or in a cut cell's title, and the hostile one as text.
    rides, rider_title, images, everyday_address_cut, payments = shown
    assert LONG_UNICORN in rides and HOSTILE in rides and images == 0
    assert not everyday_address_cut, "rider@example.com shown as 'rider@example.c…'"
    assert rider_title == LONG_EMAIL
    assert LONG_ORGANIZATION in payments and "margaret" in payments
