"""The operators' console in Chromium: the admin as the place the business is run."""

import re
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from bi.models import CampaignDailySpend, DailyAggregate
from events.models import Delivery
from payment_lists import workflow
from payment_lists.models import PaymentList
from payments.models import Subscription
from rides.models import Unicorn
from tests.admin import bulk
from tests.browser.support import BROWSER, go_offline_for_tiles, screenshot
from tests.factories import (
    PASSWORD,
    FinanceFactory,
    OperatorFactory,
    OrganizationFactory,
    RideFactory,
    UnicornFactory,
)
from tests.payment_lists.lists import HEADER, good_rows

pytestmark = BROWSER

LAT, LNG = settings.CITY_CENTER
FLEET = [
    ("Shadowfax", "white", 0.004, -0.006),
    ("Bucephalus", "black", -0.003, 0.004),
    ("Rocinante", "brown", 0.006, 0.007),
    ("Glitter", "pink", -0.007, -0.004),
    ("Nimbus", "grey", 0.001, 0.011),
    ("Blaze", "red", -0.010, 0.001),
    ("Stardust", "silver", 0.009, -0.012),
    ("Moonbeam", "blue", -0.002, -0.013),
    ("Sparkle", "gold", 0.012, 0.002),
    ("Thunder", "black", -0.012, 0.010),
]


def seed_the_business(today):
    """Two weeks of aggregates, three campaigns, a fleet with rides in progress."""
    for n in range(14):
        rides = [18, 22, 25, 19, 31, 44, 40, 21, 24, 27, 23, 35, 48, 29][n]
        DailyAggregate.objects.create(
            day=today - timedelta(days=13 - n),
            rides_completed=rides,
            revenue_minor=rides * 1180,
            discounts_minor=rides * 95,
            payments_registered=rides + n % 4,
            payments_verified=rides - 3 - n % 3,
            payments_deleted=n % 3,
        )
    for name, spend in [("Unicorn Tuesday", 8450), ("Rainbow weekend", 5120), ("First ride", 2300)]:
        CampaignDailySpend.objects.create(
            day=today, campaign=name, rides=spend // 250, discounts_minor=spend
        )
    for n, (name, color, dlat, dlng) in enumerate(FLEET):
        UnicornFactory(
            name=name, color=color, latitude=LAT + dlat, longitude=LNG + dlng, on_duty=n < 8
        )
    for name in ["Shadowfax", "Bucephalus", "Rocinante"]:
        unicorn = Unicorn.objects.get(name=name)
        unicorn.is_available = False
        unicorn.save()
        RideFactory(
            unicorn=unicorn,
            unicorn_start_latitude=unicorn.latitude,
            unicorn_start_longitude=unicorn.longitude,
            pickup_latitude=unicorn.latitude - 0.003,
            pickup_longitude=unicorn.longitude + 0.002,
        )
    bulk.dead_letters(2)


def sign_in_with_the_form(page, user):
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Run the business")).to_be_visible()


def run_action(page, row_text: str, action_label: str):
    page.get_by_role("row").filter(has_text=row_text).get_by_role("checkbox").check()
    page.locator("select[name=action]").select_option(label=action_label)
    page.get_by_role("button", name="Go").click()


def test_an_operator_signs_in_and_reads_the_dashboard(page):
    seed_the_business(timezone.localdate())
    go_offline_for_tiles(page.context)  # no map tiles at all: the markers must still show

    sign_in_with_the_form(page, OperatorFactory())
    page.get_by_role("link", name="Dashboard").click()

    expect(page.get_by_role("heading", name="Operations dashboard", level=1)).to_be_visible()
    for chart in [
        "Rides completed per day",
        "Revenue per day",
        "Payments by status per day",
        "Discount spend per campaign",
        "Fleet utilisation now",
    ]:
        expect(page.get_by_role("img", name=chart)).to_be_visible()
    expect(page.locator('[data-live-count="rides_in_progress"]')).to_have_text("3")
    expect(page.locator('[data-live-count="unicorns_free"]')).to_have_text("5")
    expect(page.locator('[data-live-count="dead_letters"]')).to_have_text("2")
    page.locator("[data-map-ready]").wait_for(state="attached")
    expect(page.locator("path.wr-fleet-marker")).to_have_count(len(FLEET))
    expect(page.locator("path.wr-fleet-on_ride").first).to_be_visible()
    expect(page.locator("path.wr-ride-pickup")).to_have_count(3)
    # A grey canvas says why: the tiles did not load.
    expect(page.locator("#fleet-map .wr-map-tiles-note")).to_have_text(
        "The map could not load its streets; the unicorns and pickups still show."
    )
    screenshot(page, "operator-dashboard")

    page.get_by_role("link", name="7 days").click()
    expect(page.locator(".wr-period")).to_contain_text("(7 days)")
    expect(page.get_by_role("link", name="7 days")).to_have_attribute("aria-current", "true")


