"""Migration operations that keep the service taking requests while a stage migrates."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexWithoutBlockingWrites(AddIndexConcurrently):
    """An index built while the table stays writable: on PostgreSQL `CREATE INDEX
    CONCURRENTLY`, so riders' requests go on writing the table during a deploy's migrate,
    where a plain `CREATE INDEX` holds every INSERT until the whole table is indexed. On
    SQLite (one writer, local only) a plain AddIndex. The migration must be `atomic = False`.

    If the build is interrupted, PostgreSQL leaves an invalid index of that name: drop it
    (`DROP INDEX CONCURRENTLY <name>`) and migrate again (docs/operations.md)."""

    def describe(self):
        return super().describe().replace("Concurrently create", "Create", 1) + (
            " (concurrently on PostgreSQL)"
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
