from django.apps import AppConfig


class RidesConfig(AppConfig):
    name = "rides"

    def ready(self):
        from rides import privacy  # noqa: F401 (no closing an account during a ride)
