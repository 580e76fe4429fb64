"""Organizations are walls in the admin too: every admin view and action x each role.

The views are read from the admin site itself (every registered ModelAdmin's get_urls() and
the site's own), so a view added later is in the matrix without anyone writing a row: a
custom view whose name is not classified below fails `test_every_admin_view_is_classified`.

Two organizations, A and B. Roles: a superuser, an operator (staff, Operators group),
finance of organization A, finance of organization B (staff, Finance group, member of only
that organization) and a rider (not staff). Every object in the paths belongs to
organization A where the model has an organization.

What must hold, whatever a page is:
- a rider gets no admin page at all (sent to the login page);
- a page is open exactly when the ModelAdmin's permission says so, and for an object of
  organization A never to finance of B (the API answers 404 for the same thing);
- organization A's payment data (reference, payer e-mail, list name, key name) appears on no
  page finance of B or an operator can open, the event and dead-letter pages included;
- an action on organization A's objects run by someone who may not changes nothing.
"""

import copy
import io
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver
from django.utils import timezone

from events.models import Delivery, OutboxEvent
from organizations.models import Organization
from payments.events import PAYMENT_REGISTERED, payment_data
from payments.models import Payment, Subscription
from tests import factories
from tests.admin import bulk
from tests.conftest import rows_for_the_whole_module

pytestmark = pytest.mark.django_db

ROLES = ("rider", "operator", "finance_b", "finance_a", "superuser")

# Organization A's secrets: none may show on a page finance of B or an operator opens.
REFERENCE = "WALL-A-REF-7731"
PAYER = "payer-a-7731@wall.example"
LIST_NAME = "wall-a-7731.csv"
KEY_NAME = "wall-a-key-7731"
ORG_A = "Wall Org A 7731"
SECRETS = {
    "operator": (REFERENCE, PAYER, LIST_NAME, KEY_NAME),
    "finance_b": (REFERENCE, PAYER, LIST_NAME, KEY_NAME, ORG_A),
}

# Custom views (beyond changelist/add/change/delete/history) and who may open them with
# organization A's object in the path. A new custom view must be added here.
CUSTOM_VIEWS = {
    "paymentlist_upload": ("finance_a", "finance_b", "superuser"),
    "paymentlist_error_report": ("finance_a", "superuser"),
    "paymentlist_progress": ("finance_a", "superuser"),
    "bi_dashboard": ("operator", "superuser"),
    "bi_dashboard_live": ("operator", "superuser"),
    "auth_user_password_change": ("superuser",),
}
# The site's own views: (path, roles that get a 200).
STAFF = ("operator", "finance_b", "finance_a", "superuser")
SITE_VIEWS = {
    "index": ("", STAFF),
    "password_change": ("password_change/", STAFF),
    "password_change_done": ("password_change/done/", STAFF),
    "jsi18n": ("jsi18n/", STAFF),
    "login": ("login/", None),  # open to all; staff are sent on to the index
    "logout": ("logout/", None),  # POST only
    "autocomplete": ("autocomplete/", None),  # proven below with organization A's name
    "view_on_site": ("r/1/1/", None),  # no model here has get_absolute_url
    "app_list": (None, STAFF),  # one per app, checked through the index's links
}


@dataclass
class World:
    users: dict
    org_a: Organization
    objects: dict  # model label -> an object (organization A's where it has one)
    sessions: dict | None = None  # role -> session key (the `world` fixture)


def _list_model():
    for model in apps.get_models():
        if model.__name__ == "PaymentList":
            return model
    raise LookupError("PaymentList")


