"""The payment-list models moved to the payment_lists app (its migration 0001), data kept.

Payment.payment_list becomes a plain id (payment_list_id, the same column and index): a
foreign key would make payments depend on the app that imports lists into it. The database
keeps the column and its data; only the foreign-key constraint goes. The list tables stay
as they are, now owned by payment_lists; here they leave this app's state only.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_payment_lists"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                # Same column, same index, no constraint any more.
                migrations.AlterField(
                    model_name="payment",
                    name="payment_list",
                    field=models.BigIntegerField(
                        blank=True, null=True, db_index=True, db_column="payment_list_id"
                    ),
                ),
            ],
            state_operations=[
                migrations.RemoveField(model_name="payment", name="payment_list"),
                migrations.AddField(
                    model_name="payment",
                    name="payment_list_id",
                    field=models.BigIntegerField(
                        blank=True,
                        db_index=True,
                        null=True,
                        help_text="The payment list it was imported from.",
                    ),
                ),
                migrations.DeleteModel(name="PaymentListRow"),
                migrations.DeleteModel(name="PaymentList"),
            ],
        ),
    ]
