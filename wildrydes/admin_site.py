"""The operators' admin: django.contrib.admin with the site's own titles, and its sign-in
and password-change pages in the API's sign-in limits (accounts.admin_forms)."""

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
        return _too_many_tries_is_429(super().login(request, extra_context))

    def password_change(self, request, extra_context=None):
        """Django's, with the current password checked in the sign-in limits."""
        from django.contrib.auth.views import PasswordChangeView
        from django.urls import reverse

        from accounts.admin_forms import own_password_change_form

        defaults = {
            "form_class": own_password_change_form(request),
            "success_url": reverse("admin:password_change_done", current_app=self.name),
            "extra_context": {**self.each_context(request), **(extra_context or {})},
        }
        if self.password_change_template is not None:
            defaults["template_name"] = self.password_change_template
        request.current_app = self.name
        return _too_many_tries_is_429(PasswordChangeView.as_view(**defaults)(request))


def _too_many_tries_is_429(response):
    """A form refused for too many tries (its retry_after) answers 429 with Retry-After."""
    form = (getattr(response, "context_data", None) or {}).get("form")
    wait = getattr(form, "retry_after", None)
    if wait:
        response.status_code = 429
        response["Retry-After"] = str(wait)
    return response


class AdminConfig(DjangoAdminConfig):
    """django.contrib.admin, with the site above as `admin.site`."""

    default_site = "wildrydes.admin_site.AdminSite"
