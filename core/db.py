"""Database helpers for the hot paths."""

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import Model
from django.db.models.lookups import In
from django.db.models.sql import InsertQuery

_insert_sql: dict[tuple, str] = {}


def insert_row(instance: Model) -> Model:
    """INSERT a new model instance, as `instance.save()` would, with its SQL built once.

    `save()` compiles the INSERT again for every row, which on a ride request costs about
    as much as running it. This builds the statement once per model and database with
    Django's own compiler, and converts each value with the field's own `pre_save` and
    `get_db_prep_save` (so `auto_now_add`, defaults, UUIDs, decimals and time zones come
    out exactly as from `save()`). No signals are sent: use it only for models without
    save signals or an overridden `save()`.
    """
    model = type(instance)
    meta = model._meta
    using = router.db_for_write(model, instance=instance)
    connection = connections[using]
    auto = meta.auto_field if instance.pk is None else None
    fields = [f for f in meta.local_concrete_fields if f is not auto and not f.generated]
    key = (model, using, auto is not None)
    sql = _insert_sql.get(key)
    if sql is None:
        query = InsertQuery(model)
        query.insert_values(fields, [instance])
        compiler = query.get_compiler(connection=connection)
        compiler.returning_fields = [auto] if auto is not None else None
        [(sql, _params)] = compiler.as_sql()
        _insert_sql[key] = sql
    params = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if auto is not None:
            if connection.features.can_return_columns_from_insert:
                value = cursor.fetchone()[0]
            else:
                value = connection.ops.last_insert_id(cursor, meta.db_table, auto.column)
            setattr(instance, auto.attname, value)
    instance._state.adding = False
    instance._state.db = using
    return instance


def in_values(connection, values) -> tuple[str, list]:
    """SQL matching a column against these values (as the database stores them): `IN (%s,
    ...)`, or `= ANY(%s)` with one array parameter on PostgreSQL.

    psycopg remembers how it split a statement into its parameters only up to 50 of them;
    an IN list of a batch's ids was split again on every call, about a quarter of the CPU
    of delivering a batch of events. An array keeps the statement the same at any size.
    """
    values = list(values)
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [values]
    return "IN (" + ", ".join(["%s"] * len(values)) + ")", values


class AnyOf(In):
    """`field__any_of=[...]`: `field__in`, written as `in_values` writes it."""

    lookup_name = "any_of"

    def as_postgresql(self, compiler, connection):
        if not self.rhs_is_direct_value():
            return super().as_sql(compiler, connection)
        if not self.rhs:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        prep = self.lhs.output_field.get_db_prep_value
        sql, params = in_values(connection, [prep(value, connection) for value in self.rhs])
        return f"{lhs} {sql}", [*lhs_params, *params]
