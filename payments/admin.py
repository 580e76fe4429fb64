from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.utils.html import format_html

from core import admin_csv
from core.admin import ProjectAdmin, quoted_ride_reference
from core.admin_actions import apply_to_each, confirmation_page, confirmed
from core.admin_cells import cut
from core.forms import AmountInMinorUnitsField
from core.money import Money
from organizations.admin import OrganizationScoped
from organizations.models import Organization
from payments import services
from payments.models import Payment, Subscription, SubscriptionLimit
from payments.selectors import payments_managed_by

WRAPS_ANYWHERE = "overflow-wrap: anywhere; display: inline-block; min-width: 12ch"


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(ProjectAdmin, OrganizationScoped, admin.ModelAdmin):
    organization_path = "pk"

    list_display = ["name", "member_count", "created_at"]
    ordering = ["name"]  # explicit: the member count's GROUP BY drops Meta.ordering
    search_fields = ["name"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at"]
    filter_horizontal = ["members"]
    inlines = [SubscriptionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_count=Count("members"))

    @admin.display(description="members", ordering="member_count")
    def member_count(self, organization):
        return organization.member_count

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "members":
            # Members act for the organization in the admin: staff only, never the riders.
            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change and not request.user.is_superuser:
            # Whoever creates an organization acts for it (else it would vanish from view).
            form.instance.members.add(request.user)


class SubscriptionLimitForm(forms.ModelForm):
    class Meta:
        model = SubscriptionLimit
        fields = "__all__"  # noqa: DJ007 (the inline shows them all)
        field_classes = {"max_total_minor_per_list": AmountInMinorUnitsField}
        help_texts = {"max_total_minor_per_list": "In this currency, e.g. 25000.00."}

    def clean_currency(self):
        # Written as the model keeps it (SubscriptionLimit.clean) before the formset looks
        # for a currency given twice: "usd" and "USD" are one currency, not two rows.
        return self.cleaned_data["currency"].upper()


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = "__all__"  # noqa: DJ007 (the admin shows them all)
        field_classes = {"max_total_minor_per_list": AmountInMinorUnitsField}
        help_texts = {
            "max_total_minor_per_list": "An amount, e.g. 25000.00, in each currency apart that "
            "has no limit of its own below; never the sum of several currencies. Empty: only "
            "the currencies below."
        }


class SubscriptionLimitInline(admin.TabularInline):
    """The plan's limit per list in each currency."""

    model = SubscriptionLimit
    form = SubscriptionLimitForm
    extra = 1
    verbose_name = "limit per currency"
    verbose_name_plural = "limits per currency (a list's total in each currency apart)"


@admin.register(Subscription)
class SubscriptionAdmin(ProjectAdmin, OrganizationScoped, admin.ModelAdmin):
    form = SubscriptionForm
    inlines = [SubscriptionLimitInline]
    list_display = ["organization", "plan", "starts_at", "ends_at", "max_rows_per_list"]
    list_filter = ["plan", "starts_at"]
    search_fields = ["organization__name", "plan"]
    date_hierarchy = "starts_at"
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]


