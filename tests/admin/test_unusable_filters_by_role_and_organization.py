"""A change list asked for a filter value it cannot use shows "everything" (core.admin.
ProjectAdmin.changelist_view): everything THIS person may see, on every registered change
list, for every role, with rows of two organizations.

The world is the permission matrix's (tests/admin/test_permission_matrix.py: organization
A's payment, list, subscription and key, a rider, an operator, finance of A, finance of B, a
superuser), with organization B's own payment, list, subscription and key, a payment and a
key of no organization, and staff of no group (who may open no list). The lists come from
the admin site's registry, so a list added later is checked without anyone writing a row.

What must hold:
- the whole list after an unusable value is the list the person gets with no filter: for the
  lists behind the organization walls, exactly their organizations' rows (finance also sees
  the payments of no organization: payments.selectors.payments_managed_by); the warning says
  why; nobody reads another organization's references, payers, list or key names;
- a list the person may not open answers as it does without the filter (403 for staff, the
  sign-in page for a rider), never the list, and leaves no warning for their next page;
- `?e=1` with filters sends the person to the same list, whatever the values hold;
- hostile values (markup, very long, unicode, NUL) are written escaped, never a 500;
- an action posted from the whole list acts only on rows the person may act on.
"""

import copy
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.db import models, transaction
from django.test import Client, RequestFactory

from core.admin import FILTER_VALUE_NOT_USED
from organizations.models import Organization
from payments.models import Payment, Subscription
from tests import factories
from tests.admin.test_permission_matrix import (
    KEY_NAME,
    LIST_NAME,
    ORG_A,
    PAYER,
    REFERENCE,
    build_world,
)
from tests.conftest import rows_for_the_whole_module

pytestmark = pytest.mark.django_db

ROLES = ("rider", "staff", "operator", "finance_a", "finance_b", "superuser")
WARNING = FILTER_VALUE_NOT_USED.split(" (")[0]  # as the page writes it (quotes escaped)

ORG_B = "Wall Org B"
REFERENCE_B, PAYER_B = "WALL-B-REF-4410", "payer-b-4410@wall.example"
LIST_NAME_B, KEY_NAME_B = "wall-b-4410.csv", "wall-b-key-4410"
SECRETS_OF = {
    "a": (REFERENCE, PAYER, LIST_NAME, KEY_NAME, ORG_A),
    "b": (REFERENCE_B, PAYER_B, LIST_NAME_B, KEY_NAME_B, ORG_B),
}
UNSEEN = {  # whose rows each role must never read
    "operator": ("a", "b"),
    "staff": ("a", "b"),
    "finance_a": ("b",),
    "finance_b": ("a",),
}

# The lists behind the organization walls and how a row names its organization.
WALLED = {
    "payments.payment": "organization_id",
    "payment_lists.paymentlist": "organization_id",
    "payments.subscription": "organization_id",
    "accounts.servicekey": "organization_id",
    "organizations.organization": "pk",
}


@dataclass
class World:
    users: dict
    orgs: dict  # role -> the organization it acts for
    sessions: dict


def _org_b_rows(org_b, payer) -> None:
    Payment.objects.create(
        reference=REFERENCE_B, payer_email=PAYER_B, payer=payer, organization=org_b,
        amount_minor=990, currency="USD", registered_by="finance-b",
    )  # fmt: skip
    factories.PaymentFactory(organization=None, reference="WALL-NO-ORG-4410")
    PaymentList = apps.get_model("payment_lists", "PaymentList")
    PaymentList.objects.create(
        organization=org_b, submitted_by="finance", status="failed", original_name=LIST_NAME_B
    )
    Subscription.objects.create(
        organization=org_b, plan="wall-b", starts_at=org_b.created_at, max_rows_per_list=10,
        max_total_minor_per_list=10**6,
    )  # fmt: skip
    factories.ServiceKeyFactory(name=KEY_NAME_B, organization=org_b)
    factories.ServiceKeyFactory(name="promo service key 4410", organization=None)


@pytest.fixture(scope="module")
def _world(django_db_setup, django_db_blocker):
    with rows_for_the_whole_module(django_db_blocker):
        matrix = build_world()
        org_b = Organization.objects.get(name=ORG_B)
        _org_b_rows(org_b, matrix.users["rider"])
        users = {**matrix.users, "staff": factories.UserFactory(is_staff=True)}
        sessions = {}
        for role in ROLES:
            client = Client()
            client.force_login(users[role])
            sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
        orgs = {"finance_a": matrix.org_a.pk, "finance_b": org_b.pk}
        yield World(users=users, orgs=orgs, sessions=sessions)


