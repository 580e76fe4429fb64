"""The first operator of a stage (or any later one): a staff account in the Operators group,
a superuser with --superuser, signed in with the password whose hash is given.

    make operator STAGE=dev EMAIL=you@example.com     # asks for the password on your machine

`deploy/stage.py operator` hashes the password on the deployer's machine and runs this
command inside the function (`zappa manage`): the password itself never leaves the machine,
never reaches the function's logs, its environment or a shell history. Locally:

    .venv/bin/python manage.py create_operator you@example.com < password.txt

(the password read from stdin when no --password-hash is given). Running it again updates the
account: staff, in the group, the new password.
"""

import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import identify_hasher, make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

OPERATORS = "Operators"  # accounts.roles.OPERATORS (its migration creates the group)


class Command(BaseCommand):
    help = "Create or update an operator (staff, Operators group) with a password hash."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--password-hash", help="a Django password hash (make_password)")
        parser.add_argument("--superuser", action="store_true", help="every permission")

    def handle(self, email, password_hash=None, superuser=False, **options):
        if password_hash:
            try:
                identify_hasher(password_hash)
            except ValueError as error:
                raise CommandError("--password-hash is not a Django password hash.") from error
        else:
            password = sys.stdin.readline().rstrip("\n")
            if not password:
                raise CommandError("Give --password-hash, or the password on stdin.")
            try:
                validate_password(password)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from error
            password_hash = make_password(password)
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(email=User.objects.normalize_email(email)).first()
            created = user is None
            if created:
                user = User.objects.create_user(email)
            user.password = password_hash
            user.is_staff = True
            user.is_active = True
            user.is_superuser = user.is_superuser or superuser
            if hasattr(user, "email_confirmed_at") and not user.email_confirmed_at:
                user.email_confirmed_at = timezone.now()
            user.save()
            group, _ = Group.objects.get_or_create(name=OPERATORS)
            user.groups.add(group)
        verb = "created" if created else "updated"
        self.stdout.write(f"Operator {user.email} {verb}{' (superuser)' if superuser else ''}.")
