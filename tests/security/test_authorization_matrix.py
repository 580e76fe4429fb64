"""Who may do what: every API endpoint and method x every kind of caller, and a few admin
pages per app, each with the status it must answer.

The endpoints are read from the URL conf: an endpoint (or a method) without a row here
fails `test_every_api_endpoint_has_a_row`, so nothing new ships without deciding who may
call it. Each cell runs on objects made for it (a fresh ride to cancel, a fresh payment to
delete), so one caller's success cannot hide another's refusal.

Callers: anonymous; rider A, who owns the ride, the payment and the notification in the
paths; rider B, another rider; an operator (staff, Operators group); finance (staff,
Finance group, member of the organization); a service key of that organization
(`Authorization: Api-Key`).
"""

import copy
import io
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.models import Notification
from organizations.models import Organization
from payment_lists.models import PaymentList
from payments.models import Subscription
from rides.models import ACTIVE_STATUSES, Ride
from tests import factories
from tests.conftest import client_for, rows_for_the_whole_module

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "rider_a", "rider_b", "operator", "finance", "service")
PICKUP = {"pickup": {"latitude": 47.6062, "longitude": -122.3321}}


@dataclass
class World:
    rider_a: object
    rider_b: object
    operator: object
    finance: object
    organization: Organization
    service_key: object

    def ride_of_a(self, make=factories.RideFactory) -> Ride:
        """A fresh active ride of A's (A's previous one, if any, has ended: one at a time)."""
        Ride.objects.filter(rider=self.rider_a, status__in=ACTIVE_STATUSES).update(
            status=Ride.Status.COMPLETED
        )
        return make(rider=self.rider_a)

    def arrived_ride_of_a(self) -> Ride:
        ride = self.ride_of_a()
        factories.arrive_now(ride)
        return ride

    def ride_in_progress_of_a(self) -> Ride:
        return self.ride_of_a(make=factories.ride_in_progress)

    def payment_of_a(self):
        """An organization's payment paid by rider A: A sees it, finance and the service
        key of the organization manage it."""
        return factories.PaymentFactory(payer=self.rider_a, organization=self.organization)

    def notification_of_a(self) -> Notification:
        return Notification.objects.create(user=self.rider_a, message="Your ride is paid.")

    def list_of_the_organization(self) -> PaymentList:
        payment_list = PaymentList.objects.create(
            organization=self.organization, submitted_by="finance", status="failed"
        )
        payment_list.error_report.save("errors.csv", io.BytesIO(b"row,column\n"), save=True)
        return payment_list


def unique_email() -> str:
    return f"new-{uuid.uuid4().hex[:10]}@example.com"


def csv_upload():
    from tests.payment_lists.lists import csv_file, good_rows

    return {"file": csv_file(good_rows(2))}


