"""The staff groups come from a data migration, with their permissions from roles.py."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import connection

from accounts.roles import FINANCE, GROUP_PERMISSIONS, OPERATORS, sync_group_permissions

pytestmark = pytest.mark.django_db

migration = importlib.import_module("accounts.migrations.0004_staff_groups")
# The migration's functions only ask the schema editor which database to use.
SCHEMA_EDITOR = SimpleNamespace(connection=connection)


def codenames(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


def expected(group_name: str) -> set[str]:
    return {
        f"{label.split('.')[0]}.{action}_{label.split('.')[1]}"
        for label, actions in GROUP_PERMISSIONS[group_name].items()
        for action in actions
    }


@pytest.mark.parametrize("group_name", [OPERATORS, FINANCE])
def test_each_group_has_exactly_the_permissions_roles_gives_it(group_name):
    assert codenames(group_name) == expected(group_name)


def test_the_data_migration_creates_permissions_and_groups_on_an_empty_database():
    Group.objects.all().delete()
    Permission.objects.all().delete()

    migration.create_groups(apps, SCHEMA_EDITOR)

    assert Permission.objects.filter(codename="change_deadletter").exists()
    assert codenames(OPERATORS) == expected(OPERATORS)
    assert codenames(FINANCE) == expected(FINANCE)


def test_reversing_the_migration_removes_the_groups():
    migration.remove_groups(apps, SCHEMA_EDITOR)
    assert not Group.objects.filter(name__in=[OPERATORS, FINANCE]).exists()


def test_the_sync_after_migrate_puts_back_a_permission_removed_by_hand():
    operators = Group.objects.get(name=OPERATORS)
    operators.permissions.remove(Permission.objects.get(codename="view_unicorn"))
    operators.permissions.add(Permission.objects.get(codename="view_payment"))

    sync_group_permissions()

    assert codenames(OPERATORS) == expected(OPERATORS)


def test_the_dashboard_is_the_operators_and_not_finances(operator, finance):
    assert operator.has_perm("bi.view_dailyaggregate")
    assert not finance.has_perm("bi.view_dailyaggregate")
