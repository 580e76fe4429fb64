"""The payment-list models move here from the payments app, with their data.

State only: the tables stay where payments/0002 created them (payments_paymentlist,
payments_paymentlistrow, named by Meta.db_table), so no row is copied or lost; payments/0003
removes the models from the payments app's state. The content types are renamed too, so
the staff groups' permissions and the admin's history stay attached to the same rows.
"""

import django.db.models.deletion
from django.db import migrations, models

import payment_lists.models

MODELS = ["paymentlist", "paymentlistrow"]


def _move_content_types(apps, schema_editor, old: str, new: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    for model in MODELS:
        if not types.filter(app_label=new, model=model).exists():
            types.filter(app_label=old, model=model).update(app_label=new)


def content_types_forward(apps, schema_editor):
    _move_content_types(apps, schema_editor, "payments", "payment_lists")


def content_types_backward(apps, schema_editor):
    _move_content_types(apps, schema_editor, "payment_lists", "payments")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("payments", "0002_payment_lists"),
        ("contenttypes", "0002_remove_content_type_name"),
        # Its groups migration creates the content types this one renames.
        ("accounts", "0004_staff_groups"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PaymentList",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("file", models.FileField(max_length=255, upload_to=payment_lists.models._inbox_path)),
                        ("original_name", models.CharField(blank=True, max_length=255)),
                        ("checksum", models.CharField(blank=True, db_index=True, max_length=64)),
                        ("submitted_by", models.CharField(max_length=120)),
                        ("submitter_email", models.EmailField(blank=True, max_length=254)),
                        ("status", models.CharField(choices=[("received", "received"), ("validating", "validating"), ("verifying", "verifying subscription"), ("importing", "importing"), ("imported", "imported"), ("failed", "failed")], db_index=True, default="received", max_length=10)),
                        ("current_step", models.CharField(blank=True, max_length=40)),
                        ("rows_total", models.PositiveIntegerField(default=0)),
                        ("rows_validated", models.PositiveIntegerField(default=0)),
                        ("rows_imported", models.PositiveIntegerField(default=0)),
                        ("total_minor", models.PositiveBigIntegerField(default=0)),
                        ("errors_count", models.PositiveIntegerField(default=0)),
                        ("first_errors", models.JSONField(blank=True, default=list, help_text="Up to 100 errors.")),
                        ("error_report", models.FileField(blank=True, max_length=255, upload_to="reports/")),
                        ("failed_step", models.CharField(blank=True, max_length=40)),
                        ("failure_reason", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        ("started_at", models.DateTimeField(blank=True, null=True)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("organization", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="lists", to="payments.organization")),
                    ],
                    options={"db_table": "payments_paymentlist", "ordering": ["-created_at"]},
                ),
                migrations.CreateModel(
                    name="PaymentListRow",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("row_number", models.PositiveIntegerField()),
                        ("reference", models.CharField(max_length=64)),
                        ("payer_email", models.CharField(blank=True, max_length=254)),
                        ("amount_minor", models.PositiveBigIntegerField()),
                        ("currency", models.CharField(max_length=3)),
                        ("ride_id", models.UUIDField(blank=True, null=True)),
                        ("payment_list", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="rows", to="payment_lists.paymentlist")),
                    ],
                    options={
                        "db_table": "payments_paymentlistrow",
                        "indexes": [models.Index(fields=["payment_list", "reference"], name="staging_reference_idx")],
                        "constraints": [models.UniqueConstraint(fields=("payment_list", "row_number"), name="one_row_number")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_forward, content_types_backward),
    ]
