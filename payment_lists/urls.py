from django.urls import path

from payment_lists import apis

urlpatterns = [
    path("", apis.PaymentListApi.as_view(), name="payment-list-list"),
    path("<int:list_id>/", apis.PaymentListDetailApi.as_view(), name="payment-list-detail"),
    path(
        "<int:list_id>/error-report/",
        apis.PaymentListErrorReportApi.as_view(),
        name="payment-list-error-report",
    ),
]
