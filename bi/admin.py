from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path

from accounts.roles import DASHBOARD_PERMISSION
from bi import dashboard
from bi.models import CampaignDailySpend, DailyAggregate
from core.money import Money


@admin.register(DailyAggregate)
class DailyAggregateAdmin(admin.ModelAdmin):
    """The days, as figures; the dashboard (admin:bi_dashboard) draws them."""

    list_display = [
        "day",
        "currency",
        "rides_completed",
        "revenue",
        "discounts",
        "payments_registered",
        "payments_verified",
        "payments_deleted",
    ]
    list_filter = ["day", "currency"]
    search_fields = ["currency"]
    date_hierarchy = "day"
    readonly_fields = [f.name for f in DailyAggregate._meta.fields]

    def has_add_permission(self, request):
        return False  # the BI subscriber writes these

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="revenue", ordering="revenue_minor")
    def revenue(self, day):
        return str(Money(day.revenue_minor, day.currency))

    @admin.display(description="discounts", ordering="discounts_minor")
    def discounts(self, day):
        return str(Money(day.discounts_minor, day.currency))

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


@admin.register(CampaignDailySpend)
class CampaignDailySpendAdmin(admin.ModelAdmin):
    list_display = ["day", "campaign", "currency", "rides", "discounts"]
    list_filter = ["campaign", "currency", "day"]
    search_fields = ["campaign"]
    date_hierarchy = "day"
    readonly_fields = ["day", "campaign", "currency", "rides", "discounts_minor"]

    def has_add_permission(self, request):
        return False  # the BI subscriber writes these

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="discounts", ordering="discounts_minor")
    def discounts(self, row):
        return str(Money(row.discounts_minor, row.currency))
