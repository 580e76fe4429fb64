"""Site-wide admin pieces: every change list can be exported as CSV; ProjectAdmin, the
base of every project ModelAdmin (its change list filters only what its page offers, and
says so when it cannot use a filter's value; an autocomplete field redraws a value it
cannot read as an error, not a 500)."""

import re

from django.contrib import admin, messages
from django.contrib.admin.filters import ListFilter
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpResponseRedirect

from core.admin_csv import export_as_csv

admin.site.add_action(export_as_csv, "export_as_csv")

# The lookups Django's own list filters put in a change list's URL for a field path
# (django/contrib/admin/filters.py, expected_parameters(): `path` for AllValues, `__exact`
# and `__isnull` for booleans and choices, `__gte`/`__lt` for dates, `__isempty` for the
# empty filter), with their siblings (`__in`, `__gt`, `__lte`) that links may use.
FILTER_LOOKUPS = ("", "exact", "isnull", "in", "gte", "gt", "lt", "lte", "isempty")
# A related field's filter goes through the target's key: `organization__id__exact`.
RELATED_LOOKUPS = ("", "exact", "in")
# The date hierarchy's links: `<field>__year`, `__month`, `__day`. The change list turns them
# into a range a year, a month or a day long; from 9999 on that range ends after the last
# date Python knows (ValueError/OverflowError: a 500), so a year stops at 9998.
DATE_HIERARCHY_PARTS = {"year": range(1, 9999), "month": range(1, 13), "day": range(1, 32)}

FILTER_VALUE_NOT_USED = (
    "The address asked this list for a filter value it does not know (an old bookmark or an "
    "edited address?), so it shows everything. Choose one of its filters instead."
)

# A ride's reference as a rider quotes it: "WR-7K3Q9P", "wr-7k3q9p" or "7K3Q9P".
_RIDE_REFERENCE = re.compile(r"(WR-)?[0-9A-Z]{6}")


def quoted_ride_reference(search_term: str) -> str | None:
    """The ride reference ("WR-7K3Q9P") an admin search term quotes, with or without "WR-";
    None if it quotes none (the rides and payments searches look it up by the index)."""
    term = search_term.strip().upper()
    if not _RIDE_REFERENCE.fullmatch(term):
        return None
    return term if term.startswith("WR-") else f"WR-{term}"


class ProjectAdmin:
    """The rules of every project admin page.

    A change list filters only as its own page does: the field paths of its list_filter
    (and its SimpleListFilters' parameter names) with the lookups Django's filters use on
    them, and its date_hierarchy. Anything else typed into the URL (`?reference__regex=(`,
    `?id__range=1`, a lookup on a field the page does not filter on) is refused with
    Django's DisallowedModelAdminLookup: a 400 page, never a query the database rejects
    (a 500). Django's own rule allows any lookup on the model's own fields.

    Put it before ModelAdmin (or UserAdmin, GroupAdmin...) in the bases; an admin whose page
    offers more (a link with its own lookup) adds it in `offered_lookups`.

    An autocomplete field (autocomplete_fields) whose posted value is not a key at all
    (`organization=abc`) redraws the form with its error; Django's widget looked the value
    up as it was and raised ValueError (a 500)."""

    def changelist_view(self, request, extra_context=None):
        """Django answers a filter value it cannot use (a status it does not know, a date
        that is not one: an old bookmark, a hand-edited address) with a redirect to `?e=1`
        and the whole list, saying nothing; and `?e=1` with such a value again with a page
        titled "Database error" that blames the database installation. Here the whole list
        says why it is whole, and `?e=1` with filters is the list asked for without `e`.

        Only for who may see the list: anyone else gets Django's answer (403, or the sign-in
        page), as without `e`, and no warning left in their session for their next page. An
        action posted to such an address (a form's `?e=1&...`) is read without `e`: a value
        the list cannot use sends the person to the whole list, the action not run."""
        from django.contrib.admin.views.main import ERROR_FLAG  # as Django's own view does

        if ERROR_FLAG not in request.GET or not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)
        if len(request.GET) == 1:
            if request.method == "GET":
                messages.warning(request, FILTER_VALUE_NOT_USED)
            return super().changelist_view(request, extra_context)
        query = request.GET.copy()
        del query[ERROR_FLAG]
        if request.method == "GET":
            return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")
        request.GET = query
        return super().changelist_view(request, extra_context)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = KnownValuesAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def offered_lookups(self, request) -> set[str]:
        """Every filter parameter this change list's page may carry."""
        offered = set()
        list_filter = self.get_list_filter(request) if request is not None else self.list_filter
        for item in list_filter:
            if isinstance(item, type) and issubclass(item, ListFilter):
                offered.add(getattr(item, "parameter_name", None))
                continue
            path = item[0] if isinstance(item, (list, tuple)) else item
            offered.update(_with_lookups(path, FILTER_LOOKUPS))
            try:
                field = get_fields_from_path(self.model, path)[-1]
            except FieldDoesNotExist:
                continue
            target = getattr(field, "target_field", None) if field.is_relation else None
            if target is not None:
                for key in {target.name, "pk"}:
                    offered.update(_with_lookups(f"{path}{LOOKUP_SEP}{key}", RELATED_LOOKUPS))
        offered.discard(None)
        return offered

    def lookup_allowed(self, lookup, value, request=None):
        if isinstance(value, str) and "\x00" in value:
            return False  # PostgreSQL's text holds no NUL: it would fail the query
        if self.date_hierarchy:
            path, _, part = lookup.rpartition(LOOKUP_SEP)
            if path == self.date_hierarchy and part in DATE_HIERARCHY_PARTS:
                return _whole_number(value) in DATE_HIERARCHY_PARTS[part]
        if lookup not in self.offered_lookups(request):
            return False
        return super().lookup_allowed(lookup, value, request)


def _with_lookups(path: str, lookups) -> set[str]:
    return {f"{path}{LOOKUP_SEP}{lookup}" if lookup else path for lookup in lookups}


def _whole_number(value) -> int | None:
    text = str(value).strip()
    return int(text) if text.isdecimal() and len(text) < 6 else None


class KnownValuesAutocompleteSelect(AutocompleteSelect):
    """Django's AutocompleteSelect, which draws the chosen option by filtering the related
    model on the posted value as it is: 'abc' for an integer key raised ValueError while
    the form was redrawn with its 'Select a valid choice' error (Django 5.2's
    AutocompleteMixin.optgroups; a key beyond the column's range: OverflowError on SQLite).
    A value the key cannot hold is drawn as no choice; the form field still says why."""

    # Django bug (5.2.19, AutocompleteMixin.optgroups filters on the raw value); no ticket found.
    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        opts = remote.model._meta
        key = opts.get_field(getattr(remote, "field_name", None) or opts.pk.attname)
        return super().optgroups(name, [v for v in value if _holds(key, v)], attr)


def _holds(field, value) -> bool:
    try:
        field.run_validators(field.to_python(value))  # the validators: the column's range
    except ValidationError:
        return False
    return not (isinstance(value, str) and "\x00" in value)
