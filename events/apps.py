from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Domain events"

    def ready(self):
        from events import privacy  # noqa: F401 (erases a closed account's address)
