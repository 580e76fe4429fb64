"""The finance clerk's busy day: a rider quotes a ride's reference (WR-7K3Q9P) and asks
about its payments; the outbox read newest first; and every change list the project's
admins offer costs the same number of queries for a full page as for a few rows (the heavy
lists are in test_changelist_queries.py: rides, fleet, awards, dead letters, payments
without rides, payment lists)."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from events.models import OutboxEvent
from notifications.models import Notification
from organizations.models import Organization
from payments.models import Payment, Subscription
from promos.models import Campaign
from rides import services
from rides.models import UnicornApplication
from tests.admin import bulk
from tests.admin.conftest import messages_of, signed_in
from tests.factories import (
    FinanceFactory,
    OperatorFactory,
    OrganizationFactory,
    PaymentFactory,
    RideFactory,
    UserFactory,
    arrive_now,
)

pytestmark = pytest.mark.django_db

PAYMENTS = "/admin/payments/payment/"
MANY = 150  # > list_per_page (100): a full page and a second one


def cancelled_after_arrival():
    """A ride with two payments: its fee now (ride-<id>-fee)."""
    rider = UserFactory()
    ride = RideFactory(rider=rider)
    arrive_now(ride)
    return services.cancel_ride(ride=ride, by=rider)


@pytest.mark.parametrize("typed", ["{ref}", "{bare}", " {lower} "])
def test_a_ride_reference_finds_the_ride_s_payments(finance_client, typed):
    ride = cancelled_after_arrival()
    PaymentFactory()  # another payment, not the ride's
    ref = ride.reference
    term = typed.format(ref=ref, bare=ref.removeprefix("WR-"), lower=ref.lower())
    page = finance_client.get(PAYMENTS, {"q": term})
    found = list(page.context["cl"].result_list)
    assert [p.reference for p in found] == [f"ride-{ride.id}-fee"]
    # The list says which ride each payment is for, as the rider quotes it.
    html = page.content.decode()
    assert f'<td class="field-ride_reference"><span class="nowrap">{ref}</span></td>' in html


def test_a_ride_reference_finds_only_the_payments_this_clerk_may_see(finance):
    ride = RideFactory()
    ours, theirs = OrganizationFactory(), OrganizationFactory()
    ours.members.add(finance)
    PaymentFactory(reference="OURS-1", ride=ride, organization=ours)
    PaymentFactory(reference="THEIRS-1", ride=ride, organization=theirs)
    other = FinanceFactory()
    theirs.members.add(other)
    for clerk, expected in [(finance, ["OURS-1"]), (other, ["THEIRS-1"])]:
        page = signed_in(clerk).get(PAYMENTS, {"q": ride.reference})
        assert [p.reference for p in page.context["cl"].result_list] == expected


def test_a_payment_reference_that_looks_like_a_ride_s_is_still_found(finance_client):
    PaymentFactory(reference="ABC234")  # six letters and digits, no ride of that reference
    page = finance_client.get(PAYMENTS, {"q": "abc234"})
    assert [p.reference for p in page.context["cl"].result_list] == ["ABC234"]


def test_the_outbox_lists_the_newest_event_first(operator_client):
    now = timezone.now()
    for minutes, kind in [(30, "old"), (0, "new"), (10, "middle")]:
        OutboxEvent.objects.create(
            type=f"tests.{kind}", occurred_at=now - timezone.timedelta(minutes=minutes), data={}
        )
    page = operator_client.get("/admin/events/outboxevent/")
    types = [event.type for event in page.context["cl"].result_list]
    assert types[:3] == ["tests.new", "tests.middle", "tests.old"]


# --- Queries per page ---------------------------------------------------------------------


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def payments_of_rides(count: int):
    rides = bulk.rides(count)
    tag = _tag()
    Payment.objects.bulk_create(
        Payment(reference=f"ride-{tag}-{n}", amount_minor=1250, currency="USD", ride=ride,
                payer=ride.rider, payer_email=ride.rider.email, registered_by="service:rides")
        for n, ride in enumerate(rides)
    )  # fmt: skip


def notifications(count: int):
    people = bulk.riders(count)
    Notification.objects.bulk_create(
        Notification(user=person, message=f"Hello {n}", event_type="rides.RideCompleted")
        for n, person in enumerate(people)
    )


def outbox_events(count: int):
    OutboxEvent.objects.bulk_create(
        OutboxEvent(type="payments.PaymentRegistered", occurred_at=timezone.now(), data={})
        for _ in range(count)
    )


def organizations(count: int):
    tag, staff = _tag(), bulk.riders(2)
    for n in range(count):
        Organization.objects.create(name=f"Org {tag} {n}").members.add(*staff)


def subscriptions(count: int):
    tag = _tag()
    orgs = Organization.objects.bulk_create(
        Organization(name=f"Org {tag} {n}") for n in range(count)
    )
    Subscription.objects.bulk_create(
        Subscription(organization=org, plan="pro", starts_at=timezone.now(), max_rows_per_list=10)
        for org in orgs
    )


def applications(count: int):
    tag, decider = _tag(), OperatorFactory()
    UnicornApplication.objects.bulk_create(
        UnicornApplication(name=f"A {tag} {n}", color="white", gender="female",
                           email=f"a{n}@example.com", decided_by=decider)
        for n in range(count)
    )  # fmt: skip


def campaigns(count: int):
    tag = _tag()
    Campaign.objects.bulk_create(
        Campaign(name=f"Campaign {tag} {n}", starts_at=timezone.now()) for n in range(count)
    )


LISTS = [
    (PAYMENTS, payments_of_rides),
    ("/admin/notifications/notification/", notifications),
    ("/admin/events/outboxevent/", outbox_events),
    ("/admin/organizations/organization/", organizations),
    ("/admin/payments/subscription/", subscriptions),
    ("/admin/rides/unicornapplication/", applications),
    ("/admin/promos/campaign/", campaigns),
    ("/admin/accounts/user/", bulk.riders),
]


@pytest.mark.parametrize(("url", "make"), LISTS, ids=[url.split("/")[3] for url, _ in LISTS])
def test_every_other_list_costs_the_same_queries_for_a_full_page(
    url, make, superuser_client, django_assert_max_num_queries
):
    make(10)
    superuser_client.get(url)  # warm up the session and the content types cache
    with CaptureQueriesContext(connection) as at_10:
        superuser_client.get(url)
    make(MANY - 10)
    with django_assert_max_num_queries(len(at_10)):
        response = superuser_client.get(url)
    cl = response.context["cl"]
    assert cl.result_count >= MANY
    assert len(cl.result_list) == cl.list_per_page


def test_a_full_page_of_ride_payments_for_finance_costs_a_bounded_number_of_queries(
    django_assert_max_num_queries,
):
    finance = FinanceFactory()
    client = signed_in(finance)
    payments_of_rides(MANY)
    with django_assert_max_num_queries(12):
        page = client.get(PAYMENTS)
    assert len(page.context["cl"].result_list) == 100
    assert User.objects.count() > MANY  # the riders behind the rides


def test_a_hostile_payment_reference_is_text_in_the_reference_column(finance_client):
    PaymentFactory(reference="<img src=x onerror=alert(1)>", ride=RideFactory())
    html = finance_client.get(PAYMENTS).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;</span>" in html


# --- Deleting a payment asks first ----------------------------------------------------------


def _act(client, action, objects, **extra):
    return client.post(
        PAYMENTS,
        {"action": action, "_selected_action": [o.pk for o in objects], **extra},
        follow=True,
    )


def test_deleting_payments_asks_first_and_says_which_cannot_be(finance_client, finance):
    doomed = PaymentFactory(reference="PAY-DOOMED", payer_email="payer@example.com")
    verified = PaymentFactory(reference="PAY-VERIFIED", status=Payment.Status.VERIFIED)
    page = _act(finance_client, "delete_selected_payments", [doomed, verified])
    html = page.content.decode()
    assert "Delete these payments?" in html
    assert "delete PAY-DOOMED ($12.50, payer@example.com): it stays listed as deleted" in html
    assert "PAY-VERIFIED: verified, cannot be deleted" in html
    assert 'value="Yes, delete 1 payment"' in html
    doomed.refresh_from_db()
    assert doomed.status == Payment.Status.REGISTERED  # asked, not done

    done = _act(finance_client, "delete_selected_payments", [doomed], post="yes")
    assert messages_of(done) == ["Deleted 1 payment(s)."]
    doomed.refresh_from_db()
    assert (doomed.status, doomed.deleted_by) == (Payment.Status.DELETED, finance.email)
    again = _act(finance_client, "delete_selected_payments", [doomed], post="yes")
    assert messages_of(again) == ["PAY-DOOMED: This payment is already deleted."]


def test_finance_of_another_organization_gets_no_question_and_deletes_nothing(finance):
    ours = OrganizationFactory()
    ours.members.add(finance)
    payment = PaymentFactory(organization=ours)
    other = FinanceFactory()
    OrganizationFactory().members.add(other)
    for extra in ({}, {"post": "yes"}):
        page = _act(signed_in(other), "delete_selected_payments", [payment], **extra)
        assert "Delete these payments?" not in page.content.decode()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REGISTERED


# --- A failed payment list: why, and re-run it from its page ---------------------------------


def failed_list(organization, reason="Org has no active subscription."):
    from payment_lists.models import PaymentList

    return PaymentList.objects.create(
        organization=organization, file="inbox/x.csv", original_name="x.csv",
        status=PaymentList.Status.FAILED, failed_step="VerifySubscription", failure_reason=reason,
    )  # fmt: skip


def test_a_failed_list_s_page_tells_why_and_offers_to_re_run_it(finance, finance_client):
    ours = OrganizationFactory()
    ours.members.add(finance)
    failed = failed_list(ours, reason="<b>Org</b> has no active subscription.")
    url = f"/admin/payment_lists/paymentlist/{failed.pk}/change/"
    html = finance_client.get(url).content.decode()
    assert "&lt;b&gt;Org&lt;/b&gt; has no active subscription." in html  # as text
    assert ">Re-run this list</button>" in html
    assert 'name="action" value="rerun_failed_lists"' in html
    assert f'name="_selected_action" value="{failed.pk}"' in html

    failed.status = "imported"
    failed.save(update_fields=["status"])
    assert "Re-run this list" not in finance_client.get(url).content.decode()


def test_nobody_else_gets_the_re_run_button(finance, operator_client, superuser_client):
    ours = OrganizationFactory()
    ours.members.add(finance)
    failed = failed_list(ours)
    url = f"/admin/payment_lists/paymentlist/{failed.pk}/change/"
    other = FinanceFactory()
    OrganizationFactory().members.add(other)
    assert signed_in(other).get(url).status_code == 302  # not theirs: back to the list
    assert operator_client.get(url).status_code == 403
    assert ">Re-run this list</button>" in superuser_client.get(url).content.decode()
