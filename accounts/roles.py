"""Staff roles: which models each group of operators may see and change.

Synced after every `migrate` (post_migrate), so a new model's permissions reach the
groups with the migration that adds it.
"""

OPERATORS = "Operators"
FINANCE = "Finance"

GROUP_PERMISSIONS = {
    OPERATORS: {
        "rides.unicorn": ["view", "add", "change"],
        "rides.ride": ["view", "change"],
        "rides.unicornapplication": ["view", "change"],
        "promos.campaign": ["view", "add", "change"],
        "promos.discounttier": ["view", "add", "change", "delete"],
        "promos.discountaward": ["view"],
        "events.deadletter": ["view", "change"],
        "events.outboxevent": ["view"],
        "bi.dailyaggregate": ["view"],
        "bi.campaigndailyspend": ["view"],
    },
    FINANCE: {
        "payments.payment": ["view", "add", "change", "delete"],
        "payments.paymentlist": ["view", "change"],
        "payments.organization": ["view", "add", "change"],
        "payments.subscription": ["view", "add", "change"],
        "accounts.servicekey": ["view", "add", "change"],
        "events.deadletter": ["view", "change"],
        "events.outboxevent": ["view"],
        "bi.dailyaggregate": ["view"],
    },
}


def sync_group_permissions(**kwargs):
    from django.contrib.auth.models import Group, Permission

    for group_name, models in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        wanted = []
        for label, actions in models.items():
            app_label, model = label.split(".")
            codenames = [f"{action}_{model}" for action in actions]
            wanted += Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
        group.permissions.set(wanted)
