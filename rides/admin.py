from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from core.admin import ProjectAdmin, quoted_ride_reference
from core.admin_actions import apply_to_each, confirmation_page, confirmed
from core.admin_cells import cut
from core.money import Money
from payments.selectors import payments_managed_by
from rides import lifecycle, selectors, services
from rides.models import ACTIVE_STATUSES, Ride, Unicorn, UnicornApplication


class StuckFilter(admin.SimpleListFilter):
    """Unicorns marked busy that no active ride holds: dispatch passes them by until an
    operator frees them ("Free selected stuck unicorns")."""

    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request, model_admin):
        return [("yes", "Not available, on no ride (stuck)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(is_available=False).exclude(
                pk__in=Ride.objects.filter(status__in=ACTIVE_STATUSES).values("unicorn_id")
            )
        return queryset


@admin.register(Unicorn)
class UnicornAdmin(ProjectAdmin, admin.ModelAdmin):
    # What an operator looks for first (free? on which ride?) before the description, so
    # that a phone shows it without scrolling sideways.
    list_display = [
        "name",
        "on_duty",
        "is_available",
        "ride_now",
        "color",
        "gender",
        "position",
        "updated_at",
    ]
    list_filter = [StuckFilter, "on_duty", "is_available", "gender", "color"]
    search_fields = ["name", "color"]
    date_hierarchy = "created_at"
    readonly_fields = ["is_available", "ride_now", "created_at", "updated_at"]
    fields = [
        "name",
        "color",
        "gender",
        ("latitude", "longitude"),
        "on_duty",
        "is_available",
        "ride_now",
        "created_at",
        "updated_at",
    ]
    actions = ["put_on_duty", "put_off_duty", "free_stuck_unicorns"]

    def get_queryset(self, request):
        # The active ride each unicorn is on (at most one), in the list's one query.
        active = Ride.objects.filter(unicorn=OuterRef("pk"), status__in=ACTIVE_STATUSES)
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_ride_id=Subquery(active.values("pk")[:1]),
                active_ride_reference=Subquery(active.values("reference")[:1]),
            )
        )

    def save_model(self, request, obj, form, change):
        """On or off duty from the unicorn's page goes through the same service as the
        list's actions (rides.services.set_unicorns_on_duty: reported as an event, as who);
        the form saved it straight to the row, with no event."""
        duty_changed = change and "on_duty" in form.changed_data
        wanted = obj.on_duty
        if duty_changed:
            obj.on_duty = form.initial["on_duty"]  # the rest saved first; duty by the service
        super().save_model(request, obj, form, change)
        if duty_changed:
            services.set_unicorns_on_duty([obj], wanted, by=request.user)
            obj.on_duty = wanted

    @admin.display(description="ride now")
    def ride_now(self, unicorn):
        ride_id = getattr(unicorn, "active_ride_id", None)  # None on the "add" page
        if ride_id is None:
            return "stuck: on no ride" if unicorn.pk and not unicorn.is_available else None
        url = reverse("admin:rides_ride_change", args=[ride_id])
        return format_html('<a class="nowrap" href="{}">{}</a>', url, unicorn.active_ride_reference)

    @admin.action(description="Free selected stuck unicorns (on no ride)", permissions=["change"])
    def free_stuck_unicorns(self, request, queryset):
        """rides.services.free_stuck_unicorn for each: asked first; a unicorn on a ride or
        already free is left, with the reason."""
        if not confirmed(request):
            unicorns = list(queryset)
            stuck = [u for u in unicorns if not u.is_available and u.active_ride_id is None]
            if stuck:
                return confirmation_page(
                    self, request, unicorns, title="Free these unicorns?",
                    will=[(u.pk, f"free {u.name}: dispatch may send it on rides again")
                          for u in stuck],
                    wont=[f"{u.name}: " + (f"on ride {u.active_ride_reference}"
                                          if u.active_ride_id else "already free")
                          for u in unicorns if u not in stuck],
                    button=f"Yes, free {_count(len(stuck), 'unicorn')}",
                )  # fmt: skip
        apply_to_each(
            self, request, queryset,
            lambda u: services.free_stuck_unicorn(unicorn=u, by=request.user),
            verb="Freed", noun="unicorn", label=lambda u: u.name,
        )  # fmt: skip

    @admin.display(description="position (lat, lng)", ordering="latitude")
    def position(self, unicorn):
        return f"{unicorn.latitude:.5f}, {unicorn.longitude:.5f}"

    def _set_duty(self, request, queryset, on_duty: bool):
        changed = services.set_unicorns_on_duty(queryset, on_duty, by=request.user)
        state = "on duty" if on_duty else "off duty"
        if changed:
            names = ", ".join(unicorn.name for unicorn in changed[:10])
            more = f" and {len(changed) - 10} more" if len(changed) > 10 else ""
            self.message_user(
                request, f"Put {len(changed)} unicorn(s) {state}: {names}{more}.", messages.SUCCESS
            )
        else:
            self.message_user(request, f"The selected unicorns were already {state}.")

    @admin.action(description="Put selected unicorns on duty", permissions=["change"])
    def put_on_duty(self, request, queryset):
        self._set_duty(request, queryset, True)

    @admin.action(description="Put selected unicorns off duty", permissions=["change"])
    def put_off_duty(self, request, queryset):
        self._set_duty(request, queryset, False)


