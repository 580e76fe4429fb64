"""Canonical e-mail addresses, codes per purpose, attempt counters, service-key scopes.

Existing e-mail addresses are rewritten to their canonical form (accounts.models
.canonical_email, copied below as migrations must not follow later code). Two existing
accounts whose addresses fold to the same form cannot both hold it: the older keeps it, the
newer keeps its old spelling, which no lookup matches any more (nobody can sign in to it
until an operator merges or renames it).

Existing service keys keep what they could do: a key of an organization gets the payment
scopes, a key without one (the promo service's) only `promos:draw`.
"""

import unicodedata

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def canonical_email(raw):
    text = unicodedata.normalize("NFKC", (raw or "").strip())
    for _ in range(4):
        folded = unicodedata.normalize("NFKC", text.casefold().upper().casefold())
        if folded == text:
            break
        text = folded
    return text


def canonicalise_emails(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    db = schema_editor.connection.alias
    taken = set(User.objects.using(db).values_list("email", flat=True))
    for pk, email in User.objects.using(db).order_by("date_joined", "pk").values_list(
        "pk", "email"
    ):
        canonical = canonical_email(email)
        if canonical == email or canonical in taken:
            continue
        User.objects.using(db).filter(pk=pk).update(email=canonical)
        taken.discard(email)
        taken.add(canonical)


def scope_existing_keys(apps, schema_editor):
    ServiceKey = apps.get_model("accounts", "ServiceKey")
    db = schema_editor.connection.alias
    ServiceKey.objects.using(db).filter(organization__isnull=False).update(
        scopes=["payments:read", "payments:write", "payment_lists:submit"]
    )
    ServiceKey.objects.using(db).filter(organization__isnull=True).update(scopes=["promos:draw"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_staff_groups"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="session_stamp",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="Changed to sign the account out of every browser session.",
                max_length=32,
            ),
        ),
        migrations.RunPython(canonicalise_emails, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="confirmationcode",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="codes",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="confirmationcode",
            name="purpose",
            field=models.CharField(
                choices=[
                    ("confirm", "confirm the e-mail address"),
                    ("reset", "reset the password"),
                ],
                default="confirm",
                max_length=16,
            ),
        ),
        migrations.RemoveField(model_name="confirmationcode", name="failed_attempts"),
        migrations.AddConstraint(
            model_name="confirmationcode",
            constraint=models.UniqueConstraint(
                fields=("user", "purpose"), name="one_code_per_purpose"
            ),
        ),
        migrations.CreateModel(
            name="AttemptCounter",
            fields=[
                ("key", models.CharField(max_length=128, primary_key=True, serialize=False)),
                ("window_start", models.DateTimeField()),
                ("count", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.AddField(
            model_name="servicekey",
            name="scopes",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="What the key may do. Payment scopes need an organization.",
            ),
        ),
        migrations.RunPython(scope_existing_keys, migrations.RunPython.noop),
    ]
