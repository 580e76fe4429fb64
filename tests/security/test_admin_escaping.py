"""Every admin page escapes what people wrote: each text field of each object is set to a
hostile string, then every change list and change page of the admin site (read from its
registry) is opened as a superuser. The markup may only appear escaped.

The browser proof for the main pages is tests/browser/test_hostile_text.py; this one is
exhaustive and cheap: a list_display, a format_html or a mark_safe added later is covered.
"""

import pytest
from django.contrib import admin
from django.db import IntegrityError, models, transaction
from django.test import Client

from tests.admin.test_permission_matrix import MODEL_VIEWS, build_world, view_path

pytestmark = pytest.mark.django_db

HOSTILE = '<img src=x onerror=window.__xss=1>"><script>window.__xss=2</script>'
RAW = ("<img src=x onerror", "<script>window.__xss")
# Secrets and machine fields: never shown, or not text a person writes.
SKIP = {"password", "hashed_key", "prefix", "key", "id", "checksum", "currency", "file"}


def _poison(obj) -> int:
    """Set every free-text field of `obj` to the hostile string; how many were set."""
    done = 0
    for field in type(obj)._meta.concrete_fields:
        if (
            not isinstance(field, models.CharField | models.TextField)
            or isinstance(field, models.EmailField)
            or field.choices
            or field.primary_key
            or field.name in SKIP
            or (field.max_length or 1000) < 20
        ):
            continue
        value = f"{HOSTILE}{field.name}"[: field.max_length or None]
        try:
            with transaction.atomic():
                type(obj)._default_manager.filter(pk=obj.pk).update(**{field.attname: value})
        except IntegrityError:
            continue
        done += 1
    return done


def test_every_admin_page_shows_hostile_text_escaped():
    world = build_world()
    poisoned = sum(_poison(obj) for obj in world.objects.values())
    assert poisoned >= 15
    client = Client()
    client.force_login(world.users["superuser"])
    escaped_somewhere = 0
    for view in MODEL_VIEWS:
        if view.kind not in ("changelist", "change", "history", "delete"):
            continue
        response = client.get(view_path(world, view))
        if response.status_code != 200:
            continue
        html = response.content.decode()
        for raw in RAW:
            assert raw not in html, f"{raw!r} unescaped on {view.name}"
        escaped_somewhere += html.count("&lt;img src=x onerror")
    assert escaped_somewhere >= len(admin.site._registry)
