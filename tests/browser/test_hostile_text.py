"""No HTML from data, anywhere: hostile names in every place that shows user-provided text,
opened in Chromium. No script may run (window.__xss stays undefined, no dialog opens, no
element is built from the text) and the text must show literally.

The Content-Security-Policy would stop an inline handler even if escaping failed, so these
tests look for the literal text too: it is only there when the page escaped it. Every page
is also watched for CSP violations, which would mean either an injection or a page that
breaks under its own policy.

Sinks: the rider's ride page (the unicorn's name on the map and in the ride card), ride
history and notifications; the admin's lists and pages of unicorns, applications, rides,
campaigns, payments, payment lists (their first errors), organizations, service keys and
dead letters; the operations dashboard's charts and map. E-mails and CSV exports are not
pages: tests/security/test_hostile_text_outputs.py.
"""

import io

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from bi.models import CampaignDailySpend
from events.models import Delivery, OutboxEvent
from notifications.models import Notification
from organizations.models import Organization
from rides.models import Unicorn, UnicornApplication
from tests import factories
from tests.browser.support import BROWSER

pytestmark = BROWSER

LAT, LNG = settings.CITY_CENTER
# Under the 80 characters of a unicorn's name; each half breaks out of a different context.
HOSTILE = '<img src=x onerror=window.__xss=1>"><script>window.__xss=2</script>'
SHORT = "<b onmouseover=window.__xss=3>x</b>"  # for 40-character fields (a colour)


