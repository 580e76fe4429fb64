"""The payment-list pages of the admin: walls between organizations, and an operator's page
in plain words (what it is doing, how far, what went wrong), with no made-up progress."""

import pytest
from django.core.files.base import ContentFile

from payment_lists import selectors
from payment_lists.models import PaymentList
from tests.admin.conftest import messages_of, signed_in
from tests.factories import FinanceFactory

pytestmark = pytest.mark.django_db

ADMIN = "/admin/payment_lists/paymentlist/"
DEVELOPER_WORDS = [
    b"RegisterList",
    b"ValidateList",
    b"VerifySubscription",
    b"ImportList",
    b"CompensateError",
    b"Total minor",
    b"total_minor",
    b"IntegrityError",
]


def failed_list(organization, **fields) -> PaymentList:
    payment_list = PaymentList.objects.create(
        organization=organization, original_name="march.csv", submitted_by="finance",
        status="failed", failed_step="ValidateList", rows_total=3, rows_validated=3,
        errors_count=1, failure_reason="1 problem(s) in the file; nothing was imported. "
        "See the error report.", first_errors=[[3, "amount", "abc", "not a number"]], **fields,
    )  # fmt: skip
    payment_list.error_report.save("errors.csv", ContentFile(b"row,column\n"), save=True)
    return payment_list


@pytest.fixture
def member(mine):
    return signed_in(FinanceFactory(organizations=[mine]))


def test_finance_sees_and_acts_on_its_own_organizations_lists_only(
    member, mine, theirs, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    own, other = failed_list(mine), failed_list(theirs)

    page = member.get(ADMIN)
    assert page.status_code == 200
    shown = {pl.pk for pl in page.context["cl"].result_list}
    assert shown == {own.pk}
    assert b"Theirs Ltd" not in page.content

    for path in ("change/", "error-report/", "progress/"):
        assert member.get(f"{ADMIN}{own.pk}/{path}").status_code == 200, path
        answer = member.get(f"{ADMIN}{other.pk}/{path}")
        assert answer.status_code in (302, 404), path
        assert b"Theirs Ltd" not in answer.content

    response = member.post(
        ADMIN, {"action": "rerun_failed_lists", "_selected_action": [other.pk]}, follow=True
    )
    assert not any("restarted" in message for message in messages_of(response))
    other.refresh_from_db()
    assert other.status == "failed"

    upload = member.get(f"{ADMIN}upload/")
    choices = list(upload.context["form"].fields["organization"].queryset)
    assert choices == [mine]


def test_a_superuser_sees_every_organizations_lists(
    superuser_client, mine, theirs, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    lists = {failed_list(mine).pk, failed_list(theirs).pk}
    page = superuser_client.get(ADMIN)
    assert {pl.pk for pl in page.context["cl"].result_list} == lists


def test_a_failed_list_is_shown_as_failed_with_the_step_and_reason_in_plain_words(
    member, mine, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    payment_list = failed_list(mine, totals={"EUR": 250, "USD": 1125})
    page = member.get(f"{ADMIN}{payment_list.pk}/change/")
    text = page.content
    assert b"Failed while checking the rows: 1 problem(s) in the file" in text
    assert b"checking the rows" in text
    assert "€2.50, $11.25".encode() in text  # each currency apart, never one sum
    for word in DEVELOPER_WORDS:
        assert word not in text, word
    assert b"<progress" not in text  # a failed list has no bar to fill


def test_a_list_being_checked_shows_an_unknown_total_as_unknown(member, mine):
    running = PaymentList.objects.create(
        organization=mine, original_name="big.csv", submitted_by="finance",
        status="validating", current_step="ValidateList", rows_validated=50_000,
    )  # fmt: skip
    page = member.get(f"{ADMIN}{running.pk}/change/")
    text = page.content.decode()
    assert "50,000 read so far; the total is known once the whole file has been read" in text
    assert "not known yet" in text
    assert '<progress aria-label="' in text and "<progress value=" not in text  # indeterminate
    for word in DEVELOPER_WORDS:
        assert word.decode() not in text, word

    progress = member.get(f"{ADMIN}{running.pk}/progress/").json()
    assert (progress["done"], progress["total"], progress["finished"]) == (50_000, None, False)
    assert progress["step"] == "checking the rows"

    listing = member.get(ADMIN).content.decode()
    assert "50,000 read so far" in listing


@pytest.mark.parametrize(
    "reason",
    [
        "1 problem(s) in the file; nothing was imported. See the error report.",
        "The file never arrived in storage; nothing was imported. Upload it again.",
        "This file was already submitted as list #27.",
    ],
)
def test_a_failed_lists_sentence_says_nothing_was_imported_once(member, mine, reason):
    payment_list = PaymentList.objects.create(
        organization=mine, original_name="march.csv", submitted_by="finance",
        status="failed", failed_step="ValidateList", failure_reason=reason,
    )  # fmt: skip
    sentence = selectors.progress_of(payment_list).description
    assert sentence.lower().count("nothing was imported") == 1, sentence
    assert sentence.startswith(f"Failed while checking the rows: {reason}")
    page = member.get(f"{ADMIN}{payment_list.pk}/progress/").json()
    assert page["description"].lower().count("nothing was imported") == 1
