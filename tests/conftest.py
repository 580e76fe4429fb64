import fcntl
import gc
import shutil
import sqlite3
import warnings
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories


def pytest_addoption(parser):
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="deselect the tests that use no test database (make test's PostgreSQL pass)",
    )


SCHEMA_FUZZ = Path(__file__).parent / "security" / "test_schema_fuzz.py"


def pytest_configure(config):
    """The schema fuzz's string strategies need hypothesis's table of the characters UTF-8
    encodes: ~1.2 s CPU to build, then read from .hypothesis/. In a fresh clone each xdist
    worker built it at once (5 in make test); the controller builds it once before it
    starts them. Only where the run collects the fuzz (not the browser pass). Hypothesis
    warns of slow work while pytest configures: here it is the point."""
    if hasattr(config, "workerinput") or not config.getoption("numprocesses", None):
        return
    here = config.invocation_params.dir
    named = [(here / arg.split("::")[0]).resolve() for arg in config.args]
    if any(SCHEMA_FUZZ.is_relative_to(path) for path in named):
        from hypothesis import strategies
        from hypothesis.errors import HypothesisSideeffectWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", HypothesisSideeffectWarning)
            strategies.characters(codec="utf-8").validate()


def uses_test_database(item) -> bool:
    """The django_db mark or a fixture that gives Django's test database: db,
    transactional_db and the others all ask for django_db_setup; live_server asks for
    transactional_db only as it runs. pytest-django refuses the database to other tests."""
    fixtures = getattr(item, "fixturenames", ())
    return (
        item.get_closest_marker("django_db") is not None
        or "django_db_setup" in fixtures
        or "live_server" in fixtures
    )


def pytest_collection_modifyitems(config, items):
    """`--database-tests-only`: only the tests that can answer differently on another
    database. The others never touch Django's test database (pytest-django refuses it to
    them); those among them that start a server or a child process with a database give it
    their own (a cluster of their own, a SQLite file, a DATABASE_URL they set), so they
    already ran, unchanged, in the SQLite pass (tests/run.py).

    Then the longest tests first (marked package or slow): xdist hands tests out in this
    order, and the Lambda package and deploy tests (a minute or more each, some in one
    group) started last kept one worker busy alone at the end of the run; so did the
    collectstatic-to-S3 and PostgreSQL-outage tests (13-18 s each, begun in the last 20 s)."""
    if not hasattr(config, "workerinput"):  # under xdist the controller checks (below)
        refuse_tests_sharing_a_node_id(item.nodeid for item in items)
    if config.getoption("database_tests_only"):
        deselected = [item for item in items if not uses_test_database(item)]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [item for item in items if uses_test_database(item)]
    first = {"package", "slow"}
    items.sort(key=lambda item: 0 if first & {m.name for m in item.iter_markers()} else 1)


def pytest_collection_finish(session):
    """What is alive once the tests are collected (Django, DRF, moto, hypothesis, the
    schema fuzz's generated cases...) lives to the end of the process: out of the garbage
    collector's sweeps (gc.freeze), which spent ~10% of a worker's CPU scanning it again.
    tests/admin + the schema fuzz + local delivery, one process, 2 runs each: GC 3.1 -> 2.2 s,
    the process 33.1-35.4 -> 32.1-33.4 s CPU."""
    gc.collect()
    gc.freeze()


def refuse_tests_sharing_a_node_id(nodeids):
    """Two tests with one node id: xdist runs one of them and the run stays green (since
    70b7010 the schema fuzz's 37 tests had one id: 36 did not run in make test)."""
    counts = Counter(nodeids)
    if shared := sorted(nodeid for nodeid, n in counts.items() if n > 1):
        raise pytest.UsageError(f"tests sharing a node id (xdist runs one of each): {shared}")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    refuse_tests_sharing_a_node_id(ids)


