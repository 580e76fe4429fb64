from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        from payments import privacy  # noqa: F401 (erases a closed account's data)
