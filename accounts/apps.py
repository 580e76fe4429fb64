from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from accounts import schema  # noqa: F401 (registers the OpenAPI extension)
        from accounts.roles import sync_group_permissions

        # After every app's migrations: an app later in INSTALLED_APPS gets its
        # permissions created only when its own post_migrate signal fires.
        post_migrate.connect(sync_group_permissions, dispatch_uid="sync_group_permissions")