@pytest.fixture(scope="session")
def django_db_keepdb(request, django_db_modify_db_settings, tmp_path_factory):
    """On SQLite under xdist the first worker to need the test database migrates it (~2.5 s
    CPU) and leaves a copy of it in the run's temporary folder; the other workers wait for
    it and start from a copy instead of migrating again. Such a copy is taken for an
    existing test database (pytest-django's keepdb): Django's test set-up runs migrate on
    it (nothing to apply: ~0.1 s) and its post_migrate handlers, as for a new one, and the
    copy is deleted at the end of the session (which keepdb would leave)."""
    from django.db import connection

    if request.config.getvalue("reuse_db"):  # pytest-django's own keepdb
        yield True
        return
    name = connection.settings_dict["TEST"].get("NAME")  # with the worker's suffix
    if connection.vendor != "sqlite" or not name or not hasattr(request.config, "workerinput"):
        yield False
        return
    test_database = Path(name)
    shared = tmp_path_factory.getbasetemp().parent  # the run's, all workers'
    template = shared / "migrated.sqlite3"
    with (shared / "migrated.sqlite3.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():  # this worker migrates; the others wait for the copy
            request.config.stash[MIGRATED_TEMPLATE] = (template, lock)
            yield False
            return
    shutil.copyfile(template, test_database)
    yield True
    connection.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{test_database}{suffix}").unlink(missing_ok=True)


MIGRATED_TEMPLATE = pytest.StashKey()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, request, django_db_blocker):
    """pytest-django's, then the copy of the migrated database for the other workers
    (django_db_keepdb above)."""
    if pending := request.config.stash.get(MIGRATED_TEMPLATE, None):
        template, lock = pending
        from django.db import connection

        making = template.with_suffix(".making")
        with django_db_blocker.unblock(), sqlite3.connect(making) as copy:
            connection.ensure_connection()
            connection.connection.backup(copy)
        copy.close()
        making.rename(template)
        fcntl.flock(lock, fcntl.LOCK_UN)
        del request.config.stash[MIGRATED_TEMPLATE]
    with django_db_blocker.unblock():
        request.config.stash[COMMITTED_ROWS] = committed_rows()
    request.config.stash[DB_BLOCKER] = django_db_blocker
    yield
    del request.config.stash[COMMITTED_ROWS]  # the test database goes: nothing to check


# --- Nothing committed is left behind ------------------------------------------------------
# A test's rows go with its transaction (`db`) or the flush (transactional tests); rows
# another connection commits meanwhile (a test's thread, child process or live server) go
# with neither unless the test is transactional and that connection's work ends before
# the flush. Left behind, they are the next tests' rows on that worker (a count that is
# off, a unique value already taken). After each test that used the test database, the
# committed rows of these tables (none after migrate) are counted on this worker's
# connection (one query: 0.23 ms CPU through PgBouncer, 0.11 ms on SQLite); more than
# before the test fails it, naming them.
CHECKED_FOR_LEFT_ROWS = ("accounts.User", "rides.Ride", "rides.Unicorn", "payments.Payment",
                         "payment_lists.PaymentList", "events.OutboxEvent",
                         "promos.DiscountAward", "notifications.Notification")  # fmt: skip
COMMITTED_ROWS = pytest.StashKey()  # table -> committed rows after the last test checked
DB_BLOCKER = pytest.StashKey()


def committed_rows() -> dict[str, int]:
    """Rows of CHECKED_FOR_LEFT_ROWS's tables this connection sees: the committed ones when
    it is outside a transaction."""
    from django.apps import apps
    from django.db import connection

    tables = [apps.get_model(label)._meta.db_table for label in CHECKED_FOR_LEFT_ROWS]
    counts = ", ".join(
        f"(SELECT COUNT(*) FROM {connection.ops.quote_name(table)})"  # noqa: S608 (Django's)
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts}")
        return dict(zip(tables, cursor.fetchone(), strict=True))


