"""Every e-mail the service sends reaches an address whose domain is in another script
(anna@bücher.example) on AWS, not the sign-up and reset e-mails alone: SES takes 7-bit
ASCII addresses only, and django-ses hands it the recipients as given (tests/ses_on_aws.py).
The rider's receipt and the finance clerk's "payment list imported" were refused there."""

import pytest

from payment_lists import services as list_services
from rides import services
from tests.factories import SubscriptionFactory, UserFactory, ride_in_progress
from tests.payment_lists.lists import csv_file, good_rows
from tests.ses_on_aws import ses_on_aws

pytestmark = pytest.mark.django_db


@pytest.fixture
def ses(settings, monkeypatch):
    with ses_on_aws(settings, monkeypatch) as sent:
        yield sent


def test_the_receipt_reaches_a_rider_whose_domain_is_in_another_script(
    ses, django_capture_on_commit_callbacks
):
    rider = UserFactory(email="anna@bücher.example")
    ride = ride_in_progress(rider=rider)

    with django_capture_on_commit_callbacks(execute=True):
        services.complete_ride(ride=ride, by=rider)

    [(destinations, message)] = ses()
    assert set(destinations) == {"anna@xn--bcher-kva.example"}
    assert message["Subject"] == f"Your Wild Rydes receipt {ride.reference}"


def test_the_imported_list_mail_reaches_a_clerk_whose_domain_is_in_another_script(
    ses, settings, django_capture_on_commit_callbacks
):
    settings.PAYMENT_LIST_RUNNER = "inline"
    organization = SubscriptionFactory(
        plan="business", max_rows_per_list=1000, max_total_minor_per_list=10_000_000
    ).organization

    with django_capture_on_commit_callbacks(execute=True):
        payment_list = list_services.submit_payment_list(
            organization=organization,
            uploaded_file=csv_file(good_rows(3)),
            submitted_by="jo@例子.测试",
            submitter_email="jo@例子.测试",
        )

    [(destinations, message)] = ses()
    assert set(destinations) == {"jo@xn--fsqu00a.xn--0zwm56d"}
    assert message["Subject"] == f"Payment list #{payment_list.pk} imported"