@pytest.fixture
def world(_world, db):
    return copy.deepcopy(_world)


def client_of(world: World, role: str) -> Client:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


# --- The lists and, for each, an address with a filter value it cannot use ---------------


def unusable_filter(model_admin) -> str | None:
    """A filter the list's page offers, with a value it cannot use: `<date>__gte=yesterday`
    on a date it filters on, else its date hierarchy's 31 February; None if it has neither
    (then only `?e=1`, the address Django's own redirect leaves, is checked)."""
    for item in model_admin.list_filter:
        path = item[0] if isinstance(item, (list, tuple)) else item
        if isinstance(path, str):
            field = get_fields_from_path(model_admin.model, path)[-1]
            if isinstance(field, models.DateField):  # DateTimeField too
                return f"{path}__gte=yesterday"
    hierarchy = model_admin.date_hierarchy
    if hierarchy:
        return f"{hierarchy}__year=2026&{hierarchy}__month=2&{hierarchy}__day=31"
    return None


@dataclass(frozen=True)
class ChangeList:
    label: str
    url: str
    unusable: str | None

    @property
    def model_admin(self):
        return admin.site._registry[apps.get_model(self.label)]

    def may_open(self, world: World, role: str) -> bool:
        request = _request(world.users[role])
        return role != "rider" and self.model_admin.has_view_or_change_permission(request)


CHANGE_LISTS = [
    ChangeList(
        model._meta.label_lower,
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/",
        unusable_filter(model_admin),
    )
    for model, model_admin in admin.site._registry.items()
]
IDS = [change_list.label for change_list in CHANGE_LISTS]


def test_the_lists_are_the_admin_sites_and_all_but_one_can_be_given_an_unusable_value():
    assert len(CHANGE_LISTS) == len(admin.site._registry) >= 18
    assert [c.label for c in CHANGE_LISTS if c.unusable is None] == ["auth.group"]
    assert set(WALLED) <= set(IDS)


def may_see(world: World, role: str, label: str, row) -> bool:
    """The walls, written out: a superuser sees every row; finance its organization's and
    the payments of no organization; a key of no organization is a superuser's."""
    if role == "superuser":
        return True
    organization = getattr(row, WALLED[label])
    if organization is None:
        return label == "payments.payment"
    return organization == world.orgs.get(role)


def shown(response) -> set:
    return {row.pk for row in response.context["cl"].result_list}


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def assert_reads_no_one_elses(role: str, page: str, where: str) -> None:
    for organization in UNSEEN.get(role, ()):
        for secret in SECRETS_OF[organization]:
            assert secret not in page, f"{role} reads {secret!r} on {where}"


def assert_refused_as_without_the_filter(response, role: str, where: str) -> None:
    if role == "rider":
        assert response.status_code == 302, where
        assert urlsplit(response["Location"]).path == "/admin/login/", where
    else:
        assert response.status_code == 403, (where, response.status_code)


# --- "Shows everything" is everything this person may see -------------------------------


@pytest.mark.parametrize("change_list", CHANGE_LISTS, ids=IDS)
def test_the_whole_list_after_an_unusable_value_is_what_this_person_may_see(change_list, world):
    """The unusable value is followed to `?e=1` (Django's redirect), where the list is
    whole; a list with no filter to misuse is asked for `?e=1` itself (an old bookmark)."""
    address = f"{change_list.url}?{change_list.unusable or 'e=1'}"
    model = apps.get_model(change_list.label)
    for role in ROLES:
        client = client_of(world, role)
        where = f"{role} {address}"
        if not change_list.may_open(world, role):
            assert_refused_as_without_the_filter(client.get(address), role, where)
            continue
        if change_list.label in WALLED:
            everything = {
                row.pk
                for row in model._default_manager.all()
                if may_see(world, role, change_list.label, row)
            }
        else:
            everything = shown(client.get(change_list.url))
        response = client.get(address, follow=True)
        page = body(response)
        assert response.status_code == 200, where
        if change_list.unusable:
            assert response.redirect_chain == [(f"{change_list.url}?e=1", 302)], where
        assert WARNING in page, where
        assert shown(response) == everything, where
        assert everything, f"{where}: the world has no row on this list"
        assert_reads_no_one_elses(role, page, where)


