"""A campaign's spending moves from its own row (Campaign.spent_minor, which every draw and
release updated: the next hot row after BI's) to BUDGET_SLICES rows per campaign.

What each campaign has spent is carried over spread evenly over its slices, so each slice
is within its share of the budget whenever the campaign is within its budget (an equal
part each, one more for the first `spent % slices`; the budget splits the same way).
"""

from django.db import migrations, models
from django.db.models.deletion import CASCADE

SLICES = 16  # promos.models.BUDGET_SLICES when this migration was written


def spread_spent_over_slices(apps, schema_editor):
    Campaign = apps.get_model("promos", "Campaign")
    BudgetSlice = apps.get_model("promos", "BudgetSlice")
    slices = []
    for campaign_id, spent in Campaign.objects.values_list("pk", "spent_minor").iterator():
        share, remainder = divmod(spent, SLICES)
        slices += [
            BudgetSlice(campaign_id=campaign_id, number=n, spent_minor=share + (n < remainder))
            for n in range(SLICES)
        ]
    BudgetSlice.objects.bulk_create(slices, batch_size=1000)


def gather_spent_from_slices(apps, schema_editor):
    Campaign = apps.get_model("promos", "Campaign")
    BudgetSlice = apps.get_model("promos", "BudgetSlice")
    totals = BudgetSlice.objects.values("campaign").annotate(spent=models.Sum("spent_minor"))
    for row in totals.order_by():
        Campaign.objects.filter(pk=row["campaign"]).update(spent_minor=row["spent"])


class Migration(migrations.Migration):
    dependencies = [
        ("promos", "0003_award_release"),
    ]

    operations = [
        migrations.CreateModel(
            name="BudgetSlice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveSmallIntegerField()),
                ("spent_minor", models.PositiveBigIntegerField(default=0)),
                (
                    "campaign",
                    models.ForeignKey(
                        on_delete=CASCADE, related_name="budget_slices", to="promos.campaign"
                    ),
                ),
            ],
            options={
                "ordering": ["campaign", "number"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("campaign", "number"), name="one_budget_slice_per_number"
                    )
                ],
            },
        ),
        migrations.RunPython(spread_spent_over_slices, gather_spent_from_slices),
        migrations.RemoveField(model_name="campaign", name="spent_minor"),
    ]
