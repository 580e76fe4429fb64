"""The rider's other pages when API Gateway answers instead of the API (see
test_network_ride.py): the sign-in form, the history and the notifications. A sentence a
person understands, never the gateway's words nor "Please check the highlighted fields." on a
page without fields, and a way to try again without reloading."""

import json
import re

from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from notifications.models import Notification
from rides.models import Ride
from tests.browser.support import BROWSER, DESKTOP, PHONE, SCREENSHOTS_WANTED, screenshot
from tests.browser.test_network_ride import (
    GATEWAY,
    NO_ANSWER,
    REFUSED,
    SERVER_PROBLEM,
    TOO_BUSY,
    assert_said_plainly,
)
from tests.factories import PASSWORD, RideFactory, UserFactory

pytestmark = BROWSER


def answer_first(page, pattern, statuses, method="GET"):
    """The first requests matching `pattern` (and `method`) get the gateway's answers, one
    status each (None: that one reaches the server); the others reach the server. Returns
    the list of requests seen."""
    seen = []
    plan = list(statuses)

    def handle(route):
        if route.request.method != method:
            return route.continue_()
        seen.append(route.request.url)
        status = plan.pop(0) if plan else None
        if status is None:
            return route.continue_()
        route.fulfill(
            status=status, content_type="application/json", body=json.dumps(GATEWAY[status])
        )

    page.route(pattern, handle)
    return seen


def screenshots(page, name):
    if not SCREENSHOTS_WANTED:
        return
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        screenshot(page, f"{name}-{size}")