@pytest.mark.parametrize("role", ["rider", "staff", "operator", "finance_b"])
def test_a_list_the_person_may_not_open_leaves_no_warning_for_their_next_page(role, world):
    """Staff of no group asked for ?e=1 get a 403; the warning that the list "shows
    everything" must not wait in their session for the next page they open."""
    client = client_of(world, role)
    refused = [c for c in CHANGE_LISTS if not c.may_open(world, role)]
    assert refused
    for change_list in refused:
        client.get(f"{change_list.url}?e=1")
        client.get(f"{change_list.url}?e=1&{change_list.unusable or 'q=x'}")
    opened = [c for c in CHANGE_LISTS if c.may_open(world, role)]
    page = client.get(opened[0].url if opened else "/admin/", follow=True)
    assert WARNING not in body(page)


# --- ?e=1 with filters: the same list, nowhere else ---------------------------------------

HOSTILE_REDIRECT_VALUES = [
    ("next", "//evil.example/"),
    ("next", "https://evil.example/"),
    ("x", "%2F%2Fevil.example"),
    ("x", "\\\\evil.example"),
    ("x", "/\\evil.example"),
    ("x\r\nLocation: https://evil.example/", "1"),
]


@pytest.mark.parametrize("change_list", CHANGE_LISTS, ids=IDS)
def test_the_error_flag_with_filters_sends_to_the_same_list_and_never_opens_a_refused_one(
    change_list, world
):
    params = [("e", "1"), *HOSTILE_REDIRECT_VALUES]
    if change_list.unusable:
        params.append(tuple(change_list.unusable.split("&")[0].split("=", 1)))
    for role in ROLES:
        client = client_of(world, role)
        response = client.get(change_list.url, params)
        where = f"{role} {change_list.url}"
        if not change_list.may_open(world, role):
            assert_refused_as_without_the_filter(response, role, where)
            continue
        assert response.status_code == 302, where
        location = urlsplit(response["Location"])
        assert (location.scheme, location.netloc, location.path) == ("", "", change_list.url)
        assert "\r" not in response["Location"] and "\n" not in response["Location"]
        sent_on = parse_qs(location.query, keep_blank_values=True)
        assert "e" not in sent_on
        assert sent_on["next"] == ["//evil.example/", "https://evil.example/"], where


@pytest.mark.parametrize(
    "path",
    [
        "//evil.example/admin/rides/ride/",
        "/admin//evil.example/rides/ride/",
        "/admin/rides/ride//evil.example/",
        "/admin/rides/ride/%2F%2Fevil.example/",
        "/admin/rides/ride/\\evil.example/",
    ],
)
def test_an_address_bent_around_a_list_is_not_sent_off_the_site(path, world):
    response = client_of(world, "operator").get(
        "/", {"e": "1", "status__exact": "x"}, PATH_INFO=path
    )
    assert response.status_code in (302, 400, 404), response.status_code
    if response.status_code == 302:
        location = urlsplit(response["Location"])
        assert not location.netloc and not location.scheme, response["Location"]
        assert not response["Location"].startswith(("//", "/\\", "\\"))


# --- Hostile values: written escaped, never a 500 -----------------------------------------

MARKUP = '"><script>alert("wr-4410")</script>'
HOSTILE = {
    "markup": MARKUP,
    "long": "wr" * 2500,
    "unicode": "Ünïcødé ☃ \U0001d518 \u202egnp.exe ٣",
    "nul": "a\x00b",
}


def assert_written_safely(response, where: str) -> None:
    assert response.status_code in (200, 302, 400), (where, response.status_code)
    page = body(response)
    assert "<script>alert(" not in page and "\x00" not in page, where
    if response.status_code == 302:
        location = response["Location"]
        assert location.isascii() and "<" not in location and '"' not in location, where
    if response.status_code == 400:  # refused with the page's sentence (a NUL)
        assert "cannot filter" in page, where


