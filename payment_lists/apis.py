from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.models import Scope
from accounts.permissions import service_key_of
from accounts.throttles import UploadsPerCaller
from core.exceptions import NotFound
from core.money import Money
from payment_lists import selectors, services
from payment_lists.models import PaymentList
from payment_lists.workflow import in_words
from payments.apis import _PaymentApi


class PaymentListSerializer(serializers.ModelSerializer):
    organization = serializers.StringRelatedField()
    status_display = serializers.CharField(source="get_status_display")
    progress = serializers.SerializerMethodField()
    totals = serializers.SerializerMethodField()
    failed_during = serializers.SerializerMethodField()
    error_report_url = serializers.SerializerMethodField()

    class Meta:
        model = PaymentList
        fields = [
            "id",
            "status",
            "status_display",
            "organization",
            "original_name",
            "current_step",
            "progress",
            "rows_total",
            "rows_validated",
            "rows_imported",
            "totals",
            "errors_count",
            "error_report_url",
            "failed_step",
            "failed_during",
            "failure_reason",
            "created_at",
            "finished_at",
        ]

    @extend_schema_field(
        inline_serializer(
            "PaymentListProgress",
            {
                "state": serializers.CharField(),
                "step": serializers.CharField(),
                "done": serializers.IntegerField(allow_null=True),
                "total": serializers.IntegerField(allow_null=True),
                "description": serializers.CharField(),
                "finished": serializers.BooleanField(),
                "label": serializers.CharField(),
            },
        )
    )
    def get_progress(self, payment_list) -> dict:
        """rows done against the real total; null where not known yet."""
        return selectors.progress_of(payment_list).as_dict()

    @extend_schema_field(
        inline_serializer(
            "PaymentListTotal",
            {"amount": serializers.CharField(), "currency": serializers.CharField()},
            many=True,
        )
    )
    def get_totals(self, payment_list) -> list:
        """One amount per currency: amounts in different currencies are never added."""
        totals = payment_list.totals or {}
        return [Money(minor, currency).as_api() for currency, minor in sorted(totals.items())]

    def get_failed_during(self, payment_list) -> str | None:
        return in_words(payment_list.failed_step) if payment_list.failed_step else None

    def get_error_report_url(self, payment_list) -> str | None:
        if not payment_list.error_report:
            return None
        path = reverse("payment-list-error-report", args=[payment_list.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


def _list(request, list_id) -> PaymentList:
    return selectors.list_for(
        user=request.user, service_key=service_key_of(request), list_id=list_id
    )


class PaymentListApi(_PaymentApi, ListAPIView):
    parser_classes = [MultiPartParser]
    throttle_classes = [UploadsPerCaller]  # uploads per user or key (reads are free)
    serializer_class = PaymentListSerializer
    required_permissions = {"GET": "payments.view_payment", "POST": "payments.add_payment"}
    required_scopes = {"GET": Scope.PAYMENT_LISTS_SUBMIT, "POST": Scope.PAYMENT_LISTS_SUBMIT}

    def get_queryset(self):
        return selectors.lists_visible_to(
            user=self.request.user, service_key=service_key_of(self.request)
        )

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "PaymentListUpload",
                {
                    "file": serializers.FileField(),
                    "organization": serializers.IntegerField(required=False),
                },
            )
        },
        responses={202: PaymentListSerializer},
    )
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["Attach the CSV file as 'file'."]})
        if upload.size == 0:
            raise ValidationError({"file": ["The file is empty."]})
        payment_list = services.submit_payment_list_as(
            user=request.user,
            service_key=service_key_of(request),
            organization=request.data.get("organization"),
            uploaded_file=upload,
        )
        body = PaymentListSerializer(payment_list, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class PaymentListDetailApi(_PaymentApi):
    required_permissions = {"GET": "payments.view_payment"}
    required_scopes = {"GET": Scope.PAYMENT_LISTS_SUBMIT}

    @extend_schema(responses=PaymentListSerializer)
    def get(self, request, list_id):
        payment_list = _list(request, list_id)
        return Response(PaymentListSerializer(payment_list, context={"request": request}).data)


class PaymentListErrorReportApi(_PaymentApi):
    required_permissions = {"GET": "payments.view_payment"}
    required_scopes = {"GET": Scope.PAYMENT_LISTS_SUBMIT}

    @extend_schema(responses={(200, "text/csv"): bytes})
    def get(self, request, list_id):
        payment_list = _list(request, list_id)
        if not payment_list.error_report:
            raise NotFound("This list has no error report.")
        return services.error_report_response(payment_list)
