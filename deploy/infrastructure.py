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

Names are fixed per stage (wildrydes-<Stage>-...) so deploy/stage.py can name them; the
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
    return int(stages["base"].get("timeout_seconds", 30))


# The stage's database: RDS for PostgreSQL behind RDS Proxy. max_connections is set in the
# parameter group (not left to the instance size), so the budget below is known: the proxy
# may open PROXY_CONNECTIONS_PERCENT of it, and the function's reserved concurrency stays
# under that (with no pinning one invocation borrows at most one connection at a time), the
# rest kept for `zappa manage` and an operator's psql.
DATABASE_MAX_CONNECTIONS = 100
PROXY_CONNECTIONS_PERCENT = 90
FUNCTION_CONCURRENCY = 80
if FUNCTION_CONCURRENCY >= DATABASE_MAX_CONNECTIONS * PROXY_CONNECTIONS_PERCENT // 100:
    raise ValueError("the function could borrow more connections than the proxy has")
DATABASE_NAME = "wildrydes"
DATABASE_ENGINE_VERSION = "17.9"
DATABASE_PORT = 5432
VPC_CIDR = "10.42.0.0/16"

PARAMETERS = {
    "Stage": {
        "Type": "String",
        "AllowedPattern": "^[a-z][a-z0-9]{0,19}$",
        "ConstraintDescription": "lower-case letters and digits, starting with a letter",
        "Description": "The Zappa stage (any name: dev, prod, a developer's sandbox); names "
        "every resource wildrydes-<Stage>-...",
    },
    "DatabaseInstanceClass": {
        "Type": "String",
        "Default": "db.t4g.micro",
        "Description": "RDS instance class (prod: db.t4g.small or larger)",
    },
    "AlarmEmail": {
        "Type": "String",
        "Default": "",
        "Description": "Optional address subscribed to the ops topic (confirm the e-mail)",
    },
    "LogRetentionDays": {
        "Type": "Number",
        "Default": 30,
        "AllowedValues": [7, 14, 30, 60, 90, 180, 365],
    },
}


def if_production(production, other) -> dict:
    return {"Fn::If": ["IsProduction", production, other]}


def tags(name: str) -> list[dict]:
    return [{"Key": "Name", "Value": sub(f"{APP}-${{Stage}}-{name}")}]


