"""Create the template's resources on a local AWS endpoint (moto server or LocalStack).

Reading ``template.yaml`` here, rather than repeating names and settings in Python, is what keeps
the local stack and the deployed stack from drifting apart.

Physical names are made as CloudFormation makes them, so that code assuming anything about a name
fails here first: a queue or table without an explicit name is ``{stack}-{LogicalId}-{RANDOM}``
(13 upper-case letters and digits; stack name and logical id shortened to fit the service's
limit), a bucket keeps its explicit ``BucketName``, an alias its ``AliasName`` and points at the
key's id, and an HTTP API gets a random 10-character id.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

from agentflow.aws.clients import client
from agentflow.local.template import Template

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits
_API_ID_ALPHABET = string.ascii_lowercase + string.digits
# Longest names the services accept (what CloudFormation shortens generated names to).
SQS_NAME_LIMIT = 80
DYNAMODB_NAME_LIMIT = 255


def physical_name(stack_name: str, logical_id: str, *, limit: int) -> str:
    """A generated physical name as CloudFormation makes it: ``{stack}-{LogicalId}-{RANDOM13}``.

    When the whole would pass ``limit``, the stack name and the logical id are cut to share what
    is left (the shorter keeps all of itself), as CloudFormation does; the suffix is never cut.
    """
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(13))
    room = limit - len(suffix) - 2
    if len(stack_name) + len(logical_id) > room:
        stack_name = stack_name[: max(room // 2, room - len(logical_id))]
        logical_id = logical_id[: room - len(stack_name)]
    return f"{stack_name}-{logical_id}-{suffix}"


def api_id() -> str:
    """A random API Gateway id (10 lower-case letters and digits), as ``Ref`` of an HTTP API gives."""
    return "".join(secrets.choice(_API_ID_ALPHABET) for _ in range(10))


@dataclass
class Stack:
    """Physical names of a provisioned stack: what each logical id resolves to."""

    name: str
    region: str
    parameters: dict[str, str]
    refs: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    attrs: dict[tuple[str, str], str] = field(default_factory=dict)  # (logical id, attr) -> value
    conditions: dict[str, bool] = field(default_factory=dict)  # the template's Conditions, evaluated

    def resolve(self, value: Any) -> Any:
        """Resolve ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and ``Fn::If`` in ``value`` against this stack."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self._ref(value["Ref"])
        if "Fn::GetAtt" in value:
            logical_id, attr = value["Fn::GetAtt"]
            return self.attrs[(logical_id, attr)]
        if "Fn::Sub" in value:
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._sub(m.group(1))), value["Fn::Sub"])
        if "Fn::If" in value:
            name, when_true, when_false = value["Fn::If"]
            return self.resolve(when_true if self.conditions[name] else when_false)
        return {k: self.resolve(v) for k, v in value.items()}

    def evaluate(self, condition: Any) -> bool:
        """Evaluate a condition (``Fn::Equals``, ``Fn::Not``, ``Fn::And``, ``Fn::Or``, ``Condition``)."""
        if "Fn::Equals" in condition:
            left, right = (self.resolve(v) for v in condition["Fn::Equals"])
            return bool(str(left) == str(right))
        if "Fn::Not" in condition:
            return not self.evaluate(condition["Fn::Not"][0])
        if "Fn::And" in condition:
            return all(self.evaluate(c) for c in condition["Fn::And"])
        if "Fn::Or" in condition:
            return any(self.evaluate(c) for c in condition["Fn::Or"])
        if "Condition" in condition:
            return self.conditions[condition["Condition"]]
        raise ValueError(f"unsupported condition {condition!r}")

    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::StackName": self.name,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Region": self.region,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
        }.get(name)

    def _ref(self, name: str) -> str:
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        if name in self.parameters:
            return self.parameters[name]
        return self.refs[name]

    def _sub(self, name: str) -> str:
        if "." in name:
            logical_id, attr = name.split(".", 1)
            return self.attrs[(logical_id, attr)]
        return self._ref(name)

    def environment(self, template: Template) -> dict[str, str]:
        """The environment every function gets: the template's variables, resolved."""
        env: dict[str, str] = {}
        for fn in template.functions.values():
            for key, value in fn.environment.items():
                env[key] = str(self.resolve(value))
        return env


def provision(template: Template, *, stack_name: str, region: str, parameters: dict[str, str]) -> Stack:
    """Create every resource the local stack needs, in dependency order; return their names."""
    defaults = {name: str(spec.get("Default", "")) for name, spec in template.parameters.items()}
    stack = Stack(name=stack_name, region=region, parameters={**defaults, **parameters})
    for name, condition in template.conditions.items():  # in order: a later one may name an earlier
        stack.conditions[name] = stack.evaluate(condition)
    for logical_id in template.of_type("AWS::Serverless::HttpApi"):
        stack.refs[logical_id] = api_id()
    _queues(template, stack)
    _table(template, stack)
    _signing_key(template, stack)
    _secret(template, stack)
    _queue_policies(template, stack)
    _bucket(template, stack)
    return stack