def build_world() -> World:
    org_a = Organization.objects.create(name=ORG_A)
    org_b = Organization.objects.create(name="Wall Org B")
    finance_a, finance_b = factories.FinanceFactory(), factories.FinanceFactory()
    org_a.members.add(finance_a)
    org_b.members.add(finance_b)
    from accounts.models import User

    users = {
        "rider": factories.UserFactory(),
        "operator": factories.OperatorFactory(),
        "finance_a": finance_a,
        "finance_b": finance_b,
        "superuser": User.objects.create_superuser("root-wall@example.com", "x-wall-pass-7731"),
    }
    ride = factories.RideFactory(rider=users["rider"])
    payment = factories.PaymentFactory(
        organization=org_a, reference=REFERENCE, payer_email=PAYER, payer=users["rider"]
    )
    event = OutboxEvent.objects.create(
        type=PAYMENT_REGISTERED, occurred_at=timezone.now(), data=payment_data(payment)
    )
    dead = Delivery.objects.create(
        event=event, subscriber="bi", status=Delivery.Status.DEAD, attempts=5,
        last_error="RuntimeError: boom",
    )  # fmt: skip
    PaymentList = _list_model()
    payment_list = PaymentList.objects.create(
        organization=org_a, submitted_by="finance", status="failed", original_name=LIST_NAME
    )
    payment_list.error_report.save("errors.csv", io.BytesIO(b"row,column\n"), save=True)
    subscription = Subscription.objects.create(
        organization=org_a, plan="wall", starts_at=timezone.now(), max_rows_per_list=10,
        max_total_minor_per_list=10**6,
    )  # fmt: skip
    key = factories.ServiceKeyFactory(name=KEY_NAME, organization=org_a)
    from rest_framework.authtoken.models import Token

    Token.objects.get_or_create(user=users["rider"])
    objects = {
        "payments.payment": payment,
        "organizations.organization": org_a,
        "payments.subscription": subscription,
        PaymentList._meta.label_lower: payment_list,
        "accounts.servicekey": key,
        "events.outboxevent": event,
        "events.deadletter": dead,
        "rides.ride": ride,
        "rides.unicorn": ride.unicorn,
        "accounts.user": users["rider"],
        "auth.group": Group.objects.get(name="Finance"),
    }
    for model in admin.site._registry:
        label = model._meta.label_lower
        if label not in objects:
            objects[label] = model._default_manager.first() or _make(model)
    return World(users=users, org_a=org_a, objects=objects)


def _make(model):
    """One object of a model the world does not make by hand."""
    from bi.models import CampaignDailySpend, DailyAggregate
    from notifications.models import Notification
    from promos.models import DiscountAward
    from rides.models import UnicornApplication

    today = timezone.localdate()
    makers = {
        UnicornApplication: lambda: UnicornApplication.objects.create(
            name="Applicant", color="white", gender="female", email="apply@example.com"
        ),
        DiscountAward: lambda: bulk.awards(1)[0],
        DailyAggregate: lambda: DailyAggregate.objects.create(day=today),
        CampaignDailySpend: lambda: CampaignDailySpend.objects.create(day=today, campaign="c"),
        Notification: lambda: Notification.objects.create(
            user=factories.UserFactory(), message="Hello."
        ),
    }
    maker = makers.get(model)
    if maker is None:
        factory = getattr(factories, f"{model.__name__}Factory", None)
        assert factory, f"say how to make a {model._meta.label} for the matrix"
        return factory()
    return maker()


# --- The views, from the admin site -------------------------------------------------------


@dataclass(frozen=True)
class View:
    name: str
    route: str
    model_label: str | None  # None: the site's own view
    kind: str  # changelist, add, change, delete, history, custom, site


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name


def admin_views() -> list[View]:
    views = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        base = f"{model._meta.app_label}/{model._meta.model_name}/"
        for route, name in _walk(model_admin.get_urls()):
            if name is None:
                continue  # the old-style "<id>/" redirect to the change page
            kind = next(
                (k for k in ("changelist", "add", "change", "delete", "history")
                 if name.endswith(f"_{model._meta.model_name}_{k}")),
                "custom",
            )  # fmt: skip
            views.append(View(name, base + route, label, kind))
    site_routes = {name for _, name in _walk(admin.site.get_urls())}
    model_names = {view.name for view in views}
    for name in sorted(filter(None, site_routes - model_names)):
        views.append(View(name, "", None, "site"))
    return views


VIEWS = admin_views()


def _custom_key(view: View) -> str | None:
    return next((key for key in CUSTOM_VIEWS if view.name.endswith(key)), None)


def test_every_admin_view_is_classified():
    unknown = [
        view.name
        for view in VIEWS
        if (view.kind == "custom" and _custom_key(view) is None)
        or (view.kind == "site" and view.name not in SITE_VIEWS)
    ]
    assert not unknown, f"classify these admin views in the matrix: {unknown}"


# --- Who may: the ModelAdmin's permission and the organization's wall ----------------------


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _permitted(world: World, role: str, view: View) -> bool:
    if role == "rider":
        return False
    if view.kind == "custom":
        return role in CUSTOM_VIEWS[_custom_key(view)]
    model = apps.get_model(view.model_label)
    model_admin = admin.site._registry[model]
    request = _request(world.users[role])
    obj = world.objects[view.model_label]
    if not model_admin.has_module_permission(request):
        return False
    if view.kind == "changelist":
        return model_admin.has_view_or_change_permission(request)
    if view.kind == "add":
        return model_admin.has_add_permission(request)
    behind_wall = role == "finance_b" and _belongs_to_a(world, obj)
    if behind_wall:
        return False
    if view.kind in ("change", "history"):
        return model_admin.has_view_or_change_permission(request, obj)
    if view.kind == "delete":
        return model_admin.has_delete_permission(request, obj)
    raise AssertionError(view)


