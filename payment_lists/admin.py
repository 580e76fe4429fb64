"""The payment-list page of the admin: upload, progress, errors, re-run."""

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.exceptions import DomainError
from payment_lists import services
from payment_lists.models import PaymentList
from payments.admin import OrganizationScoped
from payments.models import Organization


class UploadForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.all())
    file = forms.FileField(help_text="CSV: reference,payer_email,amount,currency,ride_id")


@admin.register(PaymentList)
class PaymentListAdmin(OrganizationScoped, admin.ModelAdmin):
    """Finance staff see, download, follow and re-run their organizations' lists only
    (OrganizationScoped: every page and action reads get_queryset)."""

    list_display = [
        "id",
        "original_name",
        "organization",
        "status",
        "progress",
        "errors_count",
        "created_at",
    ]
    list_filter = ["status", ("organization", admin.RelatedOnlyFieldListFilter), "created_at"]
    search_fields = ["original_name", "checksum", "submitted_by"]
    date_hierarchy = "created_at"
    list_select_related = ["organization"]
    actions = ["rerun_failed_lists"]
    readonly_fields = [
        "organization", "original_name", "file", "checksum", "submitted_by", "submitter_email",
        "status", "current_step", "progress", "rows_total", "rows_validated", "rows_imported",
        "total_minor", "errors_count", "error_report_link", "first_errors_table", "failed_step",
        "failure_reason", "created_at", "started_at", "finished_at",
    ]  # fmt: skip
    fieldsets = [
        ("Import", {"fields": [
            "status", "progress", "current_step", ("rows_total", "rows_validated", "rows_imported"),
            "total_minor", "created_at", "started_at", "finished_at",
        ]}),
        ("Errors", {"fields": [
            "errors_count", "error_report_link", "first_errors_table", "failed_step",
            "failure_reason",
        ]}),
        ("File", {"fields": [
            "organization", "original_name", "file", "checksum", "submitted_by", "submitter_email",
        ]}),
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False  # lists arrive through the upload form, the API or the inbox

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

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
        if not request.user.has_perm("payments.add_payment"):
            messages.error(request, "Only finance staff may upload payment lists.")
            return HttpResponseRedirect(reverse("admin:payment_lists_paymentlist_changelist"))
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.user.is_superuser:
            form.fields["organization"].queryset = Organization.objects.all()
        else:
            form.fields["organization"].queryset = request.user.organizations.all()
        if request.method == "POST" and form.is_valid():
            payment_list = services.submit_payment_list(
                organization=form.cleaned_data["organization"],
                uploaded_file=form.cleaned_data["file"],
                submitted_by=request.user.email,
                submitter_email=request.user.email,
            )
            messages.success(request, f"List #{payment_list.pk} received; the import has started.")
            return HttpResponseRedirect(
                reverse("admin:payment_lists_paymentlist_change", args=[payment_list.pk])
            )
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": "Upload a payment list"}  # fmt: skip
        return TemplateResponse(request, "admin/payment_lists/paymentlist/upload.html", context)

    @staticmethod
    def progress_numbers(payment_list) -> tuple[int, int]:
        """Rows done and rows in all, as far as the workflow has got."""
        total = payment_list.rows_total or payment_list.rows_validated or 0
        if payment_list.status == PaymentList.Status.IMPORTED:
            done = total = payment_list.rows_imported
        elif payment_list.rows_imported:
            done = payment_list.rows_imported
        else:
            done = payment_list.rows_validated
        return done, total

    @admin.display(description="progress")
    def progress(self, payment_list):
        done, total = self.progress_numbers(payment_list)
        label = f"{done:,} / {total:,}" if total else "-"
        return format_html(
            '<span class="list-progress" data-list-progress>'
            '<progress value="{}" max="{}" aria-label="rows processed"></progress> '
            "<span data-progress-label>{}</span></span>",
            done, total or 1, label,
        )  # fmt: skip

    def progress_view(self, request, list_id):
        """JSON for the change page, which follows a running import until it finishes."""
        payment_list = self.get_object(request, str(list_id))
        if payment_list is None or not self.has_view_permission(request, payment_list):
            raise Http404("No such payment list.")
        done, total = self.progress_numbers(payment_list)
        return JsonResponse(
            {
                "status": payment_list.status,
                "status_display": payment_list.get_status_display(),
                "current_step": payment_list.current_step,
                "done": done,
                "total": total,
                "label": f"{done:,} / {total:,}" if total else "-",
                "errors_count": payment_list.errors_count,
                "finished": payment_list.is_finished,
            }
        )

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
        rows = "".join(
            format_html("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", *error)
            for error in payment_list.first_errors
        )
        head = "<tr><th>row</th><th>column</th><th>value</th><th>reason</th></tr>"
        return format_html("<table>{}{}</table>", format_html(head), format_html(rows))

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
