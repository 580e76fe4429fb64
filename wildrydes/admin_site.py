"""The operators' admin: django.contrib.admin with the site's own titles."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminSite(admin.AdminSite):
    site_header = "Wild Rydes operations"
    site_title = "Wild Rydes admin"
    index_title = "Run the business"


class AdminConfig(DjangoAdminConfig):
    """django.contrib.admin, with the site above as `admin.site`."""

    default_site = "wildrydes.admin_site.AdminSite"
