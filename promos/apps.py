from django.apps import AppConfig


class PromosConfig(AppConfig):
    name = "promos"

    def ready(self):
        from promos import privacy  # noqa: F401 (erases a closed account's data)