# (url name, method): (path from the world, body from the world or None, format,
#                      expected status for anonymous, rider A, rider B, operator, finance,
#                      service key)
MATRIX = {
    ("health", "GET"): (lambda w: "/api/health/", None, None, (200, 200, 200, 200, 200, 200)),
    ("schema", "GET"): (lambda w: "/api/schema/", None, None, (200, 200, 200, 200, 200, 200)),
    ("api-docs", "GET"): (lambda w: "/api/docs/", None, None, (200, 200, 200, 200, 200, 200)),
    # Sign-up and sign-in are open to anyone; a credential sent along changes nothing.
    ("auth-register", "POST"): (
        lambda w: "/api/auth/register/",
        lambda w: {"email": unique_email(), "password": "a-long-unusual-passphrase"},
        "json",
        (201, 201, 201, 201, 201, 201),
    ),
    ("auth-confirm", "POST"): (
        lambda w: "/api/auth/confirm/",
        lambda w: {"email": w.rider_a.email, "code": "000000"},
        "json",
        (400, 400, 400, 400, 400, 400),
    ),
    ("auth-resend-code", "POST"): (
        lambda w: "/api/auth/resend-code/",
        lambda w: {"email": w.rider_a.email},
        "json",
        (202, 202, 202, 202, 202, 202),
    ),
    ("auth-token", "POST"): (
        lambda w: "/api/auth/token/",
        lambda w: {"email": w.rider_a.email, "password": "not-the-password"},
        "json",
        (400, 400, 400, 400, 400, 400),
    ),
    ("auth-login", "POST"): (
        lambda w: "/api/auth/login/",
        lambda w: {"email": w.rider_a.email, "password": "not-the-password"},
        "json",
        (400, 400, 400, 400, 400, 400),
    ),
    ("auth-logout", "POST"): (
        lambda w: "/api/auth/logout/",
        None,
        "json",
        (200, 200, 200, 200, 200, 200),
    ),
    ("auth-me", "GET"): (lambda w: "/api/auth/me/", None, None, (401, 200, 200, 200, 200, 401)),
    # Account self-service: a person on their own account; wrong passwords change nothing.
    # Staff accounts are closed by an administrator, not through the API.
    ("auth-me", "DELETE"): (
        lambda w: "/api/auth/me/",
        lambda w: {"password": "not-the-password"},
        "json",
        (401, 400, 400, 403, 403, 401),
    ),
    ("auth-logout-everywhere", "POST"): (
        lambda w: "/api/auth/logout-everywhere/",
        None,
        "json",
        (401, 200, 200, 200, 200, 401),
    ),
    ("auth-password-change", "POST"): (
        lambda w: "/api/auth/password/change/",
        lambda w: {"current_password": "not-the-password", "new_password": "x" * 12},
        "json",
        (401, 400, 400, 400, 400, 401),
    ),
    ("auth-password-reset", "POST"): (
        lambda w: "/api/auth/password/reset/",
        lambda w: {"email": w.rider_a.email},
        "json",
        (202, 202, 202, 202, 202, 202),
    ),
    ("auth-password-reset-confirm", "POST"): (
        lambda w: "/api/auth/password/reset/confirm/",
        lambda w: {
            "email": w.rider_a.email,
            "code": "000000",
            "new_password": "a-long-unusual-passphrase",
        },
        "json",
        (400, 400, 400, 400, 400, 400),
    ),
    # Rides: any signed-in person may ride (staff too); a ride is its rider's, and
    # operators', business; services have no business with rides.
    ("ride-list", "GET"): (lambda w: "/api/rides/", None, None, (401, 200, 200, 200, 200, 401)),
    ("ride-list", "POST"): (
        lambda w: "/api/rides/",
        lambda w: PICKUP,
        "json",
        (401, 201, 201, 201, 201, 401),
    ),
    ("ride-estimate", "POST"): (
        lambda w: "/api/rides/estimate/",
        lambda w: PICKUP,
        "json",
        (401, 200, 200, 200, 200, 401),
    ),
    ("ride-detail", "GET"): (
        lambda w: f"/api/rides/{w.ride_of_a().id}/",
        None,
        None,
        (401, 200, 404, 200, 404, 401),
    ),
    ("ride-cancel", "POST"): (
        lambda w: f"/api/rides/{w.ride_of_a().id}/cancel/",
        None,
        "json",
        (401, 200, 404, 200, 404, 401),
    ),
    ("ride-complete", "POST"): (
        lambda w: f"/api/rides/{w.ride_in_progress_of_a().id}/complete/",
        None,
        "json",
        (401, 200, 404, 200, 404, 401),
    ),
    # Only the rider boards (an operator sees the ride but cannot board it).
    ("ride-board", "POST"): (
        lambda w: f"/api/rides/{w.arrived_ride_of_a().id}/board/",
        None,
        "json",
        (401, 200, 404, 403, 404, 401),
    ),
    ("ride-estimate", "GET"): (
        lambda w: "/api/rides/estimate/?pickup_latitude=47.6062&pickup_longitude=-122.3321",
        None,
        None,
        (401, 200, 200, 200, 200, 401),
    ),
    ("unicorn-nearby", "GET"): (
        lambda w: "/api/unicorns/nearby/?latitude=47.6062&longitude=-122.3321",
        None,
        None,
        (401, 200, 200, 200, 200, 401),
    ),
    # Releasing a ride's awards: the ride service's key only (promos:draw, tests/promos),
    # never staff, who would give a booked ride's discount back to the budget.
    ("promo-discount-release", "POST"): (
        lambda w: "/api/promos/discounts/release/",
        lambda w: {"ride_id": str(uuid.uuid4())},
        "json",
        (401, 403, 403, 403, 403, 403),
    ),
    # Discount draws: services with the promos:draw scope and staff, never riders (they
    # would pick their discount). The organization's key has payment scopes only.
    ("promo-discount-draw", "POST"): (
        lambda w: "/api/promos/discounts/",
        lambda w: {"username": w.rider_a.email, "latitude": 47.6, "longitude": -122.3},
        "json",
        (401, 403, 403, 201, 201, 403),
    ),
    # Payments: riders see their own; finance and the organization's service manage them.
    ("payment-list", "GET"): (
        lambda w: "/api/payments/",
        None,
        None,
        (401, 200, 200, 200, 200, 200),
    ),
    ("payment-list", "POST"): (
        lambda w: "/api/payments/",
        lambda w: {"amount": "9.99", "currency": "USD", "reference": uuid.uuid4().hex},
        "json",
        (401, 403, 403, 403, 201, 201),
    ),
    ("payment-detail", "GET"): (
        lambda w: f"/api/payments/{w.payment_of_a().id}/",
        None,
        None,
        (401, 200, 404, 404, 200, 200),
    ),
    ("payment-detail", "DELETE"): (
        lambda w: f"/api/payments/{w.payment_of_a().id}/",
        None,
        None,
        (401, 403, 403, 403, 204, 204),
    ),
    ("payment-verify", "POST"): (
        lambda w: f"/api/payments/{w.payment_of_a().id}/verify/",
        None,
        "json",
        (401, 403, 403, 403, 200, 200),
    ),
    # Payment lists: finance acting for the organization, and the organization's service.
    ("payment-list-list", "GET"): (
        lambda w: "/api/payment-lists/",
        None,
        None,
        (401, 403, 403, 403, 200, 200),
    ),
    ("payment-list-list", "POST"): (
        lambda w: "/api/payment-lists/",
        lambda w: csv_upload(),
        "multipart",
        (401, 403, 403, 403, 202, 202),
    ),
    ("payment-list-detail", "GET"): (
        lambda w: f"/api/payment-lists/{w.list_of_the_organization().pk}/",
        None,
        None,
        (401, 403, 403, 403, 200, 200),
    ),
    ("payment-list-error-report", "GET"): (
        lambda w: f"/api/payment-lists/{w.list_of_the_organization().pk}/error-report/",
        None,
        None,
        (401, 403, 403, 403, 200, 200),
    ),
    # Notifications: one's own only.
    ("notification-list", "GET"): (
        lambda w: "/api/notifications/",
        None,
        None,
        (401, 200, 200, 200, 200, 401),
    ),
    ("notification-read-all", "POST"): (
        lambda w: "/api/notifications/read-all/",
        None,
        "json",
        (401, 200, 200, 200, 200, 401),
    ),
    ("notification-read", "POST"): (
        lambda w: f"/api/notifications/{w.notification_of_a().pk}/read/",
        None,
        "json",
        (401, 200, 404, 404, 404, 401),
    ),
    # Anyone may apply to join the fleet.
    ("unicorn-application-create", "POST"): (
        lambda w: "/api/unicorn-applications/",
        lambda w: {
            "name": f"Sparkle {uuid.uuid4().hex[:6]}",
            "color": "silver",
            "gender": "female",
            "email": unique_email(),
        },
        "json",
        (201, 201, 201, 201, 201, 201),
    ),
}