def _belongs_to_a(world: World, obj) -> bool:
    if isinstance(obj, Organization):
        return obj == world.org_a
    return getattr(obj, "organization_id", None) == world.org_a.pk


def view_path(world: World, view: View) -> str:
    obj = world.objects.get(view.model_label)
    route = re.sub(r"<(?:\w+:)?(object_id|list_id|id)>", str(getattr(obj, "pk", "")), view.route)
    return "/admin/" + route


@pytest.fixture(scope="module")
def _world_and_sessions(django_db_setup, django_db_blocker):
    """build_world() and each role signed in, once for the module's tests on a worker
    (tests/conftest.py rows_for_the_whole_module): every test starts from these rows."""
    with rows_for_the_whole_module(django_db_blocker):
        world = build_world()
        sessions = {}
        for role in ROLES:
            client = Client()
            client.force_login(world.users[role])
            sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
        yield world, sessions


@pytest.fixture
def world(_world_and_sessions, db):
    world, sessions = _world_and_sessions
    world = copy.deepcopy(world)
    world.sessions = sessions
    # The ride's clock runs (its unicorn arrives 60 s after the request, and a page that
    # reads it then records the arrival): each test gets it as just requested, as when
    # every test made its own world.
    ride = world.objects["rides.ride"]
    now = timezone.now()
    type(ride).objects.filter(pk=ride.pk).update(
        requested_at=now, arrives_at=now + timedelta(seconds=60)
    )
    ride.refresh_from_db()
    return world


def _client(world: World, role: str) -> Client:
    """A client signed in as `role` (its session, made once with the world)."""
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


def _body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _assert_no_secrets(role: str, path: str, body: str) -> None:
    for secret in SECRETS.get(role, ()):
        assert secret not in body, f"{role} reads {secret!r} on {path}"


MODEL_VIEWS = [view for view in VIEWS if view.kind != "site"]


@pytest.mark.parametrize("view", MODEL_VIEWS, ids=[view.name for view in MODEL_VIEWS])
def test_each_admin_view_is_open_exactly_to_who_may_and_never_across_the_wall(view, world):
    path = view_path(world, view)
    for role in ROLES:
        response = _client(world, role).get(path)
        body = _body(response)
        if role == "rider":
            assert response.status_code == 302 and "/admin/login/" in response["Location"]
            continue
        if _permitted(world, role, view):
            assert response.status_code == 200, (role, path, response.status_code)
        else:
            assert response.status_code in (302, 403, 404), (role, path, response.status_code)
            if response.status_code == 302:
                assert response["Location"].split("?")[0] != path
        _assert_no_secrets(role, path, body)


def test_finance_of_a_sees_its_own_secrets_where_b_sees_none(world):
    """The secrets checks above can fail: the same pages show them to finance of A."""
    client = _client(world, "finance_a")
    seen = "".join(
        _body(client.get(view_path(world, view)))
        for view in MODEL_VIEWS
        if view.kind == "changelist"
    )
    for secret in (REFERENCE, PAYER, KEY_NAME, ORG_A):
        assert secret in seen


@pytest.mark.parametrize("role", ROLES)
def test_the_sites_own_views(role, world):
    client = _client(world, role)
    for name, (route, open_to) in SITE_VIEWS.items():
        if route is None or open_to is None:
            continue
        response = client.get("/admin/" + route)
        expected_open = role in open_to
        assert (response.status_code == 200) == expected_open, (role, name, response.status_code)
        _assert_no_secrets(role, route, _body(response))
    # Each app's index page: open when the role sees one of its models.
    index = _body(client.get("/admin/"))
    for app_label in {model._meta.app_label for model in admin.site._registry}:
        response = client.get(f"/admin/{app_label}/")
        shown = f'href="/admin/{app_label}/"' in index
        assert (response.status_code == 200) == shown, (role, app_label, response.status_code)
        _assert_no_secrets(role, app_label, _body(response))


@pytest.mark.parametrize("role", ["finance_b", "operator"])
def test_the_organization_picker_offers_no_organization_behind_the_wall(role, world):
    """The autocomplete behind every organization field (subscriptions, service keys)."""
    client = _client(world, role)
    for model in ("payments.subscription", "accounts.servicekey"):
        app_label, model_name = model.split(".")
        response = client.get(
            "/admin/autocomplete/",
            {"term": "Wall", "app_label": app_label, "model_name": model_name,
             "field_name": "organization"},
        )  # fmt: skip
        assert ORG_A not in _body(response)


# --- Actions ------------------------------------------------------------------------------