def network(resources: dict) -> None:
    """Two private subnets (two zones: RDS and the proxy need them) for the function, the
    proxy and the database; a NAT gateway in one public subnet for the AWS APIs the function
    calls, and an S3 gateway endpoint (free) so files and static uploads skip the NAT.

    NAT rather than interface endpoints: SES's sending API has no VPC endpoint (only SMTP
    does), and four interface endpoints (Secrets Manager, SNS, SQS, Step Functions) in two
    zones cost about 2.5 times one NAT gateway at idle."""
    azs = [{"Fn::Select": [i, {"Fn::GetAZs": ""}]} for i in (0, 1)]
    resources["Vpc"] = {
        "Type": "AWS::EC2::VPC",
        "Properties": {
            "CidrBlock": VPC_CIDR,
            "EnableDnsSupport": True,
            "EnableDnsHostnames": True,
            "Tags": tags("vpc"),
        },
    }
    resources["InternetGateway"] = {"Type": "AWS::EC2::InternetGateway"}
    resources["InternetGatewayAttachment"] = {
        "Type": "AWS::EC2::VPCGatewayAttachment",
        "Properties": {"VpcId": {"Ref": "Vpc"}, "InternetGatewayId": {"Ref": "InternetGateway"}},
    }
    resources["PublicSubnet"] = {
        "Type": "AWS::EC2::Subnet",
        "Properties": {
            "VpcId": {"Ref": "Vpc"},
            "CidrBlock": "10.42.0.0/24",
            "AvailabilityZone": azs[0],
            "Tags": tags("public"),
        },
    }
    resources["PublicRouteTable"] = {
        "Type": "AWS::EC2::RouteTable",
        "Properties": {"VpcId": {"Ref": "Vpc"}, "Tags": tags("public")},
    }
    resources["PublicDefaultRoute"] = {
        "Type": "AWS::EC2::Route",
        "DependsOn": "InternetGatewayAttachment",
        "Properties": {
            "RouteTableId": {"Ref": "PublicRouteTable"},
            "DestinationCidrBlock": "0.0.0.0/0",
            "GatewayId": {"Ref": "InternetGateway"},
        },
    }
    resources["PublicSubnetRouteTable"] = {
        "Type": "AWS::EC2::SubnetRouteTableAssociation",
        "Properties": {
            "SubnetId": {"Ref": "PublicSubnet"},
            "RouteTableId": {"Ref": "PublicRouteTable"},
        },
    }
    resources["NatAddress"] = {
        "Type": "AWS::EC2::EIP",
        "DependsOn": "InternetGatewayAttachment",
        "Properties": {"Domain": "vpc"},
    }
    resources["NatGateway"] = {
        "Type": "AWS::EC2::NatGateway",
        "Properties": {
            "AllocationId": {"Fn::GetAtt": ["NatAddress", "AllocationId"]},
            "SubnetId": {"Ref": "PublicSubnet"},
            "Tags": tags("nat"),
        },
    }
    resources["PrivateRouteTable"] = {
        "Type": "AWS::EC2::RouteTable",
        "Properties": {"VpcId": {"Ref": "Vpc"}, "Tags": tags("private")},
    }
    resources["PrivateDefaultRoute"] = {
        "Type": "AWS::EC2::Route",
        "Properties": {
            "RouteTableId": {"Ref": "PrivateRouteTable"},
            "DestinationCidrBlock": "0.0.0.0/0",
            "NatGatewayId": {"Ref": "NatGateway"},
        },
    }
    for index, name in enumerate(("PrivateSubnetA", "PrivateSubnetB")):
        resources[name] = {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "CidrBlock": f"10.42.{16 * (index + 1)}.0/20",
                "AvailabilityZone": azs[index],
                "Tags": tags(f"private-{'ab'[index]}"),
            },
        }
        resources[f"{name}RouteTable"] = {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {
                "SubnetId": {"Ref": name},
                "RouteTableId": {"Ref": "PrivateRouteTable"},
            },
        }
    resources["S3Endpoint"] = {
        "Type": "AWS::EC2::VPCEndpoint",
        "Properties": {
            "VpcId": {"Ref": "Vpc"},
            "VpcEndpointType": "Gateway",
            "ServiceName": sub("com.amazonaws.${AWS::Region}.s3"),
            "RouteTableIds": [{"Ref": "PrivateRouteTable"}],
        },
    }

    def group(name: str, description: str, ingress_from: str | None) -> dict:
        properties = {
            "GroupDescription": description,
            "VpcId": {"Ref": "Vpc"},
            "Tags": tags(name),
        }
        if ingress_from:
            properties["SecurityGroupIngress"] = [
                {
                    "IpProtocol": "tcp",
                    "FromPort": DATABASE_PORT,
                    "ToPort": DATABASE_PORT,
                    "SourceSecurityGroupId": {"Ref": ingress_from},
                    "Description": f"PostgreSQL from {ingress_from}",
                }
            ]
        return {"Type": "AWS::EC2::SecurityGroup", "Properties": properties}

    resources["FunctionSecurityGroup"] = group(
        "function", "Wild Rydes function: HTTPS out, PostgreSQL to the proxy", None
    )
    resources["FunctionSecurityGroup"]["Properties"]["SecurityGroupEgress"] = [
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "CidrIp": "0.0.0.0/0",
            "Description": "AWS APIs (through the NAT or the S3 endpoint)",
        },
        {
            "IpProtocol": "tcp",
            "FromPort": DATABASE_PORT,
            "ToPort": DATABASE_PORT,
            "CidrIp": VPC_CIDR,
            "Description": "PostgreSQL through RDS Proxy",
        },
    ]
    resources["ProxySecurityGroup"] = group(
        "proxy", "Wild Rydes RDS Proxy: PostgreSQL from the function", "FunctionSecurityGroup"
    )
    resources["DatabaseSecurityGroup"] = group(
        "database", "Wild Rydes database: PostgreSQL from the proxy", "ProxySecurityGroup"
    )


