"""Site-wide admin pieces: every change list can be exported as CSV."""

from django.contrib import admin

from core.admin_csv import export_as_csv

admin.site.add_action(export_as_csv, "export_as_csv")
