from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.models import Scope
from accounts.permissions import service_key_of
from core.exceptions import NotFound
from payment_lists import services
from payment_lists.models import PaymentList
from payments.apis import _PaymentApi
from payments.models import Organization


class PaymentListSerializer(serializers.ModelSerializer):
    organization = serializers.StringRelatedField()
    error_report_url = serializers.SerializerMethodField()

    class Meta:
        model = PaymentList
        fields = [
            "id",
            "status",
            "organization",
            "original_name",
            "current_step",
            "rows_total",
            "rows_validated",
            "rows_imported",
            "errors_count",
            "error_report_url",
            "failed_step",
            "failure_reason",
            "created_at",
            "finished_at",
        ]

    def get_error_report_url(self, payment_list) -> str | None:
        if not payment_list.error_report:
            return None
        path = reverse("payment-list-error-report", args=[payment_list.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


def organizations_of(request):
    key = service_key_of(request)
    if key is not None:
        return Organization.objects.filter(pk=key.organization_id)
    return request.user.organizations.all()


def lists_visible_to(request):
    return PaymentList.objects.filter(organization__in=organizations_of(request)).select_related(
        "organization"
    )


def list_for(request, list_id) -> PaymentList:
    payment_list = lists_visible_to(request).filter(pk=list_id).first()
    if payment_list is None:
        raise NotFound("No such payment list.")
    return payment_list


def _submitting_organization(request) -> Organization:
    organizations = organizations_of(request)
    wanted = request.data.get("organization")
    if wanted:
        chosen = organizations.filter(pk=wanted).first() if str(wanted).isdigit() else None
        if chosen is None:
            raise ValidationError({"organization": ["You cannot submit for that organization."]})
        return chosen
    choices = list(organizations[:2])
    if not choices:
        raise PermissionDenied("You do not act for any organization, so you cannot submit lists.")
    if len(choices) > 1:
        raise ValidationError({"organization": ["You act for several organizations: choose one."]})
    return choices[0]


class PaymentListApi(_PaymentApi, ListAPIView):
    parser_classes = [MultiPartParser]
    serializer_class = PaymentListSerializer
    required_permissions = {"GET": "payments.view_payment", "POST": "payments.add_payment"}
    required_scopes = {"GET": Scope.PAYMENT_LISTS_SUBMIT, "POST": Scope.PAYMENT_LISTS_SUBMIT}

    def get_queryset(self):
        return lists_visible_to(self.request)

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
        organization = _submitting_organization(request)
        payment_list = services.submit_payment_list(
            organization=organization,
            uploaded_file=upload,
            submitted_by=getattr(request.user, "email", str(request.user)),
            submitter_email=getattr(request.user, "email", "")
            if not service_key_of(request)
            else "",
        )
        body = PaymentListSerializer(payment_list, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class PaymentListDetailApi(_PaymentApi):
    required_permissions = {"GET": "payments.view_payment"}
    required_scopes = {"GET": Scope.PAYMENT_LISTS_SUBMIT}

    @extend_schema(responses=PaymentListSerializer)
    def get(self, request, list_id):
        payment_list = list_for(request, list_id)
        return Response(PaymentListSerializer(payment_list, context={"request": request}).data)


class PaymentListErrorReportApi(_PaymentApi):
    required_permissions = {"GET": "payments.view_payment"}
    required_scopes = {"GET": Scope.PAYMENT_LISTS_SUBMIT}

    @extend_schema(responses={(200, "text/csv"): bytes})
    def get(self, request, list_id):
        payment_list = list_for(request, list_id)
        if not payment_list.error_report:
            raise NotFound("This list has no error report.")
        return services.error_report_response(payment_list)
