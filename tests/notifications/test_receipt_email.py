"""The receipt e-mail reads like the receipt page: Seattle's times with the zone's name, the
money as the page writes it, the ride's reference and the page's address; in plain text,
where a unicorn's name (typed by an applicant or an operator) cannot add lines or headers."""

from datetime import UTC, datetime

import pytest
from django.core import mail

from rides import services
from rides.models import Ride
from tests.factories import UnicornFactory, ride_in_progress

pytestmark = pytest.mark.django_db


def complete(ride, rider, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ride = services.complete_ride(ride=ride, by=rider)
    [receipt] = [m for m in mail.outbox if ride.reference in m.subject]
    return ride, receipt


def test_the_receipt_email_reads_like_the_receipt_page(
    rider, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://rides.example.com"
    ride = ride_in_progress(
        rider=rider,
        dropoff_latitude=47.6162,
        dropoff_longitude=-122.3321,
        base_fare_minor=1250,
        discount_multiplier="0.50",
        discount_label="Unicorn Launch Week: 50% off",
        fare_minor=625,
    )
    Ride.objects.filter(pk=ride.pk).update(requested_at=datetime(2026, 12, 7, 10, 46, tzinfo=UTC))

    ride, receipt = complete(ride, rider, django_capture_on_commit_callbacks)

    lines = receipt.body.splitlines()
    assert f"Ride: {ride.reference}" in lines
    assert "From: Downtown Seattle" in lines  # 47.6062, -122.3321, the factory's pickup
    assert "To: First Hill" in lines  # 47.6162, -122.3321: 1.1 km north
    assert "Requested: 7 December 2026, 02:46 PST" in lines  # 10:46 UTC, Seattle's winter
    assert any(line.startswith("Completed: ") and line.endswith(" PST") for line in lines)
    assert "Fare before discount: $12.50" in lines
    assert "Discount: Unicorn Launch Week: 50% off" in lines
    assert "Paid: $6.25" in lines
    assert f"Payment reference: {ride.fare_payment.pk}" in lines
    assert f"Your receipt: https://rides.example.com/history/{ride.id}/" in lines
    assert "+00:00" not in receipt.body and "T10:46" not in receipt.body


def test_a_unicorns_name_cannot_forge_lines_or_headers_in_the_receipt_email(
    rider, django_capture_on_commit_callbacks
):
    name = "Evil\nPaid: $0.00\r\nBcc: victim@example.com\u2028<script>alert(1)</script>"
    ride = ride_in_progress(rider=rider, unicorn=UnicornFactory(name=name, is_available=False))

    ride, receipt = complete(ride, rider, django_capture_on_commit_callbacks)

    lines = receipt.body.splitlines()
    assert [line for line in lines if line.startswith("Paid:")] == ["Paid: $12.50"]
    assert not any(line.startswith("Bcc:") for line in lines)
    assert lines[0] == (
        "Thank you for riding with Wild Rydes, and with Evil Paid: $0.00 Bcc: "
        "victim@example.com <script>alert(1)</script>."
    )  # the name as typed, on one line of plain text
    message = receipt.message()
    assert message["Bcc"] is None and receipt.recipients() == [rider.email]
    assert message.get_content_type() == "text/plain" and not receipt.alternatives
    assert name not in receipt.subject


@pytest.mark.django_db(transaction=True)  # the e-mail goes out at the commit, in the request
def test_a_ride_completed_through_the_api_is_mailed_at_seattles_time(rider, rider_api):
    """The API answers in UTC (core.middleware); the e-mail it sends is still Seattle's."""
    ride = ride_in_progress(rider=rider)
    Ride.objects.filter(pk=ride.pk).update(requested_at=datetime(2026, 12, 7, 10, 46, tzinfo=UTC))

    answer = rider_api.post(f"/api/rides/{ride.id}/complete/")

    assert answer.status_code == 200
    [receipt] = [m for m in mail.outbox if ride.reference in m.subject]
    assert "Requested: 7 December 2026, 02:46 PST" in receipt.body.splitlines()


def test_the_receipt_link_is_the_sites_after_a_request_under_a_stage_prefix(
    rider, settings, django_capture_on_commit_callbacks
):
    """A stage's function serves its pages under /<stage>/ (Zappa's SCRIPT_NAME) and mails
    receipts from the notifications queue in the same warm container: the prefix the last
    request left must not be added to SITE_URL's, which holds it already."""
    settings.SITE_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/dev"
    from django.urls import set_script_prefix

    # What Django's WSGIHandler (Zappa's handler calls it) does for a request under /dev/,
    # and leaves set in the thread afterwards.
    set_script_prefix("/dev")
    ride = ride_in_progress(rider=rider)
    try:
        ride, receipt = complete(ride, rider, django_capture_on_commit_callbacks)
    finally:
        set_script_prefix("/")
    link = f"https://abc123.execute-api.us-east-1.amazonaws.com/dev/history/{ride.id}/"
    assert f"Your receipt: {link}" in receipt.body.splitlines()
