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
