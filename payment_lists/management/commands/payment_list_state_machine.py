import json

from django.core.management.base import BaseCommand

from payment_lists.state_machine import definition


class Command(BaseCommand):
    help = "Print the Step Functions definition (ASL JSON) of the payment-list workflow."

    def add_arguments(self, parser):
        parser.add_argument(
            "--function-arn",
            default="arn:aws:lambda:us-east-1:123456789012:function:wildrydes-dev",
            help="The Zappa Lambda function the tasks invoke.",
        )

    def handle(self, *args, function_arn: str, **options):
        self.stdout.write(json.dumps(definition(function_arn), indent=2))