def _queues(template: Template, stack: Stack) -> None:
    sqs: Any = client("sqs")  # fed CloudFormation dicts: untyped on purpose
    # Dead-letter queues first: a queue's redrive policy needs its DLQ's ARN.
    ordered = sorted(template.queues.values(), key=lambda q: q.dlq is not None)
    for spec in ordered:
        props = template.resources[spec.logical_id].get("Properties", {})
        attributes = {"VisibilityTimeout": str(spec.visibility_timeout)}
        if "MessageRetentionPeriod" in props:
            attributes["MessageRetentionPeriod"] = str(props["MessageRetentionPeriod"])
        if spec.dlq:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": stack.attrs[(spec.dlq, "Arn")],
                    "maxReceiveCount": spec.max_receive_count,
                }
            )
        explicit = props.get("QueueName")
        name = (
            str(stack.resolve(explicit))
            if explicit
            else physical_name(stack.name, spec.logical_id, limit=SQS_NAME_LIMIT)
        )
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = f"arn:{PARTITION}:sqs:{stack.region}:{ACCOUNT_ID}:{name}"
        stack.refs[spec.logical_id] = url
        stack.attrs[(spec.logical_id, "Arn")] = arn
        stack.attrs[(spec.logical_id, "QueueName")] = name
        stack.attrs[(spec.logical_id, "QueueUrl")] = url


def _queue_policies(template: Template, stack: Stack) -> None:
    sqs: Any = client("sqs")  # fed CloudFormation dicts: untyped on purpose
    for res in template.of_type("AWS::SQS::QueuePolicy").values():
        props = stack.resolve(res["Properties"])
        for url in props["Queues"]:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})


def _table(template: Template, stack: Stack) -> None:
    ddb = client("dynamodb")
    for logical_id, res in template.of_type("AWS::DynamoDB::Table").items():
        props = res["Properties"]
        explicit = props.get("TableName")
        name = (
            str(stack.resolve(explicit))
            if explicit
            else physical_name(stack.name, logical_id, limit=DYNAMODB_NAME_LIMIT)
        )
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        ddb.create_table(**kwargs)
        ddb.get_waiter("table_exists").wait(TableName=name)
        if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
            ddb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        stack.refs[logical_id] = name
        stack.attrs[(logical_id, "Arn")] = (
            f"arn:{PARTITION}:dynamodb:{stack.region}:{ACCOUNT_ID}:table/{name}"
        )


def _signing_key(template: Template, stack: Stack) -> None:
    kms = client("kms")
    for logical_id, res in template.of_type("AWS::KMS::Key").items():
        props = res["Properties"]
        meta = kms.create_key(
            Description=props.get("Description", logical_id),
            KeySpec=props["KeySpec"],
            KeyUsage=props["KeyUsage"],
        )["KeyMetadata"]
        stack.refs[logical_id] = meta["KeyId"]
        stack.attrs[(logical_id, "Arn")] = meta["Arn"]
    for logical_id, res in template.of_type("AWS::KMS::Alias").items():
        props = stack.resolve(res["Properties"])
        kms.create_alias(AliasName=props["AliasName"], TargetKeyId=props["TargetKeyId"])
        stack.refs[logical_id] = props["AliasName"]


def _secret(template: Template, stack: Stack) -> None:
    sm = client("secretsmanager")
    for logical_id, res in template.of_type("AWS::SecretsManager::Secret").items():
        length = int(res["Properties"].get("GenerateSecretString", {}).get("PasswordLength", 64))
        arn = sm.create_secret(
            Name=f"{stack.name}-{logical_id}", SecretString=secrets.token_urlsafe(length)[:length]
        )["ARN"]
        stack.refs[logical_id] = arn


def _bucket(template: Template, stack: Stack) -> None:
    s3: Any = client("s3")  # fed CloudFormation dicts: untyped on purpose
    for logical_id, res in template.of_type("AWS::S3::Bucket").items():
        props = stack.resolve(res["Properties"])
        name = props["BucketName"]
        if stack.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": stack.region})
        if "VersioningConfiguration" in props:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        if "BucketEncryption" in props:
            # CloudFormation's shape differs from the API's: a list of rules under another name.
            rules = [
                {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]}
                for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in props:
            s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        if "CorsConfiguration" in props:
            cors = [
                {
                    "AllowedMethods": r["AllowedMethods"],
                    "AllowedOrigins": r["AllowedOrigins"],
                    "AllowedHeaders": r.get("AllowedHeaders", []),
                    "ExposeHeaders": r.get("ExposedHeaders", []),
                    "MaxAgeSeconds": int(r.get("MaxAge", 0)),
                }
                for r in props["CorsConfiguration"]["CorsRules"]
            ]
            s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": cors})
        if "LifecycleConfiguration" in props:
            # CloudFormation's rule shape is the API's with ``Id``/``Status`` as is; a rule with no
            # prefix or filter applies to the whole bucket (the API wants an empty filter for that).
            rules = [
                {
                    "ID": r["Id"],
                    "Status": r["Status"],
                    "Filter": {"Prefix": r.get("Prefix", "")},
                    **(
                        {"AbortIncompleteMultipartUpload": r["AbortIncompleteMultipartUpload"]}
                        if "AbortIncompleteMultipartUpload" in r
                        else {}
                    ),
                }
                for r in props["LifecycleConfiguration"]["Rules"]
            ]
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
        notification = props.get("NotificationConfiguration", {})
        if notification.get("QueueConfigurations"):
            s3.put_bucket_notification_configuration(
                Bucket=name,
                NotificationConfiguration={
                    "QueueConfigurations": [
                        {
                            "QueueArn": q["Queue"],
                            "Events": [q["Event"]],
                            "Filter": {"Key": {"FilterRules": q["Filter"]["S3Key"]["Rules"]}},
                        }
                        for q in notification["QueueConfigurations"]
                    ]
                },
            )
        stack.refs[logical_id] = name
        stack.attrs[(logical_id, "Arn")] = f"arn:{PARTITION}:s3:::{name}"