@pytest.mark.parametrize("change_list", CHANGE_LISTS, ids=IDS)
def test_hostile_values_the_list_cannot_use_are_written_escaped_and_never_a_500(change_list, world):
    """Every hostile value at once in the filter the list cannot use, then a NUL (which
    the list refuses, 400: PostgreSQL's text holds none), each with ?e=1 and followed."""
    key = (change_list.unusable or "q=").split("&")[0].split("=")[0]
    client = client_of(world, "superuser")
    for value in ("".join(v for k, v in HOSTILE.items() if k != "nul"), HOSTILE["nul"]):
        response = client.get(change_list.url, {"e": "1", key: value})
        assert_written_safely(response, change_list.url)
        final = client.get(change_list.url, {key: value}, follow=True)
        assert_written_safely(final, change_list.url)
        for url, _ in final.redirect_chain:
            assert url.isascii() and "<" not in url, change_list.url
        if final.status_code == 200 and change_list.unusable:
            assert WARNING in body(final), change_list.url


# Lists whose page writes a value back (the search box, a filter on text it offers).
ECHOED = [
    ("/admin/payments/payment/", ("q", "status__exact", "currency__exact"), "finance_a"),
    ("/admin/rides/ride/", ("q", "status__exact"), "operator"),
    ("/admin/events/outboxevent/", ("q", "type"), "finance_b"),
    ("/admin/events/deadletter/", ("q", "subscriber", "event__type"), "operator"),
    ("/admin/accounts/servicekey/", ("q", "service"), "finance_a"),
    ("/admin/accounts/user/", ("q",), "superuser"),
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_values_a_list_can_use_are_written_back_escaped(name, world):
    value = HOSTILE[name]
    for url, keys, role in ECHOED:
        response = client_of(world, role).get(url, dict.fromkeys(keys, value))
        where = f"{role} {url} {name}"
        assert_written_safely(response, where)
        if name == "nul":
            continue
        assert response.status_code == 200, where
        assert shown(response) == set(), where
        if name == "markup":
            assert "&quot;&gt;&lt;script&gt;alert(&quot;wr-4410&quot;)" in body(response), where
        else:
            assert value in body(response), where


# --- Actions from the whole list ----------------------------------------------------------


def _rows(model) -> dict:
    return {row["id"]: row for row in model._base_manager.order_by("pk").values()}


def _walled_actions():
    for label in WALLED:
        model = apps.get_model(label)
        model_admin = admin.site._registry[model]
        names = sorted(set(model_admin.actions or ()) | {"delete_selected", "export_as_csv"})
        for role in ("finance_a", "finance_b"):
            for name in names:
                yield pytest.param(label, role, name, id=f"{label}.{name}.{role}")


@pytest.mark.parametrize(("label", "role", "action"), list(_walled_actions()))
def test_an_action_from_the_whole_list_acts_only_on_the_persons_rows(label, role, action, world):
    """Posted to `?e=1` (the list an unusable value led to), with every row of every
    organization selected by key, then with "select all" across the list."""
    model = apps.get_model(label)
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/?e=1"
    client = client_of(world, role)
    before = _rows(model)
    theirs = {pk for pk in before if may_see(world, role, label, model._base_manager.get(pk=pk))}
    assert theirs and set(before) - theirs
    for selection in (
        {"_selected_action": list(before)},
        {"select_across": "1", "_selected_action": [min(theirs)]},
    ):
        with transaction.atomic():
            response = client.post(url, {"action": action, "index": "0", "post": "yes",
                                         **selection})  # fmt: skip
            after = _rows(model)
            page = body(response)
            transaction.set_rollback(True)
        assert response.status_code in (200, 302, 403), (action, response.status_code)
        for pk in set(before) - theirs:
            assert after.get(pk) == before[pk], f"{role}'s {action} changed {label} {pk}"
        assert_reads_no_one_elses(role, page, f"{label} {action}")
        if action == "export_as_csv":
            assert len(page.strip().splitlines()) == 1 + len(theirs), page
        elif action in admin.site._registry[model].get_actions(_request(world.users[role])):
            assert any(after.get(pk) != before[pk] for pk in theirs), f"{action} did nothing"


def test_an_action_posted_with_a_value_the_list_cannot_use_runs_nowhere(world):
    """Not Django's "Database error" page (`?e=1` and the value again), not the action on
    some rows: the whole list, where the person chooses again."""
    payments = Payment.objects.filter(organization_id=world.orgs["finance_a"])
    response = client_of(world, "finance_a").post(
        "/admin/payments/payment/?e=1&registered_at__gte=yesterday",
        {"action": "verify_selected", "index": "0", "select_across": "1",
         "_selected_action": [payments.first().pk]},
    )  # fmt: skip
    assert response.status_code == 302
    assert response["Location"] == "/admin/payments/payment/?e=1"
    assert not payments.filter(status=Payment.Status.VERIFIED).exists()