def _actions():
    for model, model_admin in admin.site._registry.items():
        names = set(model_admin.actions or ()) | {"delete_selected"}
        for name in sorted(names):
            yield pytest.param(model._meta.label_lower, name, id=f"{model._meta.label}.{name}")


def _snapshot(obj):
    model = type(obj)
    row = model._default_manager.filter(pk=obj.pk).values().first()
    return row


@pytest.mark.parametrize(("label", "action"), list(_actions()))
def test_each_admin_action_changes_nothing_for_who_may_not(label, action, world):
    obj = world.objects[label]
    model = apps.get_model(label)
    model_admin = admin.site._registry[model]
    path = view_path(world, View("", f"{model._meta.app_label}/{model._meta.model_name}/", label,
                             "changelist"))  # fmt: skip
    for role in ROLES:
        request = _request(world.users[role])
        may = (
            role != "rider"
            and action in model_admin.get_actions(request)
            and not (role == "finance_b" and _belongs_to_a(world, obj))
        )
        if may:
            continue  # proven by each app's own admin tests; here: the refusals
        client = _client(world, role)  # signing in sets last_login: before the snapshot
        before = _snapshot(obj)
        response = client.post(
            path, {"action": action, "_selected_action": [obj.pk], "post": "yes"}
        )
        assert response.status_code in (200, 302, 403), (role, action, response.status_code)
        assert _snapshot(obj) == before, f"{role} changed {label} with {action}"
        _assert_no_secrets(role, path, _body(response))


def test_finance_of_b_cannot_verify_or_delete_a_payment_of_a_in_the_admin_or_the_api(world):
    from tests.conftest import client_for

    payment = world.objects["payments.payment"]
    finance_b = world.users["finance_b"]
    for action in ("verify_selected", "delete_selected_payments"):
        _client(world, "finance_b").post(
            "/admin/payments/payment/",
            {"action": action, "_selected_action": [payment.pk], "post": "yes"},
        )
    api = client_for(finance_b)
    assert api.get(f"/api/payments/{payment.pk}/").status_code == 404
    assert api.post(f"/api/payments/{payment.pk}/verify/").status_code == 404
    assert api.delete(f"/api/payments/{payment.pk}/").status_code == 404
    assert REFERENCE not in api.get("/api/payments/").content.decode()
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REGISTERED
    # Finance of A sees it.
    finance_a = client_for(world.users["finance_a"])
    assert finance_a.get(f"/api/payments/{payment.pk}/").status_code == 200


def test_finance_of_b_cannot_mint_a_key_for_a_nor_join_a(world):
    from accounts.models import ServiceKey

    client = _client(world, "finance_b")
    client.post(
        "/admin/accounts/servicekey/add/",
        {"name": "stolen", "service": "x", "organization": world.org_a.pk},
    )
    assert not ServiceKey.objects.filter(name="stolen").exists()
    client.post(
        f"/admin/organizations/organization/{world.org_a.pk}/change/",
        {"name": ORG_A, "members": [world.users["finance_b"].pk]},
    )
    assert not world.org_a.members.filter(pk=world.users["finance_b"].pk).exists()


def test_finance_may_not_mint_a_key_of_no_organization(world):
    from accounts.models import ServiceKey

    response = _client(world, "finance_a").post(
        "/admin/accounts/servicekey/add/", {"name": "everything", "service": "x"}
    )
    assert response.status_code == 200  # the form again, with its error
    assert not ServiceKey.objects.filter(name="everything").exists()


def test_operators_read_event_pages_without_the_payment_payload(world):
    event, dead = world.objects["events.outboxevent"], world.objects["events.deadletter"]
    for role, shown in (("operator", False), ("finance_b", False), ("finance_a", True)):
        client = _client(world, role)
        for path in (
            f"/admin/events/outboxevent/{event.pk}/change/",
            f"/admin/events/deadletter/{dead.pk}/change/",
        ):
            body = _body(client.get(path))
            assert (REFERENCE in body) == shown, (role, path)
            if not shown:
                assert "hidden: payment data" in body


def test_a_payment_finance_of_a_registers_is_as_for_a_and_hidden_from_b(world):
    from tests.conftest import client_for

    body = {"amount": "3.00", "currency": "USD", "reference": "WALL-A-NEW-1"}
    created = client_for(world.users["finance_a"]).post("/api/payments/", body)
    assert created.status_code == 201
    assert Payment.objects.get(reference="WALL-A-NEW-1").organization == world.org_a
    finance_b = client_for(world.users["finance_b"])
    assert finance_b.get(f"/api/payments/{created.json()['id']}/").status_code == 404
    assert "WALL-A-NEW-1" not in _body(_client(world, "finance_b").get("/admin/payments/payment/"))
