from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from accounts.roles import sync_group_permissions

        post_migrate.connect(sync_group_permissions, sender=self)
