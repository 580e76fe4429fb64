"""Admin actions go through the same services as the API, so their events are emitted."""

import pytest
from django.utils import timezone

from bi.models import DailyAggregate
from events.models import Delivery, OutboxEvent
from payment_lists.models import PaymentList
from payments.models import Payment
from rides.models import Unicorn
from tests.admin import bulk
from tests.admin.conftest import messages_of
from tests.factories import PaymentFactory, SubscriptionFactory, UnicornFactory
from tests.payment_lists.lists import csv_file, good_rows

pytestmark = pytest.mark.django_db


def act(client, url, action, objects, **extra):
    return client.post(
        url,
        {"action": action, "_selected_action": [obj.pk for obj in objects], **extra},
        follow=True,
    )


# --- Fleet ----------------------------------------------------------------------------


def test_putting_unicorns_off_duty_reports_each_change_as_an_event(operator_client, operator):
    working = UnicornFactory(name="Blaze", on_duty=True)
    resting = UnicornFactory(name="Nimbus", on_duty=False)

    response = act(operator_client, "/admin/rides/unicorn/", "put_off_duty", [working, resting])

    assert "Put 1 unicorn(s) off duty: Blaze." in messages_of(response)
    assert not Unicorn.objects.get(pk=working.pk).on_duty
    (event,) = OutboxEvent.objects.filter(type="rides.UnicornDutyChanged")
    assert event.data == {
        "unicorn_id": working.pk,
        "unicorn": "Blaze",
        "on_duty": False,
        "by": operator.email,
    }


def test_putting_unicorns_on_duty_makes_them_dispatchable(operator_client):
    unicorn = UnicornFactory(on_duty=False)
    response = act(operator_client, "/admin/rides/unicorn/", "put_on_duty", [unicorn])
    assert "Put 1 unicorn(s) on duty" in messages_of(response)[0]
    assert Unicorn.objects.filter(pk=unicorn.pk, on_duty=True, is_available=True).exists()


def test_a_unicorn_already_off_duty_is_left_alone(operator_client):
    unicorn = UnicornFactory(on_duty=False)
    response = act(operator_client, "/admin/rides/unicorn/", "put_off_duty", [unicorn])
    assert messages_of(response) == ["The selected unicorns were already off duty."]
    assert not OutboxEvent.objects.exists()


def test_all_unicorns_across_pages_go_off_duty_in_one_action(operator_client):
    bulk.unicorns(150)  # more than one page of 100
    response = operator_client.post(
        "/admin/rides/unicorn/",
        {"action": "put_off_duty", "select_across": "1", "index": "0", "_selected_action": ["x"]},
        follow=True,
    )
    assert response.status_code == 200
    assert not Unicorn.objects.filter(on_duty=True).exists()
    assert OutboxEvent.objects.filter(type="rides.UnicornDutyChanged").count() == 100


# --- Payments -------------------------------------------------------------------------


def test_verifying_payments_in_the_admin_emits_the_event_bi_counts(
    finance_client, django_capture_on_commit_callbacks
):
    payment = PaymentFactory(amount_minor=4200)
    verified = PaymentFactory(status=Payment.Status.VERIFIED)

    with django_capture_on_commit_callbacks(execute=True):
        response = act(
            finance_client, "/admin/payments/payment/", "verify_selected", [payment, verified]
        )

    messages = messages_of(response)
    assert "Verified 1 payment(s)." in messages
    assert any("only a registered payment" in m.lower() for m in messages)
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.VERIFIED
    assert OutboxEvent.objects.filter(type="payments.PaymentVerified").count() == 1
    today = DailyAggregate.objects.get(day=timezone.localdate())
    assert (today.payments_verified, today.payments_verified_minor) == (1, 4200)


def test_deleting_a_payment_in_the_admin_keeps_it_for_audit(finance_client, finance):
    payment = PaymentFactory()
    response = act(
        finance_client, "/admin/payments/payment/", "delete_selected_payments", [payment],
        post="yes",  # "Yes, delete" on its question (tests/admin/test_finance_day.py)
    )  # fmt: skip
    assert "Deleted 1 payment(s)." in messages_of(response)
    payment.refresh_from_db()
    assert (payment.status, payment.deleted_by) == ("deleted", finance.email)
    assert OutboxEvent.objects.filter(type="payments.PaymentDeleted").exists()


def test_a_payment_page_is_read_only_even_for_finance(finance_client):
    payment = PaymentFactory()
    page = finance_client.get(f"/admin/payments/payment/{payment.pk}/change/")
    assert page.status_code == 200
    assert page.context["adminform"].form.fields == {}
    assert b'name="_save"' not in page.content


# --- Dead letters ---------------------------------------------------------------------


