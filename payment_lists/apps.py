from django.apps import AppConfig


class PaymentListsConfig(AppConfig):
    name = "payment_lists"
    verbose_name = "Payment lists"
