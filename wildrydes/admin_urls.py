"""/admin/: loaded by the root URLconf on the first request for it (see wildrydes/urls.py)."""

from django.contrib import admin

urlpatterns = admin.site.get_urls()