def test_replaying_a_dead_letter_delivers_it_and_takes_it_off_the_list(finance_client):
    (dead,) = bulk.dead_letters(1)

    response = act(finance_client, "/admin/events/deadletter/", "replay", [dead])

    assert "Delivered 1 event(s)." in messages_of(response)
    dead.refresh_from_db()
    assert dead.status == Delivery.Status.DELIVERED
    assert DailyAggregate.objects.get(day=timezone.localdate()).payments_registered == 1
    assert response.context["cl"].result_count == 0


def test_replaying_a_letter_of_a_subscriber_no_longer_there_says_it_failed(finance_client):
    """A dead letter kept from before a subscriber was renamed or removed: its replay fails
    like any delivery, with the reason in its error, and the other letters chosen with it
    are replayed (it was a 500, and none of them was)."""
    gone, dead = bulk.dead_letters(2)
    Delivery.objects.filter(pk=gone.pk).update(subscriber="retired")

    response = act(finance_client, "/admin/events/deadletter/", "replay", [gone, dead])

    assert response.status_code == 200
    assert "Delivered 1 event(s)." in messages_of(response)
    assert "1 event(s) failed again; see the error." in messages_of(response)
    gone.refresh_from_db()
    assert gone.status == Delivery.Status.DEAD
    assert "No subscriber named 'retired'" in gone.last_error


def test_a_dead_letter_page_shows_the_event_and_changes_nothing(operator_client):
    (dead,) = bulk.dead_letters(1)
    page = operator_client.get(f"/admin/events/deadletter/{dead.pk}/change/")
    assert page.status_code == 200
    assert b"RuntimeError: boom" in page.content
    assert b"payments.PaymentRegistered" in page.content
    assert page.context["adminform"].form.fields == {}


# --- Payment lists --------------------------------------------------------------------


@pytest.fixture
def organization(finance):
    org = SubscriptionFactory(
        plan="business", max_rows_per_list=1000, max_total_minor_per_list=10_000_000
    ).organization
    org.members.add(finance)
    return org


@pytest.fixture
def _inline_imports(settings, tmp_path):
    settings.PAYMENT_LIST_RUNNER = "inline"
    settings.MEDIA_ROOT = tmp_path


@pytest.mark.usefixtures("_inline_imports")
def test_uploading_a_list_in_the_admin_imports_it_and_shows_progress(
    finance_client, organization, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(
            "/admin/payment_lists/paymentlist/upload/",
            {"organization": organization.pk, "file": csv_file(good_rows(3))},
        )
    payment_list = PaymentList.objects.get()
    assert response["Location"] == f"/admin/payment_lists/paymentlist/{payment_list.pk}/change/"
    assert payment_list.status == PaymentList.Status.IMPORTED

    progress = finance_client.get(f"/admin/payment_lists/paymentlist/{payment_list.pk}/progress/")
    assert progress.json() == {
        "state": "imported",
        "step": "",
        "done": 3,
        "total": 3,
        "label": "3 of 3 rows",
        "description": "Imported: all 3 payments are registered.",
        "errors_count": 0,
        "finished": True,
    }
    page = finance_client.get(response["Location"])
    assert b'<progress value="3" max="3"' in page.content
    assert b"data-list-watch" not in page.content  # finished: nothing left to follow


@pytest.mark.usefixtures("_inline_imports")
def test_a_running_list_page_follows_the_import(finance_client, organization):
    (running,) = bulk.payment_lists(1)
    running.organization = organization
    running.status = PaymentList.Status.IMPORTING
    running.save()
    page = finance_client.get(f"/admin/payment_lists/paymentlist/{running.pk}/change/")
    assert b"data-list-watch" in page.content
    assert b"payment_lists/admin/list-progress.js" in page.content


@pytest.mark.usefixtures("_inline_imports")
def test_rerunning_a_failed_list_imports_it_once_its_cause_is_fixed(
    finance_client, organization, django_capture_on_commit_callbacks
):
    organization.subscriptions.update(max_rows_per_list=1)
    with django_capture_on_commit_callbacks(execute=True):
        finance_client.post(
            "/admin/payment_lists/paymentlist/upload/",
            {"organization": organization.pk, "file": csv_file(good_rows(2))},
        )
    failed = PaymentList.objects.get()
    assert failed.status == PaymentList.Status.FAILED

    organization.subscriptions.update(max_rows_per_list=1000)
    with django_capture_on_commit_callbacks(execute=True):
        response = act(
            finance_client, "/admin/payment_lists/paymentlist/", "rerun_failed_lists", [failed]
        )

    assert f"List #{failed.pk} restarted." in messages_of(response)
    failed.refresh_from_db()
    assert failed.status == PaymentList.Status.IMPORTED
    assert OutboxEvent.objects.filter(type="payments.PaymentRegistered").count() == 2
