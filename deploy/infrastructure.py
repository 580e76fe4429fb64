"""Generate deploy/infrastructure.yaml, the CloudFormation stack a Zappa stage runs against.

    .venv/bin/python deploy/infrastructure.py > deploy/infrastructure.yaml
    .venv/bin/python deploy/infrastructure.py --check     # exit 1 if the file is stale

Generated, not hand-written, because three parts of it must follow the code:
- one SQS queue (+ dead-letter queue) per subscriber in settings.EVENT_SUBSCRIBERS, each
  subscribed to the events topic with a filter policy on the `event_type` message attribute
  listing exactly that subscriber's event types;
- the redrive policy's maxReceiveCount, equal to settings.EVENTS_MAX_ATTEMPTS (the attempt
  on which events.aws records the dead letter is the one after which SQS moves the message
  to the DLQ);
- the payment-list state machine, payment_lists.state_machine.definition(), whose Task states
  invoke the stage's Lambda. The ARN is not known when the definition is generated, so the
  definition is rendered with the placeholder ${FunctionArn} and embedded as a
  DefinitionString under Fn::Sub, which fills in
  arn:<partition>:lambda:<region>:<account>:function:wildrydes-<Stage> at stack time.
  (AWS::StepFunctions::StateMachine's DefinitionSubstitutions would do the same, but moto's
  CloudFormation does not implement it, and the tests create this stack in moto.)

Names are fixed per stage (wildrydes-<Stage>-...) so zappa_settings.json can name them; the
bucket carries the account id because bucket names are global. The event source mappings
(SQS -> Lambda), the S3 trigger and the schedule are Zappa's (`events` in zappa_settings.json):
see docs/deploy.md for why, and for ReportBatchItemFailures.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "deploy" / "infrastructure.yaml"
APP = "wildrydes"
# The Lambda's timeout (zappa_settings.json "timeout_seconds"); a queue's visibility timeout
# must be at least that, and AWS recommends six times it for SQS event sources.
VISIBILITY_TIMEOUT_FACTOR = 6


def sub(text: str) -> dict:
    return {"Fn::Sub": text}


def logical(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-"))


def lambda_timeout_seconds() -> int:
    stages = json.loads((ROOT / "zappa_settings.json").read_text())
    return int(stages["dev"].get("timeout_seconds", 30))


def build() -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wildrydes.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    from payment_lists import state_machine

    prefix = f"{APP}-${{Stage}}"
    function_arn = sub(
        f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{prefix}"
    )
    resources: dict = {}
    queue_arns = []

    resources["FilesBucket"] = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": sub(f"{prefix}-files-${{AWS::AccountId}}"),
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            # Uploads (inbox/, reports/) stay private behind signed URLs; only the hashed
            # static files are public, through the bucket policy below.
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": False,
                "RestrictPublicBuckets": False,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "CorsConfiguration": {
                "CorsRules": [
                    {"AllowedMethods": ["GET", "HEAD"], "AllowedOrigins": ["*"], "MaxAge": 86400}
                ]
            },
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "abort-incomplete-uploads",
                        "Status": "Enabled",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    }
                ]
            },
        },
    }
    resources["FilesBucketPolicy"] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": "FilesBucket"},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "PublicStaticFiles",
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": sub("${FilesBucket.Arn}/static/*"),
                    }
                ],
            },
        },
    }
    resources["EventsTopic"] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": sub(f"{prefix}-events")},
    }

    visibility_timeout = VISIBILITY_TIMEOUT_FACTOR * lambda_timeout_seconds()
    for name, subscriber in settings.EVENT_SUBSCRIBERS.items():
        queue, dlq = f"{logical(name)}Queue", f"{logical(name)}DeadLetterQueue"
        resources[dlq] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub(f"{prefix}-events-{name}-dlq"),
                "MessageRetentionPeriod": 14 * 24 * 3600,
                "SqsManagedSseEnabled": True,
            },
        }
        resources[queue] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                # events.aws picks the subscriber by the queue name's last "-" part.
                "QueueName": sub(f"{prefix}-events-{name}"),
                "VisibilityTimeout": visibility_timeout,
                "MessageRetentionPeriod": 4 * 24 * 3600,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
                    "maxReceiveCount": settings.EVENTS_MAX_ATTEMPTS,
                },
            },
        }
        resources[f"{logical(name)}QueuePolicy"] = {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": queue}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": [queue, "Arn"]},
                            "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "EventsTopic"}}},
                        }
                    ],
                },
            },
        }
        resources[f"{logical(name)}Subscription"] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "EventsTopic"},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": [queue, "Arn"]},
                "RawMessageDelivery": True,
                "FilterPolicyScope": "MessageAttributes",
                "FilterPolicy": {"event_type": sorted(subscriber["types"])},
            },
        }
        queue_arns.append({"Fn::GetAtt": [queue, "Arn"]})

    resources["StateMachineRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "states.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "invoke-the-stage-lambda",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "lambda:InvokeFunction",
                                "Resource": [function_arn, sub(f"{function_arn['Fn::Sub']}:*")],
                            }
                        ],
                    },
                }
            ],
        },
    }
    definition = state_machine.definition("${FunctionArn}")
    resources["PaymentListStateMachine"] = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "StateMachineName": sub(f"{prefix}-payment-list"),
            "RoleArn": {"Fn::GetAtt": ["StateMachineRole", "Arn"]},
            "DefinitionString": {
                "Fn::Sub": [json.dumps(definition, indent=2) + "\n", {"FunctionArn": function_arn}]
            },
        },
    }

    # The Lambda's execution role (zappa_settings.json: "manage_roles": false, "role_name"):
    # only what the app does, instead of the wide policy Zappa would attach.
    resources["LambdaRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": sub(f"{prefix}-lambda"),
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {
                            "Service": [
                                "lambda.amazonaws.com",
                                "apigateway.amazonaws.com",
                                "events.amazonaws.com",
                            ]
                        },
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "ManagedPolicyArns": [
                # Logs, plus the network interfaces a Lambda in the database's VPC needs.
                sub(
                    "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                    "AWSLambdaVPCAccessExecutionRole"
                ),
                sub("arn:${AWS::Partition}:iam::aws:policy/AWSXRayDaemonWriteAccess"),
            ],
            "Policies": [
                {
                    "PolicyName": "wildrydes-app",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "Files",
                                "Effect": "Allow",
                                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                                "Resource": sub("${FilesBucket.Arn}/*"),
                            },
                            {
                                "Sid": "ListFiles",
                                "Effect": "Allow",
                                "Action": "s3:ListBucket",
                                "Resource": {"Fn::GetAtt": ["FilesBucket", "Arn"]},
                            },
                            {
                                "Sid": "PublishEvents",
                                "Effect": "Allow",
                                "Action": "sns:Publish",
                                "Resource": {"Ref": "EventsTopic"},
                            },
                            {
                                "Sid": "ConsumeSubscriberQueues",
                                "Effect": "Allow",
                                "Action": [
                                    "sqs:ReceiveMessage",
                                    "sqs:DeleteMessage",
                                    "sqs:ChangeMessageVisibility",
                                    "sqs:GetQueueAttributes",
                                ],
                                "Resource": queue_arns,
                            },
                            {
                                "Sid": "StartPaymentLists",
                                "Effect": "Allow",
                                "Action": "states:StartExecution",
                                "Resource": {"Ref": "PaymentListStateMachine"},
                            },
                            {
                                "Sid": "SendMail",
                                "Effect": "Allow",
                                "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                                "Resource": "*",
                            },
                        ],
                    },
                }
            ],
        },
    }

    outputs = {
        "FilesBucketName": {"Value": {"Ref": "FilesBucket"}},
        "EventsTopicArn": {"Value": {"Ref": "EventsTopic"}},
        "PaymentListStateMachineArn": {"Value": {"Ref": "PaymentListStateMachine"}},
        "LambdaRoleName": {"Value": {"Ref": "LambdaRole"}},
    }
    for name in settings.EVENT_SUBSCRIBERS:
        outputs[f"{logical(name)}QueueArn"] = {
            "Value": {"Fn::GetAtt": [f"{logical(name)}Queue", "Arn"]}
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "Wild Rydes: the AWS resources of one Zappa stage (generated by "
        "deploy/infrastructure.py)",
        "Parameters": {
            "Stage": {
                "Type": "String",
                "AllowedValues": ["dev", "prod"],
                "Description": "The Zappa stage; names every resource wildrydes-<Stage>-...",
            }
        },
        "Resources": resources,
        "Outputs": outputs,
    }


def render(template: dict) -> str:
    import yaml

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data):  # CloudFormation rejects YAML anchors
            return True

    def string(dumper, value):
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, string)
    header = (
        "# GENERATED by deploy/infrastructure.py from settings.EVENT_SUBSCRIBERS,\n"
        "# settings.EVENTS_MAX_ATTEMPTS and payment_lists.state_machine: do not edit by hand.\n"
        "#   .venv/bin/python deploy/infrastructure.py > deploy/infrastructure.yaml\n"
    )
    return header + yaml.dump(template, Dumper=Dumper, sort_keys=False, width=100)


def main(argv: list[str]) -> int:
    text = render(build())
    if "--check" in argv:
        if not TEMPLATE.exists() or TEMPLATE.read_text() != text:
            print(f"{TEMPLATE} is stale: run deploy/infrastructure.py > {TEMPLATE}")
            return 1
        return 0
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