def secrets_and_database(resources: dict) -> None:
    """Secrets generated by Secrets Manager (nobody types or sees them), the database that
    uses one of them, and RDS Proxy in front of it."""
    resources["DjangoSecret"] = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {
            "Name": sub(f"{APP}/${{Stage}}/django-secret-key"),
            "Description": "Django's SECRET_KEY for the stage (read by the function at start-up)",
            "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
        },
    }
    resources["DatabaseSecret"] = {
        "Type": "AWS::SecretsManager::Secret",
        "Properties": {
            "Name": sub(f"{APP}/${{Stage}}/database"),
            "Description": "PostgreSQL user and password of the stage (RDS Proxy signs in "
            "with it; the function reads it at start-up)",
            "GenerateSecretString": {
                "SecretStringTemplate": json.dumps({"username": APP}),
                "GenerateStringKey": "password",
                "PasswordLength": 40,
                "ExcludePunctuation": True,
            },
        },
    }
    resources["DatabaseSubnetGroup"] = {
        "Type": "AWS::RDS::DBSubnetGroup",
        "Properties": {
            "DBSubnetGroupDescription": "Wild Rydes private subnets",
            "SubnetIds": [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}],
        },
    }
    resources["DatabaseParameterGroup"] = {
        "Type": "AWS::RDS::DBParameterGroup",
        "Properties": {
            "Description": "Wild Rydes PostgreSQL: a known connection budget, TLS only, UTC",
            "Family": "postgres17",
            "Parameters": {
                "max_connections": str(DATABASE_MAX_CONNECTIONS),
                "rds.force_ssl": "1",
                # Django sends SET TIME ZONE when the session's differs, which would pin
                # every client connection to one database connection in RDS Proxy.
                "timezone": "UTC",
            },
        },
    }
    credentials = "{{resolve:secretsmanager:${DatabaseSecret}:SecretString:%s}}"
    resources["Database"] = {
        "Type": "AWS::RDS::DBInstance",
        "DeletionPolicy": "Snapshot",
        "UpdateReplacePolicy": "Snapshot",
        "Properties": {
            "DBInstanceIdentifier": sub(f"{APP}-${{Stage}}"),
            "Engine": "postgres",
            "EngineVersion": DATABASE_ENGINE_VERSION,
            "DBInstanceClass": {"Ref": "DatabaseInstanceClass"},
            "AllocatedStorage": "20",
            "MaxAllocatedStorage": 100,
            "StorageType": "gp3",
            "StorageEncrypted": True,
            "DBName": DATABASE_NAME,
            "MasterUsername": sub(credentials % "username"),
            "MasterUserPassword": sub(credentials % "password"),
            "DBSubnetGroupName": {"Ref": "DatabaseSubnetGroup"},
            "DBParameterGroupName": {"Ref": "DatabaseParameterGroup"},
            "VPCSecurityGroups": [{"Ref": "DatabaseSecurityGroup"}],
            "PubliclyAccessible": False,
            "MultiAZ": if_production(True, False),
            "BackupRetentionPeriod": if_production(14, 7),
            "DeletionProtection": if_production(True, False),
            "CopyTagsToSnapshot": True,
            # Pinned (a minor upgrade behind the stack's back breaks its next update):
            # raise DATABASE_ENGINE_VERSION to upgrade, in a release of its own.
            "AutoMinorVersionUpgrade": False,
        },
    }
    resources["DatabaseSecretAttachment"] = {
        "Type": "AWS::SecretsManager::SecretTargetAttachment",
        "Properties": {
            "SecretId": {"Ref": "DatabaseSecret"},
            "TargetId": {"Ref": "Database"},
            "TargetType": "AWS::RDS::DBInstance",
        },
    }
    resources["DatabaseProxyRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "rds.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": "read-the-database-secret",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "secretsmanager:GetSecretValue",
                                "Resource": {"Ref": "DatabaseSecret"},
                            }
                        ],
                    },
                }
            ],
        },
    }
    resources["DatabaseProxy"] = {
        "Type": "AWS::RDS::DBProxy",
        "Properties": {
            "DBProxyName": sub(f"{APP}-${{Stage}}"),
            "EngineFamily": "POSTGRESQL",
            "RequireTLS": True,
            "IdleClientTimeout": 1800,
            "RoleArn": {"Fn::GetAtt": ["DatabaseProxyRole", "Arn"]},
            "Auth": [
                {
                    "AuthScheme": "SECRETS",
                    "SecretArn": {"Ref": "DatabaseSecret"},
                    "IAMAuth": "DISABLED",
                }
            ],
            "VpcSubnetIds": [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}],
            "VpcSecurityGroupIds": [{"Ref": "ProxySecurityGroup"}],
        },
    }
    resources["DatabaseProxyTargetGroup"] = {
        "Type": "AWS::RDS::DBProxyTargetGroup",
        "DependsOn": "DatabaseSecretAttachment",
        "Properties": {
            "DBProxyName": {"Ref": "DatabaseProxy"},
            "TargetGroupName": "default",
            "DBInstanceIdentifiers": [{"Ref": "Database"}],
            "ConnectionPoolConfigurationInfo": {
                "MaxConnectionsPercent": PROXY_CONNECTIONS_PERCENT,
                "MaxIdleConnectionsPercent": 10,
                # Under API Gateway's 29 s: a request that cannot borrow a connection gets
                # the app's 503 "cannot reach its database" instead of a gateway timeout.
                "ConnectionBorrowTimeout": 10,
            },
        },
    }


