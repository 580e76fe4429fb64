"""The stage's secrets, read from AWS Secrets Manager once per process (a Lambda container
reads them at its cold start; warm invocations reuse them).

The function's environment carries only the secrets' ARNs (DJANGO_SECRET_ARN,
DATABASE_SECRET_ARN), which are not secret; the stack generates the values, nobody types
them, and they never appear in the function's configuration, in Zappa's settings or in the
package.
"""

import json
from functools import cache


@cache
def secret_string(arn: str) -> str:
    import boto3  # provided by the Lambda runtime; only imported on a stage

    client = boto3.client("secretsmanager")
    return client.get_secret_value(SecretId=arn)["SecretString"]


def secret_json(arn: str) -> dict:
    return json.loads(secret_string(arn))
