"""The server-driven ride lifecycle (arrived, in progress, expired), human references
(WR-XXXXXX) and at most one active ride per rider.

Existing rides are kept: each gets a reference and its arrival time (requested + ETA).
A rider who had several rides open (the old code allowed it) keeps the newest; the older
ones are marked expired and their unicorns freed, so the one-active-ride rule can hold.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

import rides.models

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ACTIVE = ("assigned", "arrived", "in_progress")


def fill_existing_rides(apps, schema_editor):
    Ride = apps.get_model("rides", "Ride")
    Unicorn = apps.get_model("rides", "Unicorn")
    used = set(Ride.objects.exclude(reference=None).values_list("reference", flat=True))
    now = timezone.now()
    for ride in Ride.objects.filter(reference=None).order_by("requested_at").iterator():
        reference = None
        while reference is None or reference in used:
            reference = "WR-" + "".join(secrets.choice(ALPHABET) for _ in range(6))
        used.add(reference)
        ride.reference = reference
        ride.arrives_at = ride.requested_at + timedelta(seconds=ride.eta_seconds)
        ride.save(update_fields=["reference", "arrives_at"])
    open_rides = Ride.objects.filter(status__in=ACTIVE).order_by("rider_id", "-requested_at")
    newest_of = set()
    for ride in open_rides.iterator():
        if ride.rider_id not in newest_of:
            newest_of.add(ride.rider_id)
            continue
        ride.status, ride.expired_at = "expired", now
        ride.save(update_fields=["status", "expired_at"])
        Unicorn.objects.filter(pk=ride.unicorn_id).update(is_available=True, updated_at=now)


class Migration(migrations.Migration):
    # Not one transaction: on PostgreSQL the rows written by fill_existing_rides leave
    # deferred foreign-key trigger events, and an ALTER TABLE after them in the same
    # transaction is refused ("pending trigger events"). Each step commits on its own (the
    # data step in its own transaction). If a step fails, the ones before it stay done:
    # look at the table before running the migration again.
    atomic = False

    dependencies = [
        ("rides", "0004_drop_redundant_fk_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="ride",
            name="arrived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="ride",
            name="arrives_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When the unicorn reaches the pickup (from dispatch).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="ride",
            name="boarded_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="ride",
            name="cancellation_fee_minor",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Charged for a cancellation after arrival or a no-show, in cents.",
            ),
        ),
        migrations.AddField(
            model_name="ride",
            name="expired_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="ride",
            name="reference",
            field=models.CharField(max_length=12, null=True),
        ),
        migrations.AlterField(
            model_name="ride",
            name="eta_seconds",
            field=models.PositiveIntegerField(help_text="Travel time to the pickup at dispatch."),
        ),
        migrations.AlterField(
            model_name="ride",
            name="status",
            field=models.CharField(
                choices=[
                    ("assigned", "assigned"),
                    ("arrived", "arrived"),
                    ("in_progress", "in progress"),
                    ("completed", "completed"),
                    ("cancelled", "cancelled"),
                    ("expired", "expired"),
                ],
                default="assigned",
                max_length=12,
            ),
        ),
        migrations.RunPython(
            fill_existing_rides, migrations.RunPython.noop, atomic=True, elidable=False
        ),
        migrations.AlterField(
            model_name="ride",
            name="reference",
            field=models.CharField(
                default=rides.models.new_reference,
                help_text="What people quote.",
                max_length=12,
                unique=True,
            ),
        ),
        migrations.AddIndex(
            model_name="ride",
            index=models.Index(fields=["status", "arrives_at"], name="ride_status_due_idx"),
        ),
        migrations.AddConstraint(
            model_name="ride",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ("assigned", "arrived", "in_progress"))),
                fields=("rider",),
                name="one_active_ride_per_rider",
            ),
        ),
    ]