@admin.register(Payment)
class PaymentAdmin(ProjectAdmin, admin.ModelAdmin):
    # Who registered a payment is on its page: the list fits 1280 px with both sidebars open.
    list_display = [
        "reference_display",
        "amount_display",
        "status_display",
        "ride_reference",
        "payer_email_cut",
        "registered_at",
        "organization",
    ]
    list_filter = [
        "status", "deletion_reason", "currency", "registered_at",
        ("organization", admin.RelatedOnlyFieldListFilter),
    ]  # fmt: skip
    search_fields = ["reference", "payer_email", "=id"]
    search_help_text = (
        "A payment's reference, a payer's e-mail, a ride's reference (WR-7K3Q9P) or a payment id."
    )
    date_hierarchy = "registered_at"
    list_select_related = ["organization"]
    raw_id_fields = ["ride", "payer", "organization"]
    # Every field is an audit fact: payments change only through the payment services. The
    # amount as people read it, with its currency ("$6.25", not "Amount minor: 625").
    fields = readonly_fields = [
        "id", "reference", "amount_display", "status_display", "ride", "payer", "payer_email",
        "organization", "payment_list_id", "registered_at", "registered_by", "verified_at",
        "verified_by", "deleted_at", "deleted_by", "deletion_display",
    ]  # fmt: skip
    actions = ["verify_selected", "delete_selected_payments"]

    def get_queryset(self, request):
        # The same rows the API shows this user; actions and pages work on these only.
        return payments_managed_by(request.user)

    def has_add_permission(self, request):
        return False  # payments come through the API, rides and payment lists

    def has_delete_permission(self, request, obj=None):
        return False  # deleting keeps the row: use the "delete" action

    def has_change_permission(self, request, obj=None):
        # A payment's page is read-only; "change" allows the verify and delete actions.
        return False if obj is not None else super().has_change_permission(request)

    def get_search_results(self, request, queryset, search_term):
        """The reference a rider quotes (WR-7K3Q9P, with or without "WR-") finds the ride's
        payments, its fare and any fee: their own references are "ride-<id>", which nobody
        reads out. Anything else is searched as before."""
        reference = quoted_ride_reference(search_term)
        if reference:
            found = queryset.filter(ride__reference=reference)
            if found.exists():
                return found, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description="reference", ordering="reference")
    def reference_display(self, payment):
        # A ride's charge is "ride-<uuid>-fee", 46 characters without a space: it may wrap
        # anywhere, so that amount, status and ride stay in view (a phone showed only it).
        return format_html('<span style="{}">{}</span>', WRAPS_ANYWHERE, payment.reference)

    @admin.display(description="status", ordering="status")
    def status_display(self, payment):
        """ "deleted (waived)" for a fee an operator forgave: not money taken back."""
        if payment.deletion_reason == Payment.DeletionReason.FEE_WAIVED:
            return f"{payment.get_status_display()} (waived)"
        return payment.get_status_display()

    @admin.display(description="deletion reason")
    def deletion_display(self, payment):
        """Why it was deleted, and by whom, in a sentence finance can act on."""
        if payment.deletion_reason == Payment.DeletionReason.FEE_WAIVED:
            return (
                f"Fee waived by {payment.deleted_by}: the ride's fee was forgiven; the rider "
                "owes nothing for it."
            )
        return None  # nothing to add ("-"): deleted by whoever is named, or not deleted

    @admin.display(description="payer", ordering="payer_email")
    def payer_email_cut(self, payment):
        return cut(payment.payer_email)

    @admin.display(description="ride", ordering="ride__reference")
    def ride_reference(self, payment):
        if not payment.ride_id:
            return None
        return format_html('<span class="nowrap">{}</span>', payment.ride.reference)

    @admin_csv.money(description="amount", ordering="amount_minor")
    def amount_display(self, payment):
        return Money(payment.amount_minor, payment.currency)

    def _apply(self, request, queryset, change, verb):
        apply_to_each(
            self, request, queryset, lambda p: change(payment=p, actor=request.user),
            verb=verb, noun="payment", label=lambda p: p.reference,
        )  # fmt: skip

    @admin.action(description="Verify selected payments", permissions=["change"])
    def verify_selected(self, request, queryset):
        self._apply(request, queryset, services.verify_payment, "Verified")

    @admin.action(description="Delete selected payments (kept for audit)", permissions=["change"])
    def delete_selected_payments(self, request, queryset):
        """payments.services.delete_payment for each, asked first: a deleted payment cannot
        be registered or verified again (next to "Verify" in the menu, one slip away)."""
        if not confirmed(request):
            payments = list(queryset)
            registered = [p for p in payments if p.status == Payment.Status.REGISTERED]
            if registered:
                return confirmation_page(
                    self, request, payments, title="Delete these payments?",
                    will=[(p.pk, f"delete {p.reference} ({self.amount_display(p)}, "
                                 f"{p.payer_email or 'no payer'}): it stays listed as deleted")
                          for p in registered],
                    wont=[f"{p.reference}: {p.get_status_display()}, cannot be deleted"
                          for p in payments if p not in registered],
                    button=f"Yes, delete {len(registered)} payment"
                    + ("" if len(registered) == 1 else "s"),
                )  # fmt: skip
        self._apply(request, queryset, services.delete_payment, "Deleted")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions
