"""The operators' admin, discovered on first use instead of at every start-up.

Django's default AdminConfig imports every app's admin.py when the app registry loads, so
every Lambda cold start paid for the admin (its forms, actions, CSV export, dashboard)
whether or not the request was for it. Here the admin site imports them the first time
anything asks for its registry: its URLs, its system checks, admin.site.is_registered(),
a test reading admin.site._registry. Same registrations, same order (INSTALLED_APPS').
"""

from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig


class AdminSite(admin.AdminSite):
    site_header = "Wild Rydes operations"
    site_title = "Wild Rydes admin"
    index_title = "Run the business"

    _discovered = False

    @property
    def _registry(self) -> dict:
        if not self._discovered:
            self._discovered = True  # first, since autodiscover registers through here
            admin.autodiscover()
        return self.__dict__["_models"]

    @_registry.setter
    def _registry(self, value: dict) -> None:
        self.__dict__["_models"] = value


class AdminConfig(SimpleAdminConfig):
    """django.contrib.admin with the site above and no discovery at start-up."""

    default_site = "wildrydes.admin_site.AdminSite"
