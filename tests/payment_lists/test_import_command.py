"""manage.py import_payment_list: an organization it cannot find is a sentence, never a
traceback, whatever was typed for it."""

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["²", "①", "99999999999999999999999", "Nobody Ltd", "0"])
def test_an_organization_it_cannot_find_is_a_sentence(tmp_path, mine, typed):
    csv_file = tmp_path / "march.csv"
    csv_file.write_text("reference,amount\n")
    with pytest.raises(CommandError) as refused:
        call_command("import_payment_list", str(csv_file), "--organization", typed)
    assert str(refused.value) == f"No organization named {typed!r}."


@pytest.mark.django_db(transaction=True)
def test_it_says_how_many_events_wait_for_the_relay(tmp_path, mine, settings, capsys):
    """The import hands on one batch of its events; beyond it, the payers and BI hear of
    the rest only once the relay runs, which nothing runs beside this command alone."""
    from events import relay
    from tests.factories import SubscriptionFactory

    settings.PAYMENT_LIST_RUNNER = "inline"
    SubscriptionFactory(organization=mine, plan="business", max_rows_per_list=10_000)
    rows = [f"R-{n},,12.50,USD," for n in range(relay.RELAY_BATCH + 3)]
    csv_file = tmp_path / "march.csv"
    csv_file.write_text("\n".join(["reference,payer_email,amount,currency,ride_id", *rows]))

    call_command("import_payment_list", str(csv_file), "--organization", "Mine Ltd")

    said = capsys.readouterr().out
    assert f"Imported {relay.RELAY_BATCH + 3} payments." in said
    assert "3 events wait for the relay to tell the payers and BI" in said
    assert "`manage.py relay_events`" in said

    call_command("relay_events")
    small = tmp_path / "april.csv"
    small.write_text("reference,payer_email,amount,currency,ride_id\nS-1,,12.50,USD,\n")
    call_command("import_payment_list", str(small), "--organization", "Mine Ltd")
    assert "wait for the relay" not in capsys.readouterr().out  # all handed on at once
