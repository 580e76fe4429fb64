from django.contrib import admin

from core.admin import ProjectAdmin
from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ProjectAdmin, admin.ModelAdmin):
    list_display = ["created_at", "user", "message", "read_at"]
    list_filter = ["event_type", "created_at"]
    search_fields = ["user__email", "message"]
    date_hierarchy = "created_at"
    raw_id_fields = ["user"]
    readonly_fields = ["user", "message", "event_id", "event_type", "created_at", "read_at"]
    list_select_related = ["user"]

    def has_add_permission(self, request):
        return False
