"""Demo accounts for a local run. Password for all: wildrydes-demo."""

from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import User
from accounts.roles import FINANCE, OPERATORS

DEMO_PASSWORD = "wildrydes-demo"  # noqa: S105 (public demo credential, local only)

DEMO_USERS = [
    {"email": "rider@example.com", "full_name": "Rita Rider", "group": None},
    {"email": "operator@example.com", "full_name": "Oscar Operator", "group": OPERATORS},
    {"email": "finance@example.com", "full_name": "Fiona Finance", "group": FINANCE},
]


def seed_demo_accounts() -> list[User]:
    users = []
    for spec in DEMO_USERS:
        user = User.objects.filter(email=spec["email"]).first()
        if user is None:
            user = User.objects.create_user(
                email=spec["email"],
                password=DEMO_PASSWORD,
                full_name=spec["full_name"],
                is_staff=spec["group"] is not None,
                email_confirmed_at=timezone.now(),
            )
        if spec["group"]:
            user.groups.add(Group.objects.get(name=spec["group"]))
        users.append(user)
    return users
