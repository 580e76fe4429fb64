from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery, Sum
from django.urls import path
from django.utils.html import format_html

from accounts.roles import DASHBOARD_PERMISSION
from bi import dashboard
from bi.models import CampaignDailySpend, DailyAggregate
from bi.selectors import COUNTS, MONEY
from core import admin_csv
from core.admin import ProjectAdmin
from core.money import Money


class LocalDays:
    """The days are the service area's (TIME_ZONE): a day's figures are those of the
    payments and rides of that local day, not of a UTC day. The list's title says which
    zone (the column is "local day")."""

    @admin.display(description="local day", ordering="day")
    def local_day(self, row):
        return row.day

    def changelist_view(self, request, extra_context=None):
        title = f"{self.model._meta.verbose_name_plural.capitalize()}: days in {settings.TIME_ZONE}"
        return super().changelist_view(request, {"title": title, **(extra_context or {})})


def _one_line_per_key(queryset, key: list[str], sums: list[str]):
    """The first row of each `key` (one line per day and currency, say), each annotated
    with `total_<name>`: `name` added up over the rows of its key."""
    model = queryset.model
    rows_of_key = model.objects.filter(**{field: OuterRef(field) for field in key}).order_by()
    totals = {
        f"total_{name}": Subquery(
            rows_of_key.values(key[0]).annotate(total=Sum(name)).values("total")
        )
        for name in sums
    }
    first = Subquery(rows_of_key.order_by("pk").values("pk")[:1])
    return queryset.filter(pk=first).annotate(**totals)


@admin.register(DailyAggregate)
class DailyAggregateAdmin(LocalDays, ProjectAdmin, admin.ModelAdmin):
    """The days, as figures; the dashboard (admin:bi_dashboard) draws them.

    A day and currency may be spread over several rows (bi.subscribers): the list shows
    one line per day and currency, with its rows added up."""

    # A payment's count and amount share a cell (two lines), the currency is in each amount:
    # the list fits 1280 px with both sidebars open. The CSV and the day's page keep each
    # figure apart (csv_columns), the way a spreadsheet adds them up.
    list_display = [
        "local_day",
        "rides_count",
        "revenue",
        "discounts",
        "registered_payments",
        "verified_payments",
        "deleted_payments",
    ]
    csv_columns = [
        "local_day",
        "currency",
        "rides",
        "revenue",
        "discounts",
        "registered",
        "registered_amount",
        "verified",
        "verified_amount",
        "deleted",
        "deleted_amount",
    ]
    list_filter = ["day", "currency"]
    search_fields = ["currency"]
    date_hierarchy = "day"
    fields = readonly_fields = csv_columns

    def has_add_permission(self, request):
        return False  # the BI subscriber writes these

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return _one_line_per_key(queryset, ["day", "currency"], COUNTS + MONEY)

    @admin.display(description="rides completed", ordering="total_rides_completed")
    def rides(self, day):
        return day.total_rides_completed

    @admin.display(description="rides completed", ordering="total_rides_completed")
    def rides_count(self, day):
        return f"{day.total_rides_completed:,}"

    @admin_csv.money(description="revenue", ordering="total_revenue_minor")
    def revenue(self, day):
        return Money(day.total_revenue_minor, day.currency)

    @admin_csv.money(description="discounts", ordering="total_discounts_minor")
    def discounts(self, day):
        return Money(day.total_discounts_minor, day.currency)

    @admin.display(description="payments registered", ordering="total_payments_registered")
    def registered(self, day):
        return day.total_payments_registered

    @admin.display(description="payments verified", ordering="total_payments_verified")
    def verified(self, day):
        return day.total_payments_verified

    @admin.display(description="payments deleted", ordering="total_payments_deleted")
    def deleted(self, day):
        return day.total_payments_deleted

    @admin_csv.money(description="amount registered", ordering="total_payments_registered_minor")
    def registered_amount(self, day):
        return Money(day.total_payments_registered_minor, day.currency)

    @admin_csv.money(description="amount verified", ordering="total_payments_verified_minor")
    def verified_amount(self, day):
        return Money(day.total_payments_verified_minor, day.currency)

    @admin_csv.money(description="amount deleted", ordering="total_payments_deleted_minor")
    def deleted_amount(self, day):
        return Money(day.total_payments_deleted_minor, day.currency)

    @admin.display(description="payments registered", ordering="total_payments_registered")
    def registered_payments(self, day):
        return _count_and_amount(day.total_payments_registered, self.registered_amount(day))

    @admin.display(description="payments verified", ordering="total_payments_verified")
    def verified_payments(self, day):
        return _count_and_amount(day.total_payments_verified, self.verified_amount(day))

    @admin.display(description="payments deleted", ordering="total_payments_deleted")
    def deleted_payments(self, day):
        return _count_and_amount(day.total_payments_deleted, self.deleted_amount(day))

    def get_urls(self):
        return [
            path(
                "dashboard/",
                self.admin_site.admin_view(self.dashboard_view),
                name="bi_dashboard",
            ),
            path(
                "dashboard/live/",
                self.admin_site.admin_view(self.live_counts_view),
                name="bi_dashboard_live",
            ),
            *super().get_urls(),
        ]

    def _check_dashboard_permission(self, request):
        if not request.user.has_perm(DASHBOARD_PERMISSION):
            raise PermissionDenied

    def dashboard_view(self, request):
        self._check_dashboard_permission(request)
        return dashboard.dashboard_view(request, self)

    def live_counts_view(self, request):
        self._check_dashboard_permission(request)
        return dashboard.live_counts_view(request)


def _count_and_amount(count: int, amount: Money) -> str:
    """ "12,345" over "€1,234,567.89": how many, and how much."""
    return format_html("{}<br>{}", f"{count:,}", amount)


@admin.register(CampaignDailySpend)
class CampaignDailySpendAdmin(LocalDays, ProjectAdmin, admin.ModelAdmin):
    """Discount money per campaign and day, one line per currency (its rows added up)."""

    list_display = ["local_day", "campaign", "currency", "rides_discounted", "discounts"]
    list_filter = ["campaign", "currency", "day"]
    search_fields = ["campaign"]
    date_hierarchy = "day"
    fields = readonly_fields = list_display

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return _one_line_per_key(
            queryset, ["day", "campaign", "currency"], ["rides", "discounts_minor"]
        )

    @admin.display(description="rides", ordering="total_rides")
    def rides_discounted(self, row):
        return row.total_rides

    def has_add_permission(self, request):
        return False  # the BI subscriber writes these

    def has_change_permission(self, request, obj=None):
        return False

    @admin_csv.money(description="discounts", ordering="total_discounts_minor")
    def discounts(self, row):
        return Money(row.total_discounts_minor, row.currency)
