from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"

    def ready(self):
        from notifications import privacy  # noqa: F401 (erases a closed account's data)
