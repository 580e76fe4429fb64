from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self):
        from events.access import guard_payloads
        from payments import privacy  # noqa: F401 (erases a closed account's data)
        from payments.selectors import may_read_payment_data

        # Payment and payment-list events show their payloads to whoever sees the payments.
        guard_payloads("payments.", may_read_payment_data)
        guard_payloads("payment_lists.", may_read_payment_data)