def rows_left_behind(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {table: after[table] - before[table] for table in after if after[table] > before[table]}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """After the test's fixtures (its rollback or flush): the check above."""
    result = yield
    before = item.config.stash.get(COMMITTED_ROWS, None)
    if before is None or not uses_test_database(item):
        return result
    from django.db import DatabaseError, connection

    if connection.in_atomic_block:  # a module's rows, still open (rows_for_the_whole_module)
        return result
    try:
        with item.config.stash[DB_BLOCKER].unblock():
            after = committed_rows()
    except DatabaseError:  # a connection the test broke on purpose: the next test counts
        connection.close()
        return result
    item.config.stash[COMMITTED_ROWS] = after
    if left := rows_left_behind(before, after):
        pytest.fail(
            f"{item.nodeid} left committed rows behind ({left}): rows written through "
            "another connection (a thread, a child process, a live server) are not rolled "
            "back with the test's transaction. Mark the test django_db(transaction=True) and "
            "let that connection's work end before the test does (or it is an earlier test's, "
            "still writing).",
            pytrace=False,
        )
    return result


# How long a transactional test's flush waits on PostgreSQL for another connection's
# transaction that is still writing (see _flush_keeps_content_types_and_permissions).
FLUSH_LOCK_TIMEOUT = "60s"

# What the migrations and their post_migrate handlers write, that no test is about.
KEPT_BY_THE_FLUSH = ("auth_permission", "django_content_type")
PERMISSIONS_HANDLER = "django.contrib.auth.management.create_permissions"  # its dispatch_uid


@pytest.fixture(scope="session", autouse=True)
def _flush_keeps_content_types_and_permissions():
    """After each transactional test Django empties every table (~70), then sends
    post_migrate, whose handlers write again the ~70 content types and ~280 permissions
    the flush deleted, with ~70 queries even when nothing is missing: ~90 ms CPU a
    transactional test on SQLite, nearly all of its flush. Here the flush leaves those two
    tables as the migrations left them, and post_migrate goes to its other handlers only
    (the roles' groups, emptied with the rest, are written again as before). Should a test
    have changed either table (their row count or sum of ids differs from what the last
    full post_migrate left), the flush empties them too and sends post_migrate to all its
    handlers, as Django does. SQLite, 200 transactional tests doing nothing: 25.4 -> 8.9 s
    CPU; PostgreSQL via PgBouncer: pytest 25.8 -> 9.5 s, the server 10.1 -> 2.9 s.

    On PostgreSQL the tables are emptied by DELETE FROM each, foreign keys checked at the
    commit (Django's are DEFERRABLE INITIALLY DEFERRED), not Django's one TRUNCATE of all
    of them: that makes new files for every table and index, ~40 ms of the server's time
    for tables that hold a few rows, DELETE ~2 ms (111 flushes of tests/events, rides,
    promos, payments... 3.4 s with TRUNCATE, 0.2 s with DELETE; server CPU 10.7 -> 8.5 s,
    2026-12-06). Sequence resets (reset_sequences) keep Django's TRUNCATE ... RESTART
    IDENTITY.

    DELETE does not wait, as TRUNCATE does, for a transaction still open on another
    connection (a test's thread, child process or live server finishing a request): it
    skips the rows that transaction has not committed yet, and they were left behind for
    the next tests once it committed (tests/test_isolation.py). So the flush first locks
    the tables against writers (SHARE ROW EXCLUSIVE: readers go on), which waits for those
    transactions to end, as TRUNCATE's lock did; a writer still open after
    FLUSH_LOCK_TIMEOUT fails the flush, naming the lock, instead of hanging the run."""
    from django.contrib.contenttypes.management import create_contenttypes
    from django.core.management.commands import flush as flush_command
    from django.db import connection, connections
    from django.db.models.signals import post_migrate

    operations = type(connection.ops)
    sql_flush = operations.sql_flush
    emit_post_migrate = flush_command.emit_post_migrate_signal
    postgresql = connection.vendor == "postgresql"
    left_by_migrate = {}  # database alias -> fingerprint of the kept tables

    def flush_all_but_the_kept(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        tables = [table for table in tables if table not in KEPT_BY_THE_FLUSH]
        if reset_sequences or not tables or not postgresql:
            return sql_flush(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        names = [self.quote_name(table) for table in tables]
        deletes = " ".join(f"DELETE FROM {name};" for name in names)  # noqa: S608 (Django's)
        return [
            f"SET CONSTRAINTS ALL DEFERRED; SET LOCAL lock_timeout = '{FLUSH_LOCK_TIMEOUT}'; "
            f"LOCK TABLE {', '.join(names)} IN SHARE ROW EXCLUSIVE MODE; {deletes}"
        ]

    def fingerprint(db):
        with connections[db].cursor() as cursor:
            counts = []
            for table in KEPT_BY_THE_FLUSH:
                cursor.execute(f"SELECT COUNT(*), SUM(id) FROM {table}")  # noqa: S608
                counts.append(tuple(cursor.fetchone()))
            return tuple(counts)

    def emit_after_flush(verbosity, interactive, db, **kwargs):
        if left_by_migrate.get(db) != fingerprint(db):  # emptied and written again
            with transaction.atomic(using=db), connections[db].cursor() as cursor:
                for table in KEPT_BY_THE_FLUSH:
                    cursor.execute(f"DELETE FROM {table}")  # noqa: S608
            emit_post_migrate(verbosity, interactive, db, **kwargs)
            left_by_migrate[db] = fingerprint(db)
            return
        receivers = post_migrate.receivers[:]
        post_migrate.disconnect(create_contenttypes)
        post_migrate.disconnect(dispatch_uid=PERMISSIONS_HANDLER)
        try:
            emit_post_migrate(verbosity, interactive, db, **kwargs)
        finally:  # the same handlers in the same order (the roles' sync comes last)
            with post_migrate.lock:
                post_migrate.receivers = receivers
                post_migrate.sender_receivers_cache.clear()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(operations, "sql_flush", flush_all_but_the_kept)
        patch.setattr(flush_command, "emit_post_migrate_signal", emit_after_flush)
        yield


FAST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _test_settings(tmp_path_factory):
    """The settings every test runs with, set once for the whole run (a test changes them
    with the `settings` fixture or override_settings, undone at its end as before):
    - the plain static storage: unit tests render templates without a collectstatic
      manifest (tests/browser sets the manifest storage back);
    - an empty STATIC_ROOT, as in CI's fresh clone: not the checkout's staticfiles/, which
      `make run` fills (collectstatic, 773 files). WhiteNoise's middleware lists every file
      of STATIC_ROOT each time it is built, and it is built for every test client's first
      request: ~0.04 CPU-s a client (tests/accounts/test_a_guesser_cannot_lock_a_rider_out.py,
      13 tests, ~400 clients: 15.4 -> 2.8 CPU-s).
      No test serves files from there (they fail in CI, where it is missing); the browser
      tests serve their own collectstatic (tests/browser/conftest.py);
    - events delivered inline: tests read the subscribers' rows right after the commit, so
      events are delivered before the caller goes on (the default; a test environment may
      say otherwise);
    - no answer floor: reset and resend answers are padded to a minimum time in production
      (0.5 s: the schema fuzz and the authorization matrix alone slept 20 s per pass); the
      test that measures it sets its own floor (tests/accounts/test_self_service.py);
    - a fast password hasher.
    They were four function-scoped fixtures, each an override_settings started and undone
    for every test (setting_changed sent 8 times a test; the storages and the hashers
    rebuilt after it)."""
    from django.conf import settings

    with override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        STATIC_ROOT=tmp_path_factory.mktemp("static-root"),
        EVENTS_DELIVERY="inline",
        ACCOUNT_ANSWER_FLOOR_SECONDS=0,
        PASSWORD_HASHERS=FAST_PASSWORD_HASHERS,
    ):
        yield


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@contextmanager
def rows_for_the_whole_module(django_db_blocker):
    """For a module-scoped fixture: the rows it writes inside are seen by each test of the
    module (on this worker) and gone after the last, as TestCase.setUpTestData does. They
    are written in a transaction left open for the module and rolled back at its end; each
    test's own transaction (pytest-django's `db`) is a savepoint inside it, rolled back after
    the test, so every test starts from the same rows. Only for modules whose tests all use
    `db` (not transactional_db or live_server: those commit and flush). Hand each test a
    copy.deepcopy of the Python objects, so one test's changes to them stay its own."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield
        transaction.set_rollback(True)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def low_sign_in_limits(monkeypatch):
    """Sign-in limits a test reaches in a few tries: 6 a minute per client address, 3 per
    e-mail address (the budgets the API's and the admin's sign-in pages share)."""
    from accounts.throttles import AuthAttemptsPerAddress, AuthAttemptsPerEmail

    monkeypatch.setattr(
        AuthAttemptsPerAddress, "THROTTLE_RATES", {"auth_address": "6/minute"}, raising=False
    )
    monkeypatch.setattr(
        AuthAttemptsPerEmail, "THROTTLE_RATES", {"auth_email": "3/minute"}, raising=False
    )


@pytest.fixture
def generous_sign_in_limits(monkeypatch):
    """Sign-in limits no test reaches (1000 a minute per client address, per e-mail from a
    client and per e-mail from all), for tests about something else than those limits."""
    from accounts.throttles import (
        AuthAttemptsPerAddress,
        AuthAttemptsPerEmail,
        AuthAttemptsPerEmailFromClient,
    )

    for throttle in (AuthAttemptsPerAddress, AuthAttemptsPerEmail, AuthAttemptsPerEmailFromClient):
        rates = {throttle.scope: "1000/minute"}
        monkeypatch.setattr(throttle, "THROTTLE_RATES", rates, raising=False)


def client_for(user) -> APIClient:
    """An API client that sends `user`'s token, as a real rider app does."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def rider(db):
    return factories.UserFactory()


@pytest.fixture
def other_rider(db):
    return factories.UserFactory()


@pytest.fixture
def operator(db):
    return factories.OperatorFactory()


@pytest.fixture
def finance(db):
    return factories.FinanceFactory()


@pytest.fixture
def rider_api(rider):
    return client_for(rider)


@pytest.fixture
def other_rider_api(other_rider):
    return client_for(other_rider)


@pytest.fixture
def operator_api(operator):
    return client_for(operator)