def test_an_operator_puts_a_unicorn_off_duty_with_the_action(page, sign_in):
    UnicornFactory(name="Blaze", on_duty=True)
    UnicornFactory(name="Nimbus", on_duty=True)
    sign_in(page, OperatorFactory())

    page.goto("/admin/rides/unicorn/")
    run_action(page, "Blaze", "Put selected unicorns off duty")

    expect(page.locator(".messagelist")).to_contain_text("Put 1 unicorn(s) off duty: Blaze.")
    screenshot(page, "operator-unicorn-off-duty")
    assert not Unicorn.objects.get(name="Blaze").on_duty
    assert Unicorn.objects.get(name="Nimbus").on_duty


@pytest.fixture
def held_import(settings, tmp_path, monkeypatch):
    """The background import waits for the test's go, so the page can be seen following it."""
    settings.PAYMENT_LIST_RUNNER = "thread"
    settings.MEDIA_ROOT = tmp_path
    go = threading.Event()
    run = workflow.run_workflow

    def held(payment_list_id, token, **options):
        go.wait(timeout=30)
        return run(payment_list_id, token, **options)

    monkeypatch.setattr(workflow, "run_workflow", held)
    yield go
    go.set()
    for thread in threading.enumerate():
        if thread.name.startswith("payment-list-"):
            thread.join(timeout=30)


def test_finance_uploads_a_payment_list_and_watches_it_finish(page, sign_in, held_import, tmp_path):
    finance = FinanceFactory()
    organization = OrganizationFactory(name="Unicorn Logistics")
    organization.members.add(finance)
    Subscription.objects.create(
        organization=organization,
        plan="business",
        starts_at=timezone.now() - timedelta(days=1),
        max_rows_per_list=10_000,
        max_total_minor_per_list=100_000_000,
    )
    upload = tmp_path / "november.csv"
    upload.write_text("\n".join([HEADER, *good_rows(2000)]) + "\n")
    sign_in(page, finance)

    page.goto("/admin/payment_lists/paymentlist/")
    page.get_by_role("link", name="Upload a payment list").click()
    page.get_by_label("Organization").select_option(label="Unicorn Logistics")
    page.get_by_label("File").set_input_files(str(upload))
    page.get_by_role("button", name="Upload and import").click()

    expect(page.locator(".messagelist")).to_contain_text("received; the import has started")
    watch = page.locator("[data-list-watch]")
    expect(watch).to_contain_text("Running: Waiting for the import to start.")
    screenshot(page, "finance-payment-list-running")

    held_import.set()
    expect(page.locator(".field-state .readonly")).to_have_text("imported", timeout=30_000)
    # The page reloads itself once the list is finished: nothing left to follow. At load 20
    # that reload alone outlasted the 5-s default; what it shows is asserted after it.
    expect(watch).to_have_count(0, timeout=30_000)
    expect(page.locator(".field-state .readonly")).to_have_text("imported")
    expect(page.locator("[data-progress-label]")).to_have_text(
        "Imported: all 2,000 payments are registered."
    )
    expect(page.locator("[data-list-progress] progress")).to_have_attribute("value", "2000")
    expect(page.locator(".fieldBox.field-payments_imported .readonly")).to_have_text("2,000")
    for developer_word in ("ImportList", "ValidateList", "Total minor", "total_minor"):
        expect(page.locator("#content")).not_to_contain_text(developer_word)
    screenshot(page, "finance-payment-list-imported")
    assert PaymentList.objects.get().rows_imported == 2000


def test_finance_replays_a_dead_letter(page, sign_in):
    bulk.dead_letters(1)
    sign_in(page, FinanceFactory())

    page.goto("/admin/events/deadletter/")
    expect(page.get_by_role("row").filter(has_text="RuntimeError: boom")).to_be_visible()
    screenshot(page, "finance-dead-letters")
    run_action(page, "RuntimeError: boom", "Replay: deliver once more")

    expect(page.locator(".messagelist")).to_contain_text("Delivered 1 event(s).")
    expect(page.get_by_text("0 dead letters")).to_be_visible()
    screenshot(page, "finance-dead-letter-replayed")
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED


def test_finance_cannot_see_the_fleet_and_operators_cannot_see_payments(new_page, sign_in):
    finance_page, operator_page = new_page(), new_page()
    sign_in(finance_page, FinanceFactory())
    sign_in(operator_page, OperatorFactory())

    finance_page.goto("/admin/")
    expect(finance_page.locator("#payments-payment").get_by_role("link")).to_be_visible()
    expect(finance_page.locator('a[href="/admin/rides/unicorn/"]')).to_have_count(0)
    expect(finance_page.get_by_role("link", name="Dashboard")).to_have_count(0)
    assert finance_page.goto("/admin/rides/unicorn/").status == 403
    assert finance_page.goto("/admin/bi/dailyaggregate/dashboard/").status == 403

    operator_page.goto("/admin/")
    expect(operator_page.locator("#rides-unicorn").get_by_role("link")).to_be_visible()
    expect(operator_page.locator('a[href="/admin/payments/payment/"]')).to_have_count(0)
    assert operator_page.goto("/admin/payments/payment/").status == 403
    assert operator_page.goto("/admin/payment_lists/paymentlist/").status == 403
