"""The operators' admin: django.contrib.admin with the site's own titles, and its sign-in
page in the API's sign-in limits (accounts.admin_forms.AdminSignInForm)."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminSite(admin.AdminSite):
    site_header = "Wild Rydes operations"
    site_title = "Wild Rydes admin"
    index_title = "Run the business"

    @property
    def login_form(self):
        from accounts.admin_forms import AdminSignInForm

        return AdminSignInForm

    def login(self, request, extra_context=None):
        """A sign-in refused for too many tries answers 429 with Retry-After."""
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        wait = getattr(form, "retry_after", None)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response


class AdminConfig(DjangoAdminConfig):
    """django.contrib.admin, with the site above as `admin.site`."""

    default_site = "wildrydes.admin_site.AdminSite"