def test_the_sign_in_form_says_the_gateways_answers_plainly_and_signs_in_once(page):
    rider = UserFactory()
    page.goto("/signin/")
    page.get_by_label("E-mail").fill(rider.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    status = page.locator("[data-form-status]")
    button = page.get_by_role("button", name="Sign in")
    posts = answer_first(page, re.compile(r"/api/"), [429, 403, 502, 504], method="POST")

    for sentence in (TOO_BUSY, REFUSED, SERVER_PROBLEM, SERVER_PROBLEM):
        button.click()
        expect(status).to_have_text(sentence)
        expect(button).to_be_enabled()
        expect(page.locator("[aria-invalid]")).to_have_count(0)  # no field is to blame
        assert_said_plainly(page)
        if sentence == TOO_BUSY:
            screenshots(page, "network-sign-in-throttled")
    expect(page).to_have_url(re.compile(r"/signin/"))

    # Enter twice in a row: one request, and the rider is in. Both keys go to the focused
    # field at once (a locator's press waits for the field, which a quick answer has
    # already taken away with the page: the test timed out under load).
    page.get_by_label("Password", exact=True).focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/ride/$"))
    assert len(posts) == 5, posts


def test_history_and_notifications_say_the_gateways_answers_and_can_try_again(page, sign_in):
    rider = UserFactory()
    RideFactory.create_batch(21, rider=rider, status=Ride.Status.CANCELLED)
    Notification.objects.create(user=rider, message="Your unicorn is on the way.")
    sign_in(page, rider)
    rides = page.locator("[data-rides-body] tr")
    retry = page.get_by_role("button", name="Try again")

    # Throttled on the first page, then on the older rides: said, and "Try again" gets them.
    answer_first(page, re.compile(r"/api/rides/"), [429, None, 502])
    page.goto("/history/")
    status = page.locator("[data-history-status]")
    expect(status).to_have_text(TOO_BUSY)
    assert_said_plainly(page)
    screenshots(page, "network-history-throttled")
    retry.click()
    expect(rides).to_have_count(20)
    expect(status).to_have_text("21 rides so far.")
    page.get_by_role("button", name="Show older rides").click()
    # Said where the rider is, at the foot of the list beside one way on ("Try again", not
    # "Show older rides" beside it: both ask for the same rides), which has the focus. The
    # top still counts the rides (it said the failure, 20 rides and a screen or more away).
    older = page.locator("[data-more-status]")
    expect(older).to_have_text(SERVER_PROBLEM)
    expect(status).to_have_text("21 rides so far.")
    expect(page.get_by_role("button", name="Show older rides")).to_be_hidden()
    expect(retry).to_be_focused()
    expect(older).to_be_in_viewport()
    screenshots(page, "network-history-older-failed")
    retry.click()
    expect(rides).to_have_count(21)
    expect(retry).to_be_hidden()
    expect(older).to_be_empty()

    # Notifications: the gateway refuses the first load. Said, and "Try again" brings them
    # (there was nothing to press but the browser's reload).
    # (The header's unread count asks too: both refused.)
    answer_first(page, re.compile(r"/api/notifications/(\?.*)?$"), [403, 403])
    page.goto("/notifications/")
    status = page.locator("[data-notifications-status]")
    expect(status).to_have_text(REFUSED)
    assert_said_plainly(page)
    expect(retry).to_be_visible()
    screenshots(page, "network-notifications-refused")
    retry.click()
    expect(page.locator(".notification")).to_contain_text("Your unicorn is on the way.")
    expect(retry).to_be_hidden()
    expect(status).to_be_empty()

    # Marking it read, throttled: said on the page, the button still there to press again.
    answer_first(page, re.compile(r"/read/$"), [429], method="POST")
    page.get_by_role("button", name="Mark as read").click()
    expect(status).to_have_text(TOO_BUSY)
    page.get_by_role("button", name="Mark as read").click()
    expect(status).to_have_text("Marked as read.")
    assert Notification.objects.get().read_at <= timezone.now()


def lose_the_first_answer(page, pattern):
    """The first request (not a GET) matching `pattern` reaches the server, which does its
    work; its answer is lost (the connection drops). The others go as they are."""
    sent = []

    def handle(route):
        if route.request.method == "GET":
            return route.continue_()
        sent.append(1)
        if len(sent) == 1:
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(pattern, handle)


def test_a_code_whose_first_try_lost_its_answer_is_not_called_wrong(page, mailoutbox):
    """The first try signs up (confirms, sets the password) and uses the address (the code)
    up, its answer lost: the retry was told "An account with this e-mail already exists"
    (or "That code is not right. 4 tries left." on the code field, while a new code never comes
    for a confirmed account). Now on to what comes next, or said as what most likely
    happened, with the way on."""
    lose_the_first_answer(page, re.compile(r"/api/auth/register/$"))
    page.goto("/register/")
    page.get_by_label("E-mail").fill("dora@example.com")
    page.get_by_label("Password").fill("glitter-and-hooves-77")
    status = page.locator("[data-form-status]")
    page.get_by_role("button", name="Create account").click()
    expect(status).to_have_text(NO_ANSWER)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/verify/\?email=dora%40example\.com$"))
    expect(page.get_by_label("E-mail")).to_have_value("dora@example.com")
    assert User.objects.filter(email="dora@example.com").count() == 1

    code = re.search(r"\b(\d{6})\b", mailoutbox[0].body).group(1)
    lose_the_first_answer(page, re.compile(r"/api/auth/confirm/$"))
    page.get_by_label("Confirmation code").fill(code)
    confirm = page.get_by_role("button", name="Confirm", exact=True)
    confirm.click()
    expect(status).to_have_text(NO_ANSWER)
    confirm.click()
    expect(status).to_have_text(
        "Your first try may have confirmed your e-mail before its answer was lost, which used"
        " up the code. Sign in to check."
    )
    expect(page.locator('[data-error-for="code"]')).to_be_empty()
    assert User.objects.get(email="dora@example.com").is_confirmed
    screenshots(page, "network-verify-first-try-lost")
    status.get_by_role("link", name="Sign in to check").click()
    expect(page).to_have_url(re.compile(r"/signin/\?email=dora%40example\.com$"))

    UserFactory(email="forgetful@example.com")
    page.goto("/reset-password/?email=forgetful@example.com")
    page.get_by_role("button", name="E-mail me a code").click()
    expect(page.locator("[data-reset-request-form] [data-form-status]")).not_to_be_empty()
    code = re.search(r"reset code is (\d{6})", mailoutbox[-1].body).group(1)
    lose_the_first_answer(page, re.compile(r"/api/auth/password/reset/confirm/$"))
    form = page.locator("[data-reset-confirm-form]")
    status = form.locator("[data-form-status]")
    form.get_by_label("Reset code").fill(code)
    form.get_by_label("New password").fill("moonlit-meadow-canter-31")
    form.get_by_role("button", name="Set the new password").click()
    expect(status).to_have_text(NO_ANSWER)
    form.get_by_role("button", name="Set the new password").click()
    expect(status).to_have_text(
        "Your first try may have set your new password before its answer was lost, which used"
        " up the code. Sign in with it to check."
    )
    expect(form.locator('[data-error-for="code"]')).to_be_empty()
    answer = Client().post(
        "/api/auth/token/",
        {"email": "forgetful@example.com", "password": "moonlit-meadow-canter-31"},
        content_type="application/json",
    )
    assert answer.status_code == 200


def test_the_account_page_says_what_a_first_try_whose_answer_was_lost_did(new_page, sign_in):
    """Changing the password, then closing the account, each first try done and its answer
    lost: the retry was refused ("That is not your current password." / "Your session has
    ended"), which reads as if nothing had happened."""
    rider = UserFactory()
    page = new_page(PHONE)
    sign_in(page, rider)
    page.goto("/account/")
    change = page.locator("[data-password-change-form]")
    status = change.locator("[data-form-status]")
    lose_the_first_answer(page, re.compile(r"/api/auth/password/change/$"))
    change.get_by_label("Current password").fill(PASSWORD)
    change.get_by_label("New password").fill("moonlit-meadow-canter-31")
    change.get_by_role("button", name="Change password").click()
    expect(status).to_have_text(NO_ANSWER)
    change.get_by_role("button", name="Change password").click()
    expect(status).to_have_text(
        "Your first try most likely changed your password before its answer was lost: use the"
        " new one from now on."
    )
    expect(change.locator('[data-error-for="current_password"]')).to_be_empty()
    screenshots(page, "network-account-password-first-try-lost")
    # Only the retry right after a lost answer is read so: a later mistyped password is not.
    change.get_by_label("Current password").fill("not-my-password")
    change.get_by_label("New password").fill("another-meadow-canter-32")
    change.get_by_role("button", name="Change password").click()
    expect(change.locator('[data-error-for="current_password"]')).to_have_text(
        "That is not your current password."
    )

    close = page.locator("[data-delete-account-form]")
    status = close.locator("[data-form-status]")
    lose_the_first_answer(page, re.compile(r"/api/auth/me/$"))
    close.get_by_label("Your password, to confirm").fill("moonlit-meadow-canter-31")
    close.get_by_role("button", name="Close my account").click()
    expect(status).to_have_text(NO_ANSWER)
    close.get_by_role("button", name="Close my account").click()
    expect(status).to_have_text(
        "Your first try most likely closed your account before its answer was lost. Thank you"
        " for riding with Wild Rydes. Sign in"
    )
    expect(close.get_by_role("button", name="Close my account")).to_be_disabled()
    rider.refresh_from_db()
    assert not rider.is_active
    screenshots(page, "network-account-closed-first-try-lost")
