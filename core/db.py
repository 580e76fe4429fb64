"""`pk__any_of`: the outbox's batch lookup (events)."""

from django.core.exceptions import EmptyResultSet
from django.db.models.lookups import In


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
