"""Create a service key from the command line (e.g. the promo service's, for a stage whose
rides call another stage's promos: PROMO_SERVICE_KEY). Prints the key once; only its hash
is stored. Operators can do the same in the admin."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import Scope, ServiceKey
from organizations.models import Organization


class Command(BaseCommand):
    help = "Create a service key with scopes and print it (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("--service", required=True, help="Who uses it, e.g. rides-prod.")
        parser.add_argument("--name", default="", help="A name for the key (default: service).")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=Scope.values,
            required=True,
            help="What it may do; repeat for several.",
        )
        parser.add_argument(
            "--organization", default=None, help="The organization it acts for (payments)."
        )

    def handle(self, *args, service, name, scopes, organization, **options):
        org = None
        if organization:
            org = Organization.objects.filter(name=organization).first()
            if org is None:
                raise CommandError(f"No organization named {organization!r}.")
        key = ServiceKey(name=(name or service)[:50], service=service, organization=org)
        key.scopes = scopes
        try:
            plain = services.issue_service_key(key)
        except ValidationError as error:
            raise CommandError(in_words(error)) from error
        self.stdout.write(plain)


def in_words(error: ValidationError) -> str:
    """The refusal, each field's sentences after its name (--service, --organization...)."""
    if not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    return " ".join(
        f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
        for field, messages in error.message_dict.items()
    )
