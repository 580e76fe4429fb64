from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ProjectAdmin
from core.admin_cells import cut
from core.forms import AmountInMinorUnitsField
from core.money import Money
from promos import selectors
from promos.models import Campaign, DiscountAward, DiscountTier


class DiscountTierInline(admin.TabularInline):
    model = DiscountTier
    extra = 1
    min_num = 1


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets choose)
        field_classes = {"budget_minor": AmountInMinorUnitsField}
        labels = {"budget_minor": "Budget"}
        help_texts = {"budget_minor": "In the campaign's currency, e.g. 1500.00. Empty: no limit."}


@admin.register(Campaign)
class CampaignAdmin(ProjectAdmin, admin.ModelAdmin):
    form = CampaignForm
    list_display = [
        "name",
        "is_active",
        "priority",
        "starts_at",
        "ends_at",
        "budget_display",
        "spent_display",
        "awards_link",
    ]
    list_filter = ["is_active", "starts_at"]
    search_fields = ["name"]
    date_hierarchy = "starts_at"
    readonly_fields = ["spent_display", "awards_link", "created_at", "updated_at"]
    inlines = [DiscountTierInline]
    fieldsets = [
        (None, {"fields": ["name", "is_active", "priority", ("starts_at", "ends_at")]}),
        ("Where", {"fields": [("center_latitude", "center_longitude", "radius_km")]}),
        (
            "Limits",
            {"fields": ["daily_cap_per_rider", ("budget_minor", "currency"), "spent_display"]},
        ),
        ("Results", {"fields": ["awards_link", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                award_count=Count("awards"),
                discounted_count=Count("awards", filter=Q(awards__multiplier__lt=1)),
                spent_minor=selectors.budget_spent_subquery(),
            )
        )

    @admin.display(description="budget")
    def budget_display(self, campaign):
        if campaign.budget_minor is None:
            return "no limit"
        return str(Money(campaign.budget_minor, campaign.currency))

    @admin.display(description="spent", ordering="spent_minor")
    def spent_display(self, campaign):
        spent_minor = getattr(campaign, "spent_minor", None)
        if spent_minor is None:
            spent_minor = selectors.budget_spent_minor(campaign.pk) if campaign.pk else 0
        spent = str(Money(spent_minor, campaign.currency))
        if not campaign.budget_minor:
            return spent
        return f"{spent} ({spent_minor * 100 // campaign.budget_minor}% of budget)"

    @admin.display(description="awards")
    def awards_link(self, campaign):
        url = (
            reverse("admin:promos_discountaward_changelist") + f"?campaign__id__exact={campaign.pk}"
        )
        total = getattr(campaign, "award_count", None)
        if total is None:
            total = campaign.awards.count()
        discounted = getattr(campaign, "discounted_count", None)
        if discounted is None:
            discounted = campaign.awards.filter(multiplier__lt=1).count()
        return format_html('<a href="{}">{} draws, {} discounted</a>', url, total, discounted)


@admin.register(DiscountAward)
class DiscountAwardAdmin(ProjectAdmin, admin.ModelAdmin):
    list_display = [
        "created_at",
        "rider",
        "campaign",
        "multiplier",
        "outcome",
        "discount",
        "ride_id",
    ]
    list_filter = ["outcome", "campaign", "multiplier", "created_at"]
    list_select_related = ["campaign"]
    search_fields = ["username", "=ride_id"]
    date_hierarchy = "created_at"
    # Every field, the amounts in minor units shown as money (fare, discount).
    readonly_fields = fields = [
        {"fare_minor": "fare", "discount_minor": "discount"}.get(f.name, f.name)
        for f in DiscountAward._meta.fields
    ]

    @admin.display(description="rider", ordering="username")
    def rider(self, award):
        return cut(award.username)

    @admin.display(description="discount", ordering="discount_minor")
    def discount(self, award):
        if not award.discount_minor or award.campaign is None:
            return "None"
        return str(Money(award.discount_minor, award.campaign.currency))  # the fare's

    @admin.display(description="fare")
    def fare(self, award):
        if award.fare_minor is None:
            return "None"
        currency = award.campaign.currency if award.campaign else settings.FARE_CURRENCY
        return str(Money(award.fare_minor, currency))

    def has_add_permission(self, request):
        return False  # awards are drawn by the discount service only

    def has_change_permission(self, request, obj=None):
        return False
