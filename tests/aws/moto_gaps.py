"""What moto's CloudFormation lacks for deploy/infrastructure.yaml, added to the moto that
runs in this process (the harness's ThreadedMotoServer). Only the harness changes; the
template stays as AWS reads it.

- AWS::RDS::DBProxy: "No Moto CloudFormation support"; the stack's outputs read its
  Endpoint, so without it the stack fails. Created here through moto's own RDS backend
  (which has the DB proxy API), so describe_db_proxies shows it as the stack made it.
- AWS::RDS::DBProxyTargetGroup, AWS::SecretsManager::SecretTargetAttachment: skipped by
  moto (a warning); nothing reads them back.
- AWS::SecretsManager::Secret: skipped by moto; the function reads the generated secrets.
- AWS::CloudWatch::Alarm: skipped by moto; `make deploy` watches them during a canary.
- Lambda ListEventSourceMappings(FunctionName=<name>) misses mappings created with the
  function's ARN (Zappa's way).
- Lambda AddPermission answers 200 where AWS answers 201: Zappa logs "Problem creating
  permission to invoke Lambda function" but moto records the statement (left as it is).
- Lambda ListFunctionUrlConfigs (called by `zappa update`) and GetAccountSettings (read by
  deploy/stage.py to size the reserved concurrency): no route in moto's server.
- AWS::RDS::DBParameterGroup: its Ref gives moto's object instead of the group's name
  (no physical_resource_id), which the DB instance then fails on.
- DeleteStack of a stack whose resource is already gone (a log group `zappa undeploy
  --remove-logs` removed, an emptied bucket): moto fails the whole call (NoSuchBucket, or a
  JSON error inside an XML answer); CloudFormation counts a resource already gone as deleted.
- DeleteStack and the VPC: moto leaves behind what it made for resources it skips or keeps
  (the proxy and database's network interfaces, a default security group), then refuses to
  delete the VPC (DependencyViolation) and with it the whole stack; CloudFormation deletes
  those first. Here the VPC's refusal is ignored once everything else of the stack is gone.
"""

import json
from typing import Any

from moto.awslambda import urls as lambda_urls
from moto.awslambda.models import LambdaBackend
from moto.cloudformation import parsing
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.rds.models import DBParameterGroup, rds_backends
from moto.secretsmanager.models import secretsmanager_backends


class MotoDBProxy(CloudFormationModel):
    def __init__(self, proxy):
        self.proxy = proxy

    @staticmethod
    def cloudformation_name_type() -> str:
        return "DBProxyName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RDS::DBProxy"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Endpoint", "DBProxyArn", "VpcId")

    @property
    def physical_resource_id(self) -> str:
        return self.proxy.db_proxy_name

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return {
            "Endpoint": self.proxy.endpoint,
            "DBProxyArn": self.proxy.arn,
            "VpcId": self.proxy.vpc_id,
        }[attribute_name]

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        backend = rds_backends[account_id][region_name]
        proxy = backend.create_db_proxy(
            db_proxy_name=properties.get("DBProxyName", resource_name),
            engine_family=properties["EngineFamily"],
            auth=properties["Auth"],
            role_arn=properties["RoleArn"],
            vpc_subnet_ids=properties["VpcSubnetIds"],
            vpc_security_group_ids=properties.get("VpcSecurityGroupIds"),
            require_tls=properties.get("RequireTLS"),
            idle_client_timeout=properties.get("IdleClientTimeout"),
            debug_logging=properties.get("DebugLogging"),
            tags=properties.get("Tags"),
        )
        return cls(proxy)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name
    ):
        backend = rds_backends[account_id][region_name]
        backend.db_proxies.pop(resource_name, None)

    def delete(self, account_id: str, region_name: str) -> None:
        rds_backends[account_id][region_name].db_proxies.pop(self.proxy.db_proxy_name, None)


def _list_event_source_mappings(self, event_source_arn, function_name):
    """Lambda's ListEventSourceMappings takes a function's name or ARN and matches mappings
    made with either; moto compares the strings as given (Zappa creates them with the ARN,
    deploy/partial_batch_responses.py lists them by name)."""

    def name_of(value):
        return (value or "").split(":function:")[-1].split(":")[0]

    mappings = list(self._event_source_mappings.values())
    if event_source_arn:
        mappings = [m for m in mappings if m.event_source_arn == event_source_arn]
    if function_name:
        mappings = [m for m in mappings if name_of(m.function_name) == name_of(function_name)]
    return mappings


def _list_function_url_configs(request, full_url, headers):
    """GET /2021-10-31/functions/<name>/urls (Zappa's update calls it): moto has no route."""
    return 200, {"Content-Type": "application/json"}, json.dumps({"FunctionUrlConfigs": []})