@pytest.fixture
def watched(new_page):
    """A page that records dialogs and CSP violations."""
    page = new_page()
    page.problems = []
    page.on("dialog", lambda dialog: (page.problems.append(f"dialog {dialog.message}"),
                                      dialog.dismiss()))  # fmt: skip
    page.on(
        "console",
        lambda message: (
            page.problems.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return page


def assert_harmless(page, *texts: str) -> None:
    """No script ran, no element was built from the text, and the text shows as text."""
    for marker in page.locator(".leaflet-marker-icon, path.leaflet-interactive").all():
        if marker.is_visible():
            marker.hover(force=True)  # opens the map's tooltips
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator('img[src="x"], b[onmouseover]').count() == 0
    assert page.evaluate(
        "[...document.scripts].filter(s => s.type !== 'application/json')"
        ".every(s => !s.textContent.includes('__xss=2'))"
    ), "a <script> from the data is in the document (json_script data aside)"
    body = page.locator("body").inner_text()
    for text in texts:
        assert text in body, f"{text!r} is not shown literally on {page.url}"
    assert not page.problems, page.problems


def hostile_unicorn(**fields) -> Unicorn:
    return factories.UnicornFactory(name=HOSTILE, color=SHORT, **fields)


def test_hostile_names_in_the_operators_pages(watched, sign_in):
    unicorn = hostile_unicorn(latitude=LAT + 0.002, longitude=LNG + 0.002, on_duty=True)
    unicorn.is_available = False
    unicorn.save()
    factories.RideFactory(
        unicorn=unicorn, pickup_latitude=LAT, pickup_longitude=LNG,
        unicorn_start_latitude=unicorn.latitude, unicorn_start_longitude=unicorn.longitude,
    )  # fmt: skip
    UnicornApplication.objects.create(
        name=HOSTILE, color=SHORT, gender="female", email="x@example.com", motivation=HOSTILE
    )
    factories.CampaignFactory(name=HOSTILE[:60])
    CampaignDailySpend.objects.create(
        day=timezone.localdate(), campaign=HOSTILE, rides=3, discounts_minor=750
    )
    event = OutboxEvent.objects.create(
        type="rides.RideCompleted", occurred_at=timezone.now(), data={"unicorn": HOSTILE}
    )
    Delivery.objects.create(
        event=event, subscriber="bi", status=Delivery.Status.DEAD, attempts=5, last_error=HOSTILE
    )
    sign_in(watched, factories.OperatorFactory())

    for path in [
        "/admin/rides/unicorn/",
        f"/admin/rides/unicorn/{unicorn.pk}/change/",
        "/admin/rides/unicornapplication/",
        "/admin/rides/ride/",
        "/admin/promos/campaign/",
        "/admin/events/deadletter/",
        f"/admin/events/deadletter/{Delivery.objects.get().pk}/change/",
    ]:
        watched.goto(path)
        assert_harmless(watched, HOSTILE[:30])

    watched.goto("/admin/bi/dailyaggregate/dashboard/")
    watched.locator("[data-map-ready]").wait_for(state="attached")
    expect(watched.get_by_role("img", name="Discount spend per campaign")).to_be_visible()
    assert_harmless(watched)
    # The chart's labels are SVG text: the name is there as text, not as markup.
    chart_text = watched.locator("svg.wr-chart").all_text_contents()
    assert any(HOSTILE[:20] in text for text in chart_text)


def test_hostile_text_in_the_finance_pages(watched, sign_in):
    finance = factories.FinanceFactory()
    organization = Organization.objects.create(name=HOSTILE)
    organization.members.add(finance)
    factories.PaymentFactory(
        organization=organization, reference="<i>REF</i><img src=x>", payer_email="a@b.example"
    )
    factories.ServiceKeyFactory(name=HOSTILE, organization=organization)
    from payment_lists.models import PaymentList

    payment_list = PaymentList.objects.create(
        organization=organization, submitted_by=HOSTILE, status="failed", original_name=HOSTILE,
        failure_reason=HOSTILE, errors_count=1,
    )  # fmt: skip
    report = f"row,column,reason\n2,reference,{HOSTILE}\n".encode()
    payment_list.error_report.save("errors.csv", io.BytesIO(report), save=True)
    sign_in(watched, finance)

    for path in [
        "/admin/payments/payment/",
        "/admin/organizations/organization/",
        f"/admin/organizations/organization/{organization.pk}/change/",
        "/admin/accounts/servicekey/",
        "/admin/payment_lists/paymentlist/",
        f"/admin/payment_lists/paymentlist/{payment_list.pk}/change/",
    ]:
        watched.goto(path)
        assert_harmless(watched)
        assert "<img src=x" in watched.locator("body").inner_text(), path


def test_hostile_unicorn_names_in_the_rider_history_and_notifications(watched, sign_in):
    rider = factories.UserFactory()
    factories.RideFactory(rider=rider, unicorn=hostile_unicorn())
    Notification.objects.create(user=rider, message=f"{HOSTILE} is on the way.")
    sign_in(watched, rider)

    watched.goto("/notifications/")
    expect(watched.get_by_text("is on the way.")).to_be_visible()
    assert_harmless(watched, HOSTILE)

    watched.goto("/history/")
    expect(watched.get_by_text(HOSTILE[:20], exact=False).first).to_be_visible()
    assert_harmless(watched, HOSTILE)


def test_a_hostile_unicorn_name_on_the_ride_page_map_and_card(watched, sign_in):
    """The reported attack: an applicant's name reaches a rider's map tooltip."""
    rider = factories.UserFactory()
    unicorn = hostile_unicorn(latitude=LAT + 0.004, longitude=LNG + 0.004)
    unicorn.is_available = False
    unicorn.save()
    factories.RideFactory(
        rider=rider, unicorn=unicorn, pickup_latitude=LAT, pickup_longitude=LNG,
        unicorn_start_latitude=unicorn.latitude, unicorn_start_longitude=unicorn.longitude,
    )  # fmt: skip
    sign_in(watched, rider)

    watched.goto("/ride/")
    expect(watched.locator("[data-ride-card]")).to_be_visible()
    expect(watched.locator(".leaflet-marker-icon").first).to_be_visible()
    assert_harmless(watched, HOSTILE)