def alarm(name: str, description: str, namespace: str, metric: str, dimensions: dict, **kw):
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": sub(f"{APP}-${{Stage}}-{name}"),
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Statistic": kw.get("statistic", "Sum"),
            "Period": kw.get("period", 300),
            "EvaluationPeriods": kw.get("evaluation_periods", 1),
            "Threshold": kw.get("threshold", 1),
            "ComparisonOperator": kw.get("comparison", "GreaterThanOrEqualToThreshold"),
            "TreatMissingData": kw.get("missing", "notBreaching"),
            "AlarmActions": [{"Ref": "OpsTopic"}],
            "OKActions": [{"Ref": "OpsTopic"}],
        },
    }


def monitoring(resources: dict, dead_letter_queues: dict) -> None:
    """The ops topic, the function's log group (with retention) and the alarms of
    docs/operations.md; `make deploy` watches the same alarms during a canary."""
    function = sub(f"{APP}-${{Stage}}")
    resources["OpsTopic"] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": sub(f"{APP}-${{Stage}}-ops")},
    }
    resources["OpsEmail"] = {
        "Type": "AWS::SNS::Subscription",
        "Condition": "HasAlarmEmail",
        "Properties": {
            "TopicArn": {"Ref": "OpsTopic"},
            "Protocol": "email",
            "Endpoint": {"Ref": "AlarmEmail"},
        },
    }
    resources["FunctionLogGroup"] = {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "LogGroupName": sub(f"/aws/lambda/{APP}-${{Stage}}"),
            "RetentionInDays": {"Ref": "LogRetentionDays"},
        },
    }
    resources["FunctionErrorsAlarm"] = alarm(
        "function-errors",
        "An invocation raised (SQS batch, workflow step, relay)",
        "AWS/Lambda",
        "Errors",
        {"FunctionName": function},
    )
    resources["FunctionThrottlesAlarm"] = alarm(
        "function-throttles",
        "Invocations refused at the reserved concurrency",
        "AWS/Lambda",
        "Throttles",
        {"FunctionName": function},
    )
    resources["Api5xxAlarm"] = alarm(
        "api-5xx",
        "More than 10 answers 5xx at API Gateway in 5 minutes",
        "AWS/ApiGateway",
        "5XXError",
        {"ApiName": function},
        threshold=10,
        comparison="GreaterThanThreshold",
    )
    for name, dlq in dead_letter_queues.items():
        resources[f"{logical(name)}DeadLettersAlarm"] = alarm(
            f"{name}-dlq",
            f"Messages in the {name} subscriber's dead-letter queue",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": {"Fn::GetAtt": [dlq, "QueueName"]}},
            statistic="Maximum",
            comparison="GreaterThanThreshold",
            threshold=0,
        )
    resources["FailedExecutionsAlarm"] = alarm(
        "payment-list-failed",
        "A payment-list workflow failed, timed out or was aborted",
        "AWS/States",
        "ExecutionsFailed",
        {"StateMachineArn": {"Ref": "PaymentListStateMachine"}},
    )
    resources["DatabaseConnectionsAlarm"] = alarm(
        "database-connections",
        "Database connections above 80% of max_connections",
        "AWS/RDS",
        "DatabaseConnections",
        {"DBInstanceIdentifier": {"Ref": "Database"}},
        statistic="Maximum",
        threshold=DATABASE_MAX_CONNECTIONS * 8 // 10,
        evaluation_periods=2,
    )
    resources["OutboxAgeAlarm"] = alarm(
        "outbox-age",
        "The oldest undelivered outbox event is over 10 minutes old (relay failing)",
        "WildRydes",
        "OutboxOldestAgeSeconds",
        {"Stage": {"Ref": "Stage"}},
        statistic="Maximum",
        threshold=600,
        evaluation_periods=2,
    )


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
    dead_letter_queues = {}
    network(resources)
    secrets_and_database(resources)

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
        dead_letter_queues[name] = dlq

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
                                # Zappa's API integration calls the function with this role
                                # as its Credentials (see the InvokeTheFunction statement).
                                "apigateway.amazonaws.com",
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
            ],
            "Policies": [
                {
                    "PolicyName": "wildrydes-app",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                # API Gateway (Zappa's integration: Credentials = this role)
                                # invokes the function, its versions and the `live` alias.
                                "Sid": "InvokeTheFunction",
                                "Effect": "Allow",
                                "Action": "lambda:InvokeFunction",
                                "Resource": [function_arn, sub(f"{function_arn['Fn::Sub']}:*")],
                            },
                            {
                                "Sid": "ReadTheStageSecrets",
                                "Effect": "Allow",
                                "Action": "secretsmanager:GetSecretValue",
                                "Resource": [{"Ref": "DjangoSecret"}, {"Ref": "DatabaseSecret"}],
                            },
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
                            # sns:Publish grants PublishBatch too (the relay's call): IAM has
                            # no sns:PublishBatch action (SNS API permissions reference).
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

    monitoring(resources, dead_letter_queues)
    resources["DeploymentBucket"] = {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            # Zappa uploads the package here (zappa_settings "s3_bucket") and removes it.
            "BucketName": sub(f"{prefix}-zappa-${{AWS::AccountId}}"),
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": [{"Id": "old-packages", "Status": "Enabled", "ExpirationInDays": 30}]
            },
        },
    }

    outputs = {
        "FilesBucketName": {"Value": {"Ref": "FilesBucket"}},
        "DeploymentBucketName": {"Value": {"Ref": "DeploymentBucket"}},
        "FunctionSubnetIds": {
            "Value": {"Fn::Join": [",", [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]]}
        },
        "FunctionSecurityGroupId": {"Value": {"Ref": "FunctionSecurityGroup"}},
        "DatabaseProxyEndpoint": {"Value": {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}},
        "DatabaseName": {"Value": DATABASE_NAME},
        "DatabaseSecretArn": {"Value": {"Ref": "DatabaseSecret"}},
        "DjangoSecretArn": {"Value": {"Ref": "DjangoSecret"}},
        "FunctionConcurrency": {"Value": str(FUNCTION_CONCURRENCY)},
        "OpsTopicArn": {"Value": {"Ref": "OpsTopic"}},
        "AlarmNamePrefix": {"Value": sub(f"{prefix}-")},
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
        "Parameters": PARAMETERS,
        "Conditions": {
            "IsProduction": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
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
