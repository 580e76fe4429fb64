"""Campaign currencies as codes in capitals (" usd" -> "USD").

From now on the draw only takes a discount from a campaign whose currency is the fare's,
compared as stored; a campaign an operator typed in lower case ("usd") kept drawing on USD
fares before, and does after this. On a deployed stage a campaign is USD (the default,
the demo's) or what an operator typed; a code the project does not know ("xy<") is only put
in capitals: no fare is in it, so the campaign gives nothing until an operator corrects it (the
admin form then asks for a known code).
"""

from django.db import migrations, models
from django.db.models.functions import Trim, Upper


def codes_in_capitals(apps, schema_editor):
    Campaign = apps.get_model("promos", "Campaign")
    Campaign.objects.exclude(currency=Upper(Trim("currency"))).update(
        currency=Upper(Trim("currency"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("promos", "0004_budget_in_slices"),
    ]

    operations = [
        migrations.AlterField(
            model_name="campaign",
            name="currency",
            field=models.CharField(
                default="USD",
                help_text="The budget's currency (a code, e.g. USD): only fares charged in it "
                "are discounted from this campaign.",
                max_length=3,
            ),
        ),
        migrations.RunPython(codes_in_capitals, migrations.RunPython.noop, elidable=True),
    ]
