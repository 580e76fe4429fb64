from django.urls import path

from payments import apis

urlpatterns = [
    path("", apis.PaymentListCreateApi.as_view(), name="payment-list"),
    path("<uuid:payment_id>/", apis.PaymentDetailApi.as_view(), name="payment-detail"),
    path("<uuid:payment_id>/verify/", apis.PaymentVerifyApi.as_view(), name="payment-verify"),
]
