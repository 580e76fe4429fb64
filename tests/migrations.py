"""Data migration tests: the database taken back to the migration before, filled as it was
then, migrated forward, and returned to the latest migrations whatever happens."""

import importlib
from contextlib import contextmanager
from types import SimpleNamespace

from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@contextmanager
def migrated_back_to(before: list[tuple[str, str]]):
    """The database at `before`; yields the models (`apps`) of that state."""
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    executor.migrate(before)
    try:
        yield executor.loader.project_state(before).apps
    finally:
        MigrationExecutor(connection).migrate(leaves)


def migrate_to(after: list[tuple[str, str]]):
    """Migrate forward to `after`; the models (`apps`) of that state."""
    connection.close()  # the migration runs in a session of its own, as `migrate` would
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    return executor.loader.project_state(after).apps


def run_data_function(module: str, function: str) -> None:
    """A data migration's function run on the current tables, as `migrate` would call it
    (for a migration whose models have not changed since)."""
    getattr(importlib.import_module(module), function)(apps, SimpleNamespace(connection=connection))
