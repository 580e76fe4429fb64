"""A change list filters only as its own page offers (core.admin.ProjectAdmin):
a lookup typed into the URL that the page does not offer is a 400 page with a sentence,
never a query the database rejects (a 500: `?reference__regex=(` on PostgreSQL,
`?id__range=1`, `?updated_at__year=99999999`, `?scopes__contains={` on SQLite)."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from core.admin import ProjectAdmin

pytestmark = pytest.mark.django_db

REGISTERED = [model for model in apps.get_models() if admin.site.is_registered(model)]


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def refused(answer) -> bool:
    return answer.status_code == 400 and b"cannot filter" in answer.content


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_admin_filters_only_what_its_page_offers(superuser_client, model):
    assert isinstance(admin.site.get_model_admin(model), ProjectAdmin)
    url = changelist(model)
    assert superuser_client.get(url).status_code == 200
    for field in model._meta.concrete_fields:
        for probe in (f"{field.name}__regex=(", f"{field.name}__range=1"):
            answer = superuser_client.get(f"{url}?{probe}")
            assert refused(answer), (probe, answer.status_code)


@pytest.mark.parametrize(
    "probe",
    [
        "/admin/payments/payment/?reference__regex=(",
        "/admin/auth/group/?id__range=1",
        "/admin/bi/dailyaggregate/?updated_at__year=99999999",
        "/admin/bi/dailyaggregate/?day__year=9999",
        "/admin/bi/dailyaggregate/?day__year=9998&day__month=99",
        "/admin/rides/ride/?requested_at__year=99999999999",
        "/admin/accounts/servicekey/?scopes__contains={",
        "/admin/events/outboxevent/?type=a%00b",
        "/admin/events/outboxevent/?data__regex=(",
        "/admin/events/outboxevent/?data__x__regex=(",
        "/admin/events/outboxevent/?data__x__contains=a",
        "/admin/events/outboxevent/?data__x__startswith=a%00",
    ],
)
def test_the_reviews_probes_are_refused_with_a_sentence(superuser_client, probe):
    answer = superuser_client.get(probe)
    assert refused(answer), answer.status_code
    page = answer.content.decode()
    assert "<h1>We cannot answer this address as it is written</h1>" in page
    assert "a filter\n      typed into it that the page cannot filter on" in page
    # The page's own <style> (it has no request, so no nonce) is let through, as the 500's.
    assert "style-src-elem 'self' 'unsafe-inline'" in answer["Content-Security-Policy"]


@pytest.mark.parametrize(
    "offered",
    [
        "/admin/payments/payment/?status__exact=registered&currency__exact=USD",
        "/admin/payments/payment/?organization__id__exact=1&registered_at__gte=2026-01-01",
        "/admin/payments/payment/?registered_at__year=2026&registered_at__month=12",
        "/admin/accounts/user/?groups__id__exact=1&is_staff__exact=1",
        "/admin/rides/ride/?status__exact=completed&requested_at__isnull=False",
        "/admin/events/deadletter/?event__type=x&subscriber=y",
        "/admin/events/outboxevent/?data__payer_email__startswith=x",
        "/admin/bi/dailyaggregate/?day__gte=2026-01-01&day__lt=2026-02-01&currency=USD",
        "/admin/bi/dailyaggregate/?day__year=9998&day__month=12&day__day=30",
    ],
)
def test_what_a_page_offers_still_filters(superuser_client, offered):
    answer = superuser_client.get(offered)
    assert answer.status_code == 200, answer.status_code