class NeedsAttentionFilter(admin.SimpleListFilter):
    """Rides an operator should look at now (rides.selectors.rides_needing_attention)."""

    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [
            ("any", "Any of these"),
            ("waiting", "Waiting long at the pickup"),
            ("stuck", "Stuck (late, or on board for hours)"),
            ("expired", "Expired in the last day"),
        ]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        wanted = selectors.rides_needing_attention()
        statuses = {
            "waiting": [Ride.Status.ARRIVED],
            "stuck": [Ride.Status.ASSIGNED, Ride.Status.IN_PROGRESS],
            "expired": [Ride.Status.EXPIRED],
        }.get(self.value())
        if statuses:
            wanted = wanted.filter(status__in=statuses)
        return queryset.filter(pk__in=wanted.values("pk"))


class ActiveFilter(admin.SimpleListFilter):
    """The rides still going on (ACTIVE_STATUSES): the dashboard's "Rides in progress"."""

    title = "active"
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", "Active (on the way, at the pickup, on board)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status__in=ACTIVE_STATUSES)
        return queryset


@admin.register(Ride)
class RideAdmin(ProjectAdmin, admin.ModelAdmin):
    # Short columns, so status, unicorn, rider, fare and age fit at 1280 px with both
    # sidebars open: the unicorn's name wraps, the rider's e-mail is cut (its title whole).
    list_display = ["reference", "status", "unicorn", "rider_email", "fare_display", "age"]
    list_display_links = ["reference"]
    # No filter by unicorn: with a large fleet its sidebar would list every unicorn.
    # Search by the unicorn's name instead.
    list_filter = [NeedsAttentionFilter, ActiveFilter, "status", "requested_at"]
    list_select_related = ["rider", "unicorn"]
    search_fields = ["rider__email", "unicorn__name", "=id"]
    search_help_text = "A reference (WR-7K3Q9P), a rider's e-mail, a unicorn's name or a ride id."
    date_hierarchy = "requested_at"
    raw_id_fields = ["rider", "unicorn"]
    actions = ["cancel_selected_rides", "waive_fees"]
    # Every field is an audit fact: rides change only through the ride services. Shown as
    # people read them: money with its currency, durations and distances in words, a point
    # as one "latitude, longitude" line, the ride's payments linked for who may see them.
    fieldsets = [
        (None, {"fields": ["reference", "id", "status", "rider", "unicorn", "payment_lines"]}),
        ("Route", {"fields": ["pickup", "dropoff", "trip_distance", "unicorn_start",
                              "distance_to_pickup", "time_to_pickup"]}),
        ("Fare", {"fields": ["base_fare", "discount", "discount_campaign", "discount_award_id",
                             "fare", "cancellation_fee"]}),
        ("Times", {"fields": ["requested_at", "arrives_at", "arrived_at", "boarded_at",
                              "completed_at", "cancelled_at", "cancelled_by", "expired_at"]}),
    ]  # fmt: skip
    readonly_fields = [name for _, section in fieldsets for name in section["fields"]]

    def has_add_permission(self, request):
        return False  # rides are requested by riders, through the dispatch service

    def has_change_permission(self, request, obj=None):
        # A ride's page is read-only; "change" allows the list's cancel action.
        return False if obj is not None else super().has_change_permission(request)

    def get_fieldsets(self, request, obj=None):
        # Say in which time the times are: an operator on the phone with a rider reads them
        # out ("your unicorn was due at 8:20") and may sit in another time zone.
        zone = f"Times are the service area's ({timezone.get_current_timezone_name()})."
        return [
            (name, {**section, "description": zone} if name == "Times" else section)
            for name, section in super().get_fieldsets(request, obj)
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """The ride's page offers what may be done to it now, for who may (the list's
        actions on this one ride: each asks first)."""
        offered = []
        if obj is not None and super().has_change_permission(request):
            if obj.is_active:
                offered.append(("cancel_selected_rides", "Cancel this ride"))
            elif obj.cancellation_fee_minor:
                offered.append(("waive_fees", "Waive its fee"))
        context["object_actions"] = offered
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(self, request, extra_context=None):
        # What time has made true (arrivals, no-shows) is recorded before the list shows it.
        services.settle_due_rides(limit=200)
        return super().changelist_view(request, extra_context)

    def get_search_results(self, request, queryset, search_term):
        """A reference finds its ride through the unique index (with or without "WR-")."""
        reference = quoted_ride_reference(search_term)
        if reference:
            found = queryset.filter(reference=reference)
            if found.exists():
                return found, False
        return super().get_search_results(request, queryset, search_term)

    def get_object(self, request, object_id, from_field=None):
        """The ride, with its payments as this user may see them (`payment_lines` below): a link
        to a payment's page for who may open it (finance, within its organizations)."""
        ride = super().get_object(request, object_id, from_field)
        if ride is not None:
            ride.payments_for_viewer = _payments_seen_by(request.user, ride)
        return ride

    @admin.display(description="payments")
    def payment_lines(self, ride):
        seen = getattr(ride, "payments_for_viewer", None) or []
        if not seen:
            return "None"
        return format_html_join(
            mark_safe("<br>"),
            "{}",
            ((line,) for line in seen),
        )

    @admin.display(description="pickup")
    def pickup(self, ride):
        return _named(ride.pickup_place, ride.pickup_latitude, ride.pickup_longitude)

    @admin.display(description="drop-off")
    def dropoff(self, ride):
        if not ride.has_dropoff:
            return "None (flat fare)"
        return _named(ride.dropoff_place, ride.dropoff_latitude, ride.dropoff_longitude)

    @admin.display(description="trip distance")
    def trip_distance(self, ride):
        km = lifecycle.trip_km(ride)
        return "None (flat fare)" if km is None else f"{km:.2f} km"

    @admin.display(description="unicorn's start (lat, lon)")
    def unicorn_start(self, ride):
        return _point(ride.unicorn_start_latitude, ride.unicorn_start_longitude)

    @admin.display(description="distance to the pickup")
    def distance_to_pickup(self, ride):
        return distance_in_words(ride.distance_to_pickup_m)

    @admin.display(description="time to the pickup")
    def time_to_pickup(self, ride):
        return f"{duration_in_words(ride.eta_seconds)} (at dispatch)"

    @admin.display(description="fare before discount")
    def base_fare(self, ride):
        return str(Money(ride.base_fare_minor, ride.fare_currency))

    @admin.display(description="discount")
    def discount(self, ride):
        if ride.discount_multiplier >= 1:
            return "None"
        off = Money(ride.base_fare_minor - ride.fare_minor, ride.fare_currency)
        percent = f"{((1 - ride.discount_multiplier) * 100).normalize():f}% off"
        return f"{ride.discount_label or percent} (\N{MINUS SIGN}{off})"

    @admin.display(description="fare")
    def fare(self, ride):
        return str(Money(ride.fare_minor, ride.fare_currency))

    @admin.display(description="cancellation fee")
    def cancellation_fee(self, ride):
        if not ride.cancellation_fee_minor:
            return "None"
        return str(Money(ride.cancellation_fee_minor, ride.fare_currency))

    @admin.display(description="rider", ordering="rider__email")
    def rider_email(self, ride):
        return cut(ride.rider.email)

    @admin.display(description="fare", ordering="fare_minor")
    def fare_display(self, ride):
        if ride.status in (Ride.Status.CANCELLED, Ride.Status.EXPIRED):
            if not ride.cancellation_fee_minor:
                return "not charged"
            return f"{Money(ride.cancellation_fee_minor, ride.fare_currency)} fee"
        return str(Money(ride.fare_minor, ride.fare_currency))

    @admin.display(description="age", ordering="-requested_at")
    def age(self, ride):
        age = timesince(ride.requested_at, depth=1)
        return "new" if age == "0\xa0minutes" else age  # "10 minutes" read "1new"

    @admin.action(description="Cancel selected rides (free of charge)", permissions=["change"])
    def cancel_selected_rides(self, request, queryset):
        """As the API's operator cancellation (rides.services.cancel_ride): free of charge,
        the unicorn freed, the rider told. Asked first, on a page that says what happens."""
        if not confirmed(request):
            rides = list(queryset.select_related("rider", "unicorn"))
            active = [ride for ride in rides if ride.is_active]
            if active:
                return confirmation_page(
                    self, request, rides, title="Cancel these rides?",
                    will=[(ride.pk, f"cancel {_ride_line(ride)}, free of charge: "
                                    f"{ride.unicorn.name} is freed and the rider is told")
                          for ride in active],
                    wont=[f"{_ride_line(ride)}: it cannot be cancelled"
                          for ride in rides if not ride.is_active],
                    button=f"Yes, cancel {_count(len(active), 'ride')}",
                )  # fmt: skip
        apply_to_each(
            self, request, queryset, lambda ride: services.cancel_ride(ride=ride, by=request.user),
            verb="Cancelled", noun="ride", label=lambda ride: ride.reference,
        )  # fmt: skip

    @admin.action(description="Waive the fee of selected rides", permissions=["change"])
    def waive_fees(self, request, queryset):
        """A cancellation or no-show fee forgiven (rides.services.waive_cancellation_fee):
        the ride's fee becomes none and its payment is deleted, kept for the audit."""
        if not confirmed(request):
            rides = list(queryset.select_related("rider", "unicorn"))
            with_fee = [ride for ride in rides if ride.cancellation_fee_minor]
            if with_fee:
                return confirmation_page(
                    self, request, rides, title="Waive these fees?",
                    will=[(ride.pk, f"waive the {self.fare_display(ride)} of {_ride_line(ride)}: "
                                    "its fee payment is deleted (kept for the audit)")
                          for ride in with_fee],
                    wont=[f"{_ride_line(ride)}: no fee to waive"
                          for ride in rides if not ride.cancellation_fee_minor],
                    button=f"Yes, waive {_count(len(with_fee), 'fee')}",
                )  # fmt: skip
        apply_to_each(
            self, request, queryset,
            lambda ride: services.waive_cancellation_fee(ride=ride, by=request.user),
            verb="Waived the fee of", noun="ride", label=lambda ride: ride.reference,
        )  # fmt: skip


def _ride_line(ride) -> str:
    return f"{ride.reference} ({ride.get_status_display()}, {ride.rider.email})"


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _point(latitude, longitude) -> str:
    return f"{latitude:.5f}, {longitude:.5f}"


def _named(place: str | None, latitude, longitude) -> str:
    """Capitol Hill (47.62530, -122.32220); the coordinates alone where no place is near."""
    point = _point(latitude, longitude)
    return f"{place} ({point})" if place else point


def distance_in_words(metres: int) -> str:
    """165 m, 1.2 km."""
    return f"{metres} m" if metres < 1000 else f"{metres / 1000:.1f} km"


def duration_in_words(seconds: int) -> str:
    """20 seconds, 1 minute, 3 minutes 20 seconds, 1 hour 5 minutes."""

    def unit(count, name):
        return f"{count} {name}" if count == 1 else f"{count} {name}s"

    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return " ".join([unit(hours, "hour"), *([unit(minutes, "minute")] if minutes else [])])
    if minutes:
        return " ".join([unit(minutes, "minute"), *([unit(seconds, "second")] if seconds else [])])
    return unit(seconds, "second")


def _payments_seen_by(user, ride) -> list:
    """Each of the ride's payments (its fare, a fee) as "reference: amount, status": linked
    to the payment's admin page for who may open it (payments.view_payment, within the
    organizations they act for: payments_managed_by); the amount alone for anyone else."""
    payments = list(ride.payments.order_by("registered_at"))
    may_open = set()
    if payments and user.has_perm("payments.view_payment"):
        may_open = set(
            payments_managed_by(user)
            .filter(pk__in=[p.pk for p in payments])
            .values_list("pk", flat=True)
        )
    lines = []
    for payment in payments:
        amount = Money(payment.amount_minor, payment.currency)
        if payment.pk in may_open:
            url = reverse("admin:payments_payment_change", args=[payment.pk])
            lines.append(
                format_html('<a href="{}">{}</a>: {}, {}', url, payment.reference, amount,
                            payment.get_status_display())
            )  # fmt: skip
        else:
            lines.append(format_html("{} (payments are for finance to see)", amount))
    return lines


@admin.register(UnicornApplication)
class UnicornApplicationAdmin(ProjectAdmin, admin.ModelAdmin):
    # The gender is on the application's page (and a filter): the list fits 1280 px.
    list_display = [
        "name",
        "color",
        "email_cut",
        "status",
        "submitted_at",
        "decided_at",
        "decided_by",
    ]
    list_filter = ["status", "gender", "submitted_at"]
    search_fields = ["name", "email"]
    date_hierarchy = "submitted_at"
    list_select_related = ["decided_by"]
    readonly_fields = ["status", "submitted_at", "decided_at", "decided_by", "unicorn"]
    actions = ["accept_applications", "reject_applications"]

    def has_add_permission(self, request):
        return False  # applications come from the public "apply" page

    @admin.display(description="e-mail", ordering="email")
    def email_cut(self, application):
        return cut(application.email)

    def _decide(self, request, queryset, decide, verb):
        apply_to_each(
            self, request, queryset, lambda a: decide(application=a, by=request.user),
            verb=verb, noun="application", label=lambda a: a.name,
        )  # fmt: skip

    @admin.action(description="Accept: add to the fleet (off duty)", permissions=["change"])
    def accept_applications(self, request, queryset):
        self._decide(request, queryset, services.accept_unicorn_application, "Accepted")

    @admin.action(description="Reject selected applications", permissions=["change"])
    def reject_applications(self, request, queryset):
        self._decide(request, queryset, services.reject_unicorn_application, "Rejected")
