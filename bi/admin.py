from django.contrib import admin

from bi.models import CampaignDailySpend, DailyAggregate


@admin.register(DailyAggregate)
class DailyAggregateAdmin(admin.ModelAdmin):
    list_display = [
        "day",
        "rides_completed",
        "revenue_minor",
        "discounts_minor",
        "payments_registered",
        "payments_verified",
        "payments_deleted",
    ]
    date_hierarchy = "day"
    readonly_fields = [f.name for f in DailyAggregate._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(CampaignDailySpend)
class CampaignDailySpendAdmin(admin.ModelAdmin):
    list_display = ["day", "campaign", "rides", "discounts_minor"]
    list_filter = ["campaign"]
    search_fields = ["campaign"]
    date_hierarchy = "day"
    readonly_fields = ["day", "campaign", "rides", "discounts_minor"]

    def has_add_permission(self, request):
        return False