def api_endpoints() -> set[tuple[str, str]]:
    """(url name, method) of every API route, from the URL conf."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern

    found = set()
    for route, pattern in walk(get_resolver().url_patterns):
        if not route.startswith("api/"):
            continue
        view = getattr(pattern.callback, "cls", None) or pattern.callback.view_class
        for method in view.http_method_names:
            if method not in ("options", "head", "trace") and hasattr(view, method):
                found.add((pattern.name, method.upper()))
    return found


def test_every_api_endpoint_has_a_row():
    endpoints = api_endpoints()
    missing = sorted(endpoints - set(MATRIX))
    assert not missing, f"endpoints without a row in the authorization matrix: {missing}"
    stale = sorted(set(MATRIX) - endpoints)
    assert not stale, f"rows for endpoints that no longer exist: {stale}"


@pytest.fixture(scope="module")
def _world_rows(django_db_setup, django_db_blocker) -> World:
    """The callers, the organization and the fleet, made once for the module's tests on a
    worker (tests/conftest.py rows_for_the_whole_module); the objects in the paths are
    still made for each cell."""
    with rows_for_the_whole_module(django_db_blocker):
        factories.UnicornFactory.create_batch(8)
        finance = factories.FinanceFactory()
        organization = factories.OrganizationFactory()
        organization.members.add(finance)
        Subscription.objects.create(
            organization=organization, plan="pro", starts_at=timezone.now() - timedelta(days=1),
            max_rows_per_list=100, max_total_minor_per_list=10**9,
        )  # fmt: skip
        yield World(
            rider_a=factories.UserFactory(),
            rider_b=factories.UserFactory(),
            operator=factories.OperatorFactory(),
            finance=finance,
            organization=organization,
            service_key=factories.ServiceKeyFactory(organization=organization),
        )


@pytest.fixture
def world(_world_rows, db, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PAYMENT_LIST_RUNNER = "inline"
    # Every caller asks for a code to rider A's address in one cell: more than the hourly
    # code e-mails one address gets (tests/accounts/test_code_emails_per_address_are_limited.py).
    settings.CONFIRMATION_CODE_MAILS_PER_HOUR = len(ROLES)
    return copy.deepcopy(_world_rows)


def client_as(role: str, world: World) -> APIClient:
    if role == "anonymous":
        return APIClient()
    if role == "service":
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {world.service_key.plain_key}")
        return client
    return client_for(getattr(world, role))


@pytest.mark.parametrize("endpoint", sorted(MATRIX), ids=lambda e: f"{e[1]} {e[0]}")
def test_each_caller_gets_the_expected_answer(world, endpoint):
    _name, method = endpoint
    path_of, body_of, body_format, expected = MATRIX[endpoint]
    got = []
    for role in ROLES:
        client = client_as(role, world)
        # Each caller from an address of its own, as in life: per-address limits apply.
        client.defaults["REMOTE_ADDR"] = f"198.51.100.{ROLES.index(role) + 1}"
        kwargs = {"format": body_format} if body_format else {}
        data = body_of(world) if body_of else None
        response = getattr(client, method.lower())(path_of(world), data, **kwargs)
        got.append(response.status_code)
    table = dict(zip(ROLES, zip(expected, got, strict=True), strict=True))
    wrong = {role: f"expected {e}, got {g}" for role, (e, g) in table.items() if e != g}
    assert not wrong, wrong


# --- the admin: a few pages per app, for each kind of caller ----------------------------------

# admin URL: expected status for anonymous, rider A, operator, finance (the service key has
# no session, so it is anonymous to the admin). 302 is the redirect to the admin sign-in
# for those who are not staff; the upload page sends staff without the permission back to
# the list, with a message, instead of showing the form.
ADMIN_PAGES = {
    "/admin/": (302, 302, 200, 200),
    "/admin/rides/unicorn/": (302, 302, 200, 403),
    "/admin/rides/ride/": (302, 302, 200, 403),
    "/admin/rides/unicornapplication/": (302, 302, 200, 403),
    "/admin/promos/campaign/": (302, 302, 200, 403),
    "/admin/promos/discountaward/": (302, 302, 200, 403),
    "/admin/payments/payment/": (302, 302, 403, 200),
    "/admin/payment_lists/paymentlist/": (302, 302, 403, 200),
    "/admin/payment_lists/paymentlist/upload/": (302, 302, 302, 200),
    "/admin/organizations/organization/": (302, 302, 403, 200),
    "/admin/accounts/servicekey/": (302, 302, 403, 200),
    "/admin/accounts/user/": (302, 302, 403, 403),
    "/admin/auth/group/": (302, 302, 403, 403),
    "/admin/events/deadletter/": (302, 302, 200, 200),
    "/admin/events/outboxevent/": (302, 302, 200, 200),
    "/admin/bi/dailyaggregate/": (302, 302, 200, 403),
    "/admin/notifications/notification/": (302, 302, 403, 403),
}


@pytest.mark.parametrize("path", sorted(ADMIN_PAGES))
def test_admin_pages_per_role(client, world, path):
    got = []
    for user in (None, world.rider_a, world.operator, world.finance):
        client.logout()
        if user is not None:
            client.force_login(user)
        response = client.get(path)
        if response.status_code == 302 and not (user and user.is_staff):
            assert "/admin/login/" in response["Location"]
        got.append(response.status_code)
    assert tuple(got) == ADMIN_PAGES[path], dict(
        zip(("anonymous", "rider_a", "operator", "finance"), got, strict=True)
    )


def test_a_forged_or_revoked_service_key_is_refused(world):
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Api-Key AbCdEfGh.not-a-real-key")
    assert forged.get("/api/payments/").status_code == 401
    world.service_key.revoked = True
    world.service_key.save()
    revoked = client_as("service", world)
    assert revoked.get("/api/payments/").status_code in (401, 403)
    assert revoked.post("/api/promos/discounts/", {}, format="json").status_code in (401, 403)
