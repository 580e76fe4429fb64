"""The payment-list page of the admin: upload, progress, errors, re-run."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from core.admin import ProjectAdmin
from core.exceptions import DomainError
from organizations.admin import OrganizationScoped
from organizations.models import Organization
from organizations.selectors import organizations_acted_for
from payment_lists import selectors, services
from payment_lists.models import PaymentList
from payment_lists.workflow import in_words


class UploadForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.none())
    file = forms.FileField(help_text="CSV: reference,payer_email,amount,currency,ride_id")


@admin.register(PaymentList)
class PaymentListAdmin(ProjectAdmin, OrganizationScoped, admin.ModelAdmin):
    """Finance staff see, download, follow and re-run their organizations' lists only
    (OrganizationScoped: every page and action reads get_queryset)."""

    list_display = [
        "id",
        "original_name",
        "organization",
        "state",
        "progress",
        "problems_found",
        "created_at",
    ]
    list_filter = ["status", ("organization", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["original_name", "checksum", "submitted_by"]
    date_hierarchy = "created_at"
    list_select_related = ["organization"]
    actions = ["rerun_failed_lists"]
    # Plain words on the operator's page: what it is doing, how far it is, what went wrong.
    readonly_fields = [
        "organization", "original_name", "file", "checksum", "submitted_by", "submitter_email",
        "state", "step_now", "progress", "rows_in_file", "rows_checked", "payments_imported",
        "totals_display", "problems_found", "error_report_link", "first_errors_table",
        "failed_during", "why_it_failed", "created_at", "started_at", "finished_at",
    ]  # fmt: skip
    fieldsets = [
        ("Import", {"fields": [
            "state", "step_now", "progress", ("rows_in_file", "rows_checked", "payments_imported"),
            "totals_display", "created_at", "started_at", "finished_at",
        ]}),
        ("Problems", {"fields": [
            "failed_during", "why_it_failed", "problems_found", "error_report_link",
            "first_errors_table",
        ]}),
        ("File", {"fields": [
            "organization", "original_name", "file", "checksum", "submitted_by", "submitter_email",
        ]}),
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False  # lists arrive through the upload form, the API or the inbox

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """A failed list's page, where its failure is told, offers "Re-run this list" (the
        list's action on it alone) to who may run it."""
        offered = []
        if (
            obj is not None
            and obj.status == PaymentList.Status.FAILED
            and super().has_change_permission(request)
        ):
            offered.append(("rerun_failed_lists", "Re-run this list"))
        context["object_actions"] = offered
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        upload = path(
            "upload/",
            self.admin_site.admin_view(self.upload_view),
            name="payment_lists_paymentlist_upload",
        )
        report = path(
            "<int:list_id>/error-report/",
            self.admin_site.admin_view(self.error_report_view),
            name="payment_lists_paymentlist_error_report",
        )
        progress = path(
            "<int:list_id>/progress/",
            self.admin_site.admin_view(self.progress_view),
            name="payment_lists_paymentlist_progress",
        )
        return [upload, report, progress, *super().get_urls()]

    def error_report_view(self, request, list_id):
        payment_list = self.get_object(request, str(list_id))
        if payment_list is None or not self.has_view_permission(request, payment_list):
            raise Http404("No such payment list.")
        if not payment_list.error_report:
            raise Http404("This list has no error report.")
        return services.error_report_response(payment_list)

    def upload_view(self, request):
        if not services.may_submit_lists(user=request.user):
            messages.error(request, "Only finance staff may upload payment lists.")
            return HttpResponseRedirect(reverse("admin:payment_lists_paymentlist_changelist"))
        form = UploadForm(request.POST or None, request.FILES or None)
        # Whom one may submit for: the same rule as the API's (payment_lists.services).
        form.fields["organization"].queryset = organizations_acted_for(user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                payment_list = services.submit_payment_list_as(
                    user=request.user,
                    organization=form.cleaned_data["organization"].pk,
                    uploaded_file=form.cleaned_data["file"],
                )
            except ValidationError as error:  # no longer a member since the page was shown
                form.add_error(None, error)
            else:
                messages.success(
                    request, f"List #{payment_list.pk} received; the import has started."
                )
                return HttpResponseRedirect(
                    reverse("admin:payment_lists_paymentlist_change", args=[payment_list.pk])
                )
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": "Upload a payment list"}  # fmt: skip
        return TemplateResponse(request, "admin/payment_lists/paymentlist/upload.html", context)

    @admin.display(description="status", ordering="status")
    def state(self, payment_list):
        return payment_list.get_status_display()

    @admin.display(description="doing now")
    def step_now(self, payment_list):
        return selectors.progress_of(payment_list).step or "-"

    @admin.display(description="rows in the file")
    def rows_in_file(self, payment_list):
        total = payment_list.rows_total
        return "not known yet" if total is None else f"{total:,}"

    @admin.display(description="rows checked")
    def rows_checked(self, payment_list):
        return f"{payment_list.rows_validated:,}"

    @admin.display(description="payments imported")
    def payments_imported(self, payment_list):
        return f"{payment_list.rows_imported:,}"

    @admin.display(description="totals")
    def totals_display(self, payment_list):
        return selectors.totals_in_words(payment_list) or "-"

    @admin.display(description="problems found")
    def problems_found(self, payment_list):
        return f"{payment_list.errors_count:,}"

    @admin.display(description="failed while")
    def failed_during(self, payment_list):
        return in_words(payment_list.failed_step) if payment_list.failed_step else "-"

    @admin.display(description="why it failed")
    def why_it_failed(self, payment_list):
        return payment_list.failure_reason or "-"

    @admin.display(description="progress")
    def progress(self, payment_list):
        progress = selectors.progress_of(payment_list)
        if progress.done is not None and progress.total is not None:
            bar = format_html(
                '<progress value="{}" max="{}" aria-label="{}"></progress>',
                progress.done, progress.total or 1, progress.description,
            )  # fmt: skip
        elif progress.finished:
            bar = ""  # failed: the sentence says what happened
        else:
            # Indeterminate (no value): how far it is, is not known; the words say why.
            bar = format_html('<progress aria-label="{}"></progress>', progress.description)
        return format_html(
            '<span class="list-progress" data-list-progress>{} '
            "<span data-progress-label>{}</span></span>",
            bar, progress.description,
        )  # fmt: skip

    def progress_view(self, request, list_id):
        """JSON for the change page, which follows a running import until it finishes."""
        payment_list = self.get_object(request, str(list_id))
        if payment_list is None or not self.has_view_permission(request, payment_list):
            raise Http404("No such payment list.")
        progress = selectors.progress_of(payment_list)
        return JsonResponse({**progress.as_dict(), "errors_count": payment_list.errors_count})

    @admin.display(description="error report")
    def error_report_link(self, payment_list):
        if not payment_list.error_report:
            return "-"
        url = reverse("admin:payment_lists_paymentlist_error_report", args=[payment_list.pk])
        return format_html('<a href="{}">Download the error report (CSV)</a>', url)

    @admin.display(description="first errors")
    def first_errors_table(self, payment_list):
        if not payment_list.first_errors:
            return "-"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", payment_list.first_errors
        )
        head = mark_safe("<tr><th>row</th><th>column</th><th>value</th><th>reason</th></tr>")
        return format_html("<table>{}{}</table>", head, rows)

    @admin.action(description="Re-run selected failed lists", permissions=["change"])
    def rerun_failed_lists(self, request, queryset):
        for payment_list in queryset:
            try:
                services.rerun_payment_list(payment_list)
                self.message_user(request, f"List #{payment_list.pk} restarted.", messages.SUCCESS)
            except DomainError as error:
                self.message_user(
                    request, f"List #{payment_list.pk}: {error.detail}", messages.WARNING
                )
