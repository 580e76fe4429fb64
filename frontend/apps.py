from django.apps import AppConfig


class FrontendConfig(AppConfig):
    """The rider's web pages: templates and static JS/CSS that call the REST API."""

    name = "frontend"
    verbose_name = "Rider web pages"
