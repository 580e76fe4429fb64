import json

from django.contrib import admin, messages
from django.utils.html import format_html

from events import services
from events.models import DeadLetter, Delivery, OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ["occurred_at", "type", "id", "published_at", "publish_attempts"]
    list_filter = ["type", "published_at", "occurred_at"]
    search_fields = ["=id", "type"]
    date_hierarchy = "occurred_at"
    readonly_fields = [f.name for f in OutboxEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Deliveries that gave up. Read the error, fix the cause, replay."""

    list_display = ["updated_at", "subscriber", "event_type", "attempts", "short_error"]
    list_filter = ["subscriber", "event__type", "updated_at"]
    search_fields = ["=event__id", "last_error"]
    date_hierarchy = "updated_at"
    list_select_related = ["event"]
    readonly_fields = [
        "event",
        "event_type",
        "subscriber",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "envelope",
        "created_at",
        "updated_at",
    ]
    fields = readonly_fields
    actions = ["replay"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=Delivery.Status.DEAD)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A dead letter's page is read-only; "change" allows the replay action.
        return False if obj is not None else super().has_change_permission(request)

    @admin.display(description="the event as subscribers receive it")
    def envelope(self, delivery):
        text = json.dumps(delivery.event.envelope(), indent=2, sort_keys=True)
        return format_html('<pre class="event-envelope">{}</pre>', text)

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    @admin.display(description="error")
    def short_error(self, delivery):
        return delivery.last_error[:120]

    @admin.action(description="Replay: deliver once more", permissions=["change"])
    def replay(self, request, queryset):
        delivered = failed = 0
        for delivery in queryset.select_related("event"):
            if services.replay_dead_letter(delivery):
                delivered += 1
            else:
                failed += 1
        if delivered:
            self.message_user(request, f"Delivered {delivered} event(s).", messages.SUCCESS)
        if failed:
            self.message_user(
                request, f"{failed} event(s) failed again; see the error.", messages.WARNING
            )
