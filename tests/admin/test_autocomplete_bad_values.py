"""An autocomplete field posted with a value that is not a key at all (a form typed by hand,
a tampered request) is a form error on the redrawn page, never a 500."""

import pytest

from accounts.models import ServiceKey
from payments.models import Subscription
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db

FORMS = {
    "/admin/accounts/servicekey/add/": ServiceKey,
    "/admin/payments/subscription/add/": Subscription,
}


@pytest.mark.parametrize("url", FORMS)
@pytest.mark.parametrize("typed", ["abc", "²", "1.5", "99999999999999999999999", "1\x00"])
def test_an_organization_that_is_not_a_key_is_a_form_error(superuser_client, url, typed):
    answer = superuser_client.post(url, {"organization": typed, "name": "probe"})

    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert "organization" in errors
    sentence = errors["organization"][0]  # 'Null characters are not allowed.' for the NUL
    assert sentence.startswith("Select a valid choice") or "\x00" in typed, sentence
    assert str(errors["organization"][0]) in answer.content.decode()
    assert not FORMS[url].objects.exists()


@pytest.mark.parametrize("url", FORMS)
def test_a_real_organization_is_still_drawn_chosen_when_the_form_is_redrawn(superuser_client, url):
    organization = OrganizationFactory(name="Chosen Ltd")
    answer = superuser_client.post(url, {"organization": str(organization.pk)})  # no name

    assert answer.status_code == 200
    assert "organization" not in answer.context["adminform"].form.errors
    assert f'<option value="{organization.pk}" selected>Chosen Ltd</option>' in (
        answer.content.decode()
    )
