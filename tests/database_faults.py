"""Faults at the database boundary, through Django's `connection.execute_wrapper`: a test
says what the database does to a statement (fails it, loses it, is watched at it), not
which function of the app runs, so it holds however the app is organised inside."""

import contextlib
import re

from django.db import connection


@contextlib.contextmanager
def at_statements(pattern: str, *, before=None, instead=None, when=lambda sql, params: True):
    """For this connection's statements matching `pattern` (a regex searched in the SQL,
    leading blanks stripped) and `when(sql, params)`: call `before(sql, params)` and then
    run the statement, or `instead(sql, params)` and do not run it."""
    matcher = re.compile(pattern, re.IGNORECASE)

    def wrapper(execute, sql, params, many, context):
        if not (matcher.search(sql.lstrip()) and when(sql, params)):
            return execute(sql, params, many, context)
        if instead is not None:
            return instead(sql, params)
        if before is not None:
            before(sql, params)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def marks_list_imported(sql, params) -> bool:
    """The statement that marks a payment list imported: the import's last write, after its
    payments and their events, before its commit."""
    return "imported" in tuple(params or ())


def table(model) -> str:
    return f'"{model._meta.db_table}"'
