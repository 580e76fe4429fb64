"""A step held by one copy of its task at a time: who holds it, and until when."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payment_lists", "0003_organization_moved"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentlist",
            name="step_holder",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.AddField(
            model_name="paymentlist",
            name="step_held_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
