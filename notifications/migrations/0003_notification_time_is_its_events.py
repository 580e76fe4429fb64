import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """A notification's time is its event's (given by the subscriber), not its insert's:
    auto_now_add becomes a default. Django keeps neither in the database, so nothing
    changes there (no table rebuilt on SQLite)."""

    dependencies = [
        ("notifications", "0002_notification_ride"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="notification",
                    name="created_at",
                    field=models.DateTimeField(default=django.utils.timezone.now),
                ),
            ],
        ),
    ]
