"""A site-wide admin action: export the selected rows of any change list as CSV.

The columns are the change list's own (`list_display`, as the ModelAdmin gives them for this
request), with the same headers; or the ModelAdmin's `csv_columns`, when its list shows
together what a spreadsheet wants apart (BI's counts and amounts). Text cells are
neutralised against CSV formula injection; HTML from display methods (links, progress bars)
is reduced to its text. Registered for every ModelAdmin by core/admin.py; a ModelAdmin with
`actions = None` has no actions at all.
"""

import csv
import html
import logging
import re
from datetime import date, datetime
from decimal import Decimal

from django.contrib import admin
from django.contrib.admin.utils import label_for_field, lookup_field
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.db.models.fields.files import FieldFile
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.safestring import SafeData
from django.utils.text import capfirst

from core.csvsafe import neutralise
from core.money import Money

logger = logging.getLogger(__name__)

CHUNK = 2000
_SPACES = re.compile(r"\s+")


class _Echo:
    """csv.writer writes into this and gets the line back, for a streamed response."""

    def write(self, value):
        return value


def money(description: str, **kwargs):
    """`admin.display` for a column of `Money`: shown as "$12.50" in the change list,
    exported as two CSV columns, the amount as a number ("12.50") and its currency ("USD"),
    which a spreadsheet can add up per currency."""

    def decorate(method):
        method = admin.display(description=description, **kwargs)(method)
        method.money = True
        return method

    return decorate


def columns(model_admin, request) -> list:
    names = getattr(model_admin, "csv_columns", None) or model_admin.get_list_display(request)
    return [name for name in names if name != "action_checkbox"]


def _is_money(name, model_admin) -> bool:
    return getattr(getattr(model_admin, name, None), "money", False)


def header(name, model_admin) -> list[str]:
    label = str(capfirst(label_for_field(name, model_admin.model, model_admin)))
    return [label, f"{label} currency"] if _is_money(name, model_admin) else [label]


def cells(obj, name, model_admin) -> list[str]:
    if _is_money(name, model_admin):
        value = lookup_field(name, obj, model_admin)[2]
        if isinstance(value, Money):
            return [value.as_api()["amount"], value.currency]
        return [cell(obj, name, model_admin), ""]
    return [cell(obj, name, model_admin)]


def cell(obj, name, model_admin) -> str:
    field, attr, value = lookup_field(name, obj, model_admin)
    if field is not None and getattr(field, "flatchoices", None):
        value = dict(field.flatchoices).get(value, value)
    if value is None:
        return ""
    if isinstance(value, bool) or getattr(attr, "boolean", False):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return str(value)  # numbers cannot be formulas: keep "-5" as it is
    if isinstance(value, datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, FieldFile):
        return neutralise(value.name or "")
    if isinstance(value, models.Model):
        return neutralise(str(value))
    text = str(value)
    if isinstance(value, SafeData):  # format_html from a display method
        text = _SPACES.sub(" ", html.unescape(strip_tags(text))).strip()
    return neutralise(text)


def rows(queryset, names, model_admin):
    writer = csv.writer(_Echo())
    # A byte-order mark, so spreadsheets read the file as UTF-8.
    yield "\ufeff" + writer.writerow([h for name in names for h in header(name, model_admin)])
    for obj in in_chunks(queryset):
        yield writer.writerow([c for name in names for c in cells(obj, name, model_admin)])


def in_chunks(queryset, size: int | None = None):
    """Every object of `queryset`, read CHUNK at a time, each chunk one short query.

    Not `.iterator()`: behind a pooler in transaction mode (RDS Proxy, PgBouncer) a
    server-side cursor lives on one server connection and the next fetch lands on another
    (so they are off: DISABLE_SERVER_SIDE_CURSORS), and without one `.iterator()` holds the
    whole result in memory. Each chunk continues after the last row of the one before, by
    the list's first ordering field and then the primary key (ties, unordered lists).
    """
    size = size or CHUNK
    model = queryset.model
    field, descending = _keyset_field(queryset)
    pk = model._meta.pk.attname
    direction = "-" if descending else ""
    ordered = queryset.order_by(*([direction + field] if field else []), direction + pk)
    after = None
    while True:
        chunk = ordered
        if after is not None:
            chunk = chunk.filter(_after(field, pk, after, descending))
        objects = list(chunk[:size])
        yield from objects
        if len(objects) < size:
            return
        last = objects[-1]
        after = (getattr(last, field) if field else None, getattr(last, pk))


def _keyset_field(queryset) -> tuple[str | None, bool]:
    """The list's first ordering field, if it is a plain non-null column of the model."""
    ordering = list(queryset.query.order_by or queryset.model._meta.ordering or [])
    if not ordering or not isinstance(ordering[0], str):
        return None, False
    name = ordering[0]
    descending = name.startswith("-")
    name = name.lstrip("-+")
    try:
        field = queryset.model._meta.get_field(name)
    except FieldDoesNotExist:
        return None, descending
    if not field.concrete or field.null or field.is_relation or field.primary_key:
        return None, descending
    return field.attname, descending


def _after(field, pk, after, descending) -> Q:
    value, key = after
    beyond = "lt" if descending else "gt"
    if field is None:
        return Q(**{f"{pk}__{beyond}": key})
    return Q(**{f"{field}__{beyond}": value}) | Q(**{field: value, f"{pk}__{beyond}": key})


def filename(model_admin) -> str:
    opts = model_admin.model._meta
    return f"{opts.app_label}-{opts.model_name}-{timezone.localdate().isoformat()}.csv"


@admin.action(description="Export selected %(verbose_name_plural)s as CSV", permissions=["view"])
def export_as_csv(model_admin, request, queryset):
    names = columns(model_admin, request)
    logger.info("%s exported %s as CSV", request.user, model_admin.model._meta.label)
    response = StreamingHttpResponse(
        rows(queryset, names, model_admin), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename(model_admin)}"'
    return response
