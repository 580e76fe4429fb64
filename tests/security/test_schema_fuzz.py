"""The API fuzzed from the schema it serves at /api/schema/ (schemathesis + hypothesis).

Every operation, called anonymously, as a rider, as an operator and as finance staff with
generated (valid and invalid) bodies, parameters and headers, must never answer 5xx (a 503
"no unicorn free" with its Retry-After is a capacity answer; the fleet here is big enough
that it should not come), and what it answers must match the schema: documented status
codes' bodies and content types.

Each generated case is called as the four roles in turn (one test per operation). They
were four tests per operation, one per role; in CI (derandomized) hypothesis drew the very
same cases for each, so three quarters of the generating was done again for nothing. With
a fixed seed, the old and this layout got the same status codes in the same order for all
148 (operation, role) pairs (2026-12-06): each role has its own attempt counts, as it had
its own test database.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.generation.hypothesis import builder
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from accounts import attempts, throttles
from accounts import services as account_services
from payments.models import Subscription
from rides.models import Unicorn
from tests import factories
from tests.conftest import rows_for_the_whole_module
from tests.security import FUZZ
from wildrydes.wsgi import application

# A quick pass in `make test`; SCHEMA_FUZZ_EXAMPLES=200 for a deep one by hand.
EXAMPLES_PER_OPERATION = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "12"))


class _CoverageCasesWhenRun(list):
    """An operation's coverage-phase cases (hypothesis explicit examples), made when its test
    runs. schemathesis makes them as it builds the test, at collection, and every xdist worker
    collects every test: each made all 37 operations' cases (~3.5 s CPU) to run a share of
    them. The same cases (schemathesis makes them deterministically, from the schema alone),
    in the same order, made once, by the worker that runs the test."""

    def __init__(self, attached: list, make):
        super().__init__(attached)
        self._make = make

    def _made(self) -> "_CoverageCasesWhenRun":
        if self._make is not None:
            make, self._make = self._make, None
            self.extend(make())  # after the schema's own examples, as add_coverage appends
        return self

    def __reversed__(self):  # how hypothesis reads them, before its first case
        return list.__reversed__(self._made())

    def __iter__(self):
        return list.__iter__(self._made())

    def __len__(self):
        return list.__len__(self._made())

    def __getitem__(self, index):
        return list.__getitem__(self._made(), index)


_add_coverage_now = builder.add_coverage


def _add_coverage_when_run(test, *args, **kwargs):
    def make() -> list:
        carrier = _add_coverage_now(lambda: None, *args, **kwargs)
        for name, value in vars(carrier).items():  # schemathesis's marks (a payload it skipped)
            if name != "hypothesis_explicit_examples":
                setattr(test, name, value)
        cases = getattr(carrier, "hypothesis_explicit_examples", [])
        # Each operation has some (its plain call, other HTTP methods...): none means this
        # schemathesis attaches them some other way, and the fuzz would skip them unseen.
        assert cases, "schemathesis's coverage phase made no case: see _add_coverage_when_run"
        return cases

    test.hypothesis_explicit_examples = _CoverageCasesWhenRun(
        getattr(test, "hypothesis_explicit_examples", []), make
    )
    return test


builder.add_coverage = _add_coverage_when_run

# Loaded once, at collection, the way a client would: from the served schema.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def keep_test_connection():
    """Call the WSGI app inside the test's transaction, as Django's test client does: the
    handler must not close the connection at the end of each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


ROLES = ("anonymous", "rider", "operator", "finance")


@pytest.fixture(scope="module")
def _world_for_the_module(django_db_setup, django_db_blocker):
    """A fleet, a rider with a ride, finance acting for an organization with a plan, and each
    role's API token: written once for the module's tests on a worker (tests/conftest.py
    rows_for_the_whole_module). What a test's calls write is rolled back after it, so each
    starts from these rows, as when each wrote its own."""
    with rows_for_the_whole_module(django_db_blocker):
        Unicorn.objects.bulk_create(
            factories.UnicornFactory.build(latitude=0.001 * n - 0.02, longitude=0.001 * n - 0.02)
            for n in range(40)
        )
        rider = factories.UserFactory()
        finance = factories.FinanceFactory()
        organization = factories.OrganizationFactory()
        organization.members.add(finance)
        Subscription.objects.create(
            organization=organization, plan="fuzz", starts_at=timezone.now(),
            max_rows_per_list=1000, max_total_minor_per_list=10**9,
        )  # fmt: skip
        ride = factories.RideFactory(rider=rider)
        users = {"rider": rider, "finance": finance, "operator": factories.OperatorFactory()}
        headers = {"anonymous": {}}
        for role, user in users.items():
            headers[role] = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
        yield ride, headers


@pytest.fixture
def world(_world_for_the_module, db, settings, tmp_path):
    """Each role's headers. The rider's ride as just requested: its clock runs (its unicorn
    arrives a minute after the request, and a call that reads it then records the arrival)."""
    settings.PAYMENT_LIST_RUNNER = "inline"
    settings.MEDIA_ROOT = tmp_path / "media"
    ride, headers = _world_for_the_module
    now = timezone.now()
    type(ride).objects.filter(pk=ride.pk).update(
        requested_at=now, arrives_at=now + (ride.arrives_at - ride.requested_at)
    )
    return headers


# One parameter, so that each operation's test has a node id of its own
# (test_...[GET /api/rides/][anonymous-rider-operator-finance]): without a pytest parameter
# schemathesis gives all 37 the same id, and xdist's loadgroup ran only one of them.
@pytest.fixture(params=[ROLES], ids=["-".join(ROLES)])
def callers(request, world, keep_test_connection, monkeypatch):
    """Each role's headers, and the role's own attempt counts: the throttles (sign-in,
    registration, unicorn applications...) and code guesses count each role's calls apart,
    as if it were the only caller."""
    calling = {}
    counter_key = attempts.attempt_key

    def key_of_the_role(scope, identity):
        return counter_key(scope, f"{calling['role']}|{identity}")

    monkeypatch.setattr(throttles, "attempt_key", key_of_the_role)
    monkeypatch.setattr(account_services, "attempt_key", key_of_the_role)
    return {role: dict(world[role]) for role in request.param}, calling


def no_server_error(ctx, response, case):
    """not_a_server_error, except the documented capacity answer (503 + Retry-After)."""
    if response.status_code == 503 and response.headers.get("retry-after"):
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [no_server_error, response_schema_conformance, content_type_conformance]


@schema.parametrize()
@hypothesis_settings(FUZZ, max_examples=EXAMPLES_PER_OPERATION)
def test_api_never_fails_and_answers_as_documented(case, callers):
    """The same generated case, called as each role in turn."""
    headers_of, calling = callers
    for role, headers in headers_of.items():
        calling["role"] = role
        try:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)
        except BaseException as error:
            error.add_note(f"Called as {role}.")
            raise
