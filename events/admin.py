import json

from django.contrib import admin, messages
from django.db.models.constants import LOOKUP_SEP
from django.utils.html import format_html
from django.utils.timesince import timesince

from core.admin import ProjectAdmin
from events import access
from events.delivery import replay_dead_letter
from events.models import DeadLetter, Delivery, OutboxEvent

PAYLOAD_LOOKUPS = {"exact", "iexact", "startswith", "istartswith", "endswith", "iendswith",
                   "icontains", "isnull"}  # fmt: skip
REDACTED = "(hidden: payment data is for finance staff of the payment's organization)"


def _read_by(request, event):
    """Tag an event fetched for a page with who reads it (for the redacting fields)."""
    if event is not None:
        event._reader = request.user
    return event


def shown_envelope(user, event: OutboxEvent) -> dict:
    """The event as `user` may see it: the payload only if the rule of the app it comes from
    lets them (events.access; for payment events, payments.selectors.may_read_payment_data)."""
    envelope = event.envelope()
    if not access.may_read(user, event.type, event.data):
        envelope["data"] = REDACTED
    return envelope


@admin.register(OutboxEvent)
class OutboxEventAdmin(ProjectAdmin, admin.ModelAdmin):
    list_display = ["occurred_at", "type", "id", "published_at", "publish_attempts"]
    ordering = ["-occurred_at"]  # newest first (the model's order is the relay's: oldest)
    list_filter = ["type", "published_at", "occurred_at"]
    search_fields = ["=id", "type"]
    date_hierarchy = "occurred_at"
    # The payload is shown through `payload`, redacted for whoever may not read it.
    readonly_fields = ["payload" if f.name == "data" else f.name for f in OutboxEvent._meta.fields]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_object(self, request, object_id, from_field=None):
        return _read_by(request, super().get_object(request, object_id, from_field))

    def lookup_allowed(self, lookup, value, request=None):
        # The page offers no filter on the payload (ProjectAdmin refuses it): one
        # typed into the URL (?data__payer_email__startswith=...) would tell, by the rows it
        # leaves, what a payload hidden from the reader says. Superusers, who may read every
        # payload, may still filter on a key's text, with lookups the database cannot reject.
        path = lookup.split(LOOKUP_SEP)
        if path[0] == "data" and len(path) >= 3 and path[-1] in PAYLOAD_LOOKUPS:
            superuser = request is not None and request.user.is_superuser
            return superuser and not (isinstance(value, str) and "\x00" in value)
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="data")
    def payload(self, event):
        data = shown_envelope(event._reader, event)["data"]
        return format_html('<pre class="event-envelope">{}</pre>', json.dumps(data, indent=2))


@admin.register(DeadLetter)
class DeadLetterAdmin(ProjectAdmin, admin.ModelAdmin):
    """Deliveries that gave up. Read the error, fix the cause, replay."""

    # The error first among the long columns, and the time as an age: it fits 1280 px.
    list_display = ["event_type", "subscriber", "short_error", "attempts", "age"]
    list_display_links = ["event_type"]
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

    def get_object(self, request, object_id, from_field=None):
        delivery = super().get_object(request, object_id, from_field)
        if delivery is not None:
            _read_by(request, delivery.event)
        return delivery

    @admin.display(description="the event as subscribers receive it")
    def envelope(self, delivery):
        envelope = shown_envelope(delivery.event._reader, delivery.event)
        text = json.dumps(envelope, indent=2, sort_keys=True)
        return format_html('<pre class="event-envelope">{}</pre>', text)

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    @admin.display(description="error")
    def short_error(self, delivery):
        return delivery.last_error[:120]

    @admin.display(description="age", ordering="-updated_at")
    def age(self, delivery):
        return timesince(delivery.updated_at, depth=1)

    @admin.action(description="Replay: deliver once more", permissions=["change"])
    def replay(self, request, queryset):
        delivered = failed = 0
        for delivery in queryset.select_related("event"):
            if replay_dead_letter(delivery):
                delivered += 1
            else:
                failed += 1
        if delivered:
            self.message_user(request, f"Delivered {delivered} event(s).", messages.SUCCESS)
        if failed:
            self.message_user(
                request, f"{failed} event(s) failed again; see the error.", messages.WARNING
            )