def _get_account_settings(request, full_url, headers):
    """GET /2016-08-19/account-settings/: moto has no route; Lambda's default limit."""
    body = {
        "AccountLimit": {"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000},
        "AccountUsage": {"FunctionCount": 1},
    }
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


def install() -> None:
    """Idempotent; before the moto server starts (its Lambda routes are read then): moto's
    model map is cached, rebuilt here with the classes above in it."""
    lambda_urls.url_paths[
        r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/urls/?$"
    ] = _list_function_url_configs
    lambda_urls.url_paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = _get_account_settings
    LambdaBackend.list_event_source_mappings = _list_event_source_mappings
    if not isinstance(getattr(DBParameterGroup, "physical_resource_id", None), property):
        DBParameterGroup.physical_resource_id = property(lambda group: group.name)
    resource_map = parsing.ResourceMap
    if not getattr(resource_map._delete_resource, "tolerates_gone", False):
        resource_map._delete_resource = _delete_if_there(resource_map._delete_resource)
    # The list too: a stack made in this process before this module was imported (another
    # test's) cached the model classes without the ones above (AWS::RDS::DBProxy: "NoneType
    # has no attribute has_cfn_attr" on the stack's outputs).
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()


GONE = ("NotFound", "Missing", "NoSuch")


def _delete_if_there(delete):
    def delete_if_there(self, parsed_resource, resource_json):
        try:
            delete(self, parsed_resource, resource_json)
        except Exception as error:
            if any(word in type(error).__name__ for word in GONE):
                return  # already gone counts as deleted
            left = [
                key
                for key, made in self._parsed_resources.items()
                if key in self._resource_json_map and made is not None
                and not isinstance(made, str)
                and self._resource_json_map[key].get("DeletionPolicy") != "Retain"
            ]  # fmt: skip
            vpc_left_last = resource_json.get("Type") == "AWS::EC2::VPC" and all(
                self._resource_json_map[key].get("Type") == "AWS::EC2::VPC" for key in left
            )
            if not (vpc_left_last and "DependencyViolation" in str(error)):
                raise

    delete_if_there.tolerates_gone = True
    return delete_if_there


class MotoSecret(CloudFormationModel):
    """AWS::SecretsManager::Secret with GenerateSecretString, which moto's CloudFormation
    skips: made through moto's Secrets Manager backend, the value generated by moto's own
    GetRandomPassword as CloudFormation would."""

    def __init__(self, arn: str, name: str):
        self.arn, self.name = arn, name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    @property
    def physical_resource_id(self) -> str:
        return self.arn  # Ref of a secret is its ARN

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        backend = secretsmanager_backends[account_id][region_name]
        value = properties.get("SecretString")
        generate = properties.get("GenerateSecretString")
        if generate:
            password = json.loads(
                backend.get_random_password(
                    password_length=generate.get("PasswordLength", 32),
                    exclude_characters=generate.get("ExcludeCharacters", ""),
                    exclude_numbers=False,
                    exclude_punctuation=generate.get("ExcludePunctuation", False),
                    exclude_uppercase=False,
                    exclude_lowercase=False,
                    include_space=False,
                    require_each_included_type=True,
                )
            )["RandomPassword"]
            if "GenerateStringKey" in generate:
                document = json.loads(generate["SecretStringTemplate"])
                document[generate["GenerateStringKey"]] = password
                value = json.dumps(document)
            else:
                value = password
        name = properties.get("Name", resource_name)
        created = backend.create_secret(
            name=name,
            secret_string=value,
            secret_binary=None,
            description=properties.get("Description"),
            tags=properties.get("Tags"),
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"] if isinstance(created, str) else created["ARN"], name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name
    ):
        backend = secretsmanager_backends[account_id][region_name]
        backend.delete_secret(resource_name, None, True)

    def delete(self, account_id: str, region_name: str) -> None:
        secretsmanager_backends[account_id][region_name].delete_secret(self.arn, None, True)


class MotoAlarm(CloudFormationModel):
    """AWS::CloudWatch::Alarm, which moto's CloudFormation skips: put through moto's
    CloudWatch backend with the template's properties (what `make deploy` watches)."""

    def __init__(self, name: str):
        self.name = name

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        p = cloudformation_json["Properties"]
        name = p.get("AlarmName", resource_name)
        cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=p["Namespace"],
            metric_name=p["MetricName"],
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            period=int(p["Period"]),
            threshold=float(p["Threshold"]),
            statistic=p["Statistic"],
            description=p.get("AlarmDescription", ""),
            dimensions=p.get("Dimensions", []),
            alarm_actions=p.get("AlarmActions", []),
            ok_actions=p.get("OKActions", []),
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(name)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name
    ):
        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])

    def delete(self, account_id: str, region_name: str) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([self.name])
