"""Every registered model is set up for real use: columns, filters, search, dates, audit."""

import pytest
from django.contrib import admin
from django.db import models
from django.urls import reverse

from events.models import DeadLetter
from tests.admin import bulk
from tests.factories import CampaignFactory, PaymentFactory, RideFactory

pytestmark = pytest.mark.django_db

# Ours only: the libraries' own admins (groups, API tokens) keep their defaults.
OURS = [
    (model, model_admin)
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_label not in {"auth", "authtoken"}
]
IDS = [model._meta.label for model, _ in OURS]
AUDIT_FIELDS = {
    "created_at", "updated_at", "registered_at", "registered_by", "verified_at", "verified_by",
    "deleted_at", "deleted_by", "submitted_at", "decided_at", "decided_by", "requested_at",
    "completed_at", "cancelled_at", "cancelled_by", "created_by", "date_joined", "last_login",
}  # fmt: skip


def date_fields(model):
    return [f.name for f in model._meta.fields if isinstance(f, models.DateField)]


@pytest.mark.parametrize(("model", "model_admin"), OURS, ids=IDS)
def test_every_admin_has_columns_filters_search_and_a_date_hierarchy(model, model_admin):
    assert list(model_admin.list_display) != ["__str__"], "list_display"
    has_text = any(isinstance(f, models.CharField | models.TextField) for f in model._meta.fields)
    assert model_admin.search_fields or not has_text, "search_fields"
    assert model_admin.list_filter or model_admin.date_hierarchy, "list_filter"
    if date_fields(model):
        assert model_admin.date_hierarchy in date_fields(model)


@pytest.mark.parametrize(("model", "model_admin"), OURS, ids=IDS)
def test_audit_fields_are_read_only(model, model_admin, rf, superuser):
    request = rf.get("/")
    request.user = superuser
    readonly = set(model_admin.get_readonly_fields(request, obj=None))
    audit = AUDIT_FIELDS & {f.name for f in model._meta.fields if f.editable}
    assert audit <= readonly


@pytest.mark.parametrize(("model", "model_admin"), OURS, ids=IDS)
def test_large_foreign_keys_never_render_as_select_boxes(model, model_admin, rf, superuser):
    request = rf.get("/")
    request.user = superuser
    readonly = set(model_admin.get_readonly_fields(request, obj=None))
    widgets = set(model_admin.raw_id_fields) | set(model_admin.autocomplete_fields) | readonly
    large = {"rider", "unicorn", "payer", "ride", "user", "event", "payment_list"}
    for field in model._meta.fields:
        if field.is_relation and field.name in large and field.editable:
            assert field.name in widgets, field.name


def _sample_objects():
    ride = RideFactory()
    PaymentFactory(ride=ride)
    CampaignFactory()
    bulk.awards(1)
    bulk.dead_letters(1)
    bulk.payment_lists(1)


def test_superuser_opens_every_changelist_searches_filters_and_every_change_page(
    superuser_client,
):
    _sample_objects()
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        url = reverse("admin:{}_{}_changelist".format(*info))
        page = superuser_client.get(url, {"q": "a"} if model_admin.search_fields else {})
        assert page.status_code == 200, url
        page = superuser_client.get(url)
        assert page.status_code == 200, url
        for spec in page.context["cl"].filter_specs:
            for choice in list(spec.choices(page.context["cl"]))[1:2]:
                assert superuser_client.get(url + choice["query_string"]).status_code == 200
        obj = model_admin.get_queryset(page.wsgi_request).first()
        if obj is not None:
            change = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
            assert superuser_client.get(change).status_code == 200, change


def test_dead_letters_list_shows_only_the_dead(superuser_client):
    (dead,) = bulk.dead_letters(1)
    delivered = bulk.dead_letters(1)[0]
    delivered.status = "delivered"
    delivered.save()
    page = superuser_client.get("/admin/events/deadletter/")
    assert [d.pk for d in page.context["cl"].result_list] == [dead.pk]
    assert DeadLetter._meta.proxy
