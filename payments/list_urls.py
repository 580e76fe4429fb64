from django.urls import path

from payments import list_apis

urlpatterns = [
    path("", list_apis.PaymentListApi.as_view(), name="payment-list-list"),
    path("<int:list_id>/", list_apis.PaymentListDetailApi.as_view(), name="payment-list-detail"),
    path(
        "<int:list_id>/error-report/",
        list_apis.PaymentListErrorReportApi.as_view(),
        name="payment-list-error-report",
    ),
]
