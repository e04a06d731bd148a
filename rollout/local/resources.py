"""CloudFormation resource handlers for what moto 5.2.5's CloudFormation can't create right.

moto skips `AWS::Lambda::Alias`, `AWS::CloudWatch::Alarm`, `AWS::SNS::Subscription` and
`AWS::S3::BucketPolicy`; gives `AWS::Lambda::Version` no `Version` attribute and no `Ref`
and `AWS::Lambda::LayerVersion` no `Ref`; drops `Layers`, `Tags` and `TracingConfig` from
`AWS::Lambda::Function`; and writes state machines to the Step Functions backend that the
API stops using once execution is enabled; and has no CloudFormation support at all for
`AWS::ApiGatewayV2::Api` and `Stage`, which SAM's HttpApi events become. Each handler
here calls the public AWS API against the cloud, as CloudFormation itself does, in the
shape moto's CloudFormationModel expects, so moto still resolves `Ref`/`GetAtt`/`Sub`,
conditions and Outputs through them.
The CloudFormation seam (rollout/local/cloudformation.py) puts them in moto's model map.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from botocore.exceptions import ClientError
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError

from rollout.local.seam import Cloud


def as_text(value: Any) -> Any:
    """A scalar as CloudFormation passes it to a service: text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


class Api:
    """boto3 clients for the cloud being deployed to, one per service."""

    def __init__(self, cloud: Cloud) -> None:
        self._cloud = cloud
        self._clients: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._cloud.client(service)
        return self._clients[service]


def api_args(client: Any, method: str, properties: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation properties as API arguments: unknown keys dropped, scalars coerced
    to the API's types (CloudFormation passes `"60"` where the API wants 60)."""
    operation = client.meta.method_to_api_mapping[method]
    shape = client.meta.service_model.operation_model(operation).input_shape
    return _coerce(shape, properties)


def _coerce(shape: Any, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: _coerce(shape.members[k], v) for k, v in value.items() if k in shape.members}
    if kind == "list" and isinstance(value, list):
        return [_coerce(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {k: _coerce(shape.value, v) for k, v in value.items()}
    if kind in ("integer", "long") and isinstance(value, str | float):
        return int(value)
    if kind in ("double", "float") and isinstance(value, str | int):
        return float(value)
    if kind == "boolean" and isinstance(value, str):
        return value.lower() == "true"
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


class ApiResource:
    """A CloudFormation resource handler in the shape moto's CloudFormationModel expects.

    Not a CloudFormationModel subclass on purpose: moto discovers models through
    `__subclasses__()`, and these must only be active while the seam is installed.
    """

    cfn_type: ClassVar[str] = ""
    attribute_names: ClassVar[tuple[str, ...]] = ()
    current_api: ClassVar[Api | None] = None  # set while the CloudFormation seam is installed

    def __init__(
        self, api: Api, physical_id: str, properties: dict[str, Any], attributes: dict[str, Any]
    ) -> None:
        self.physical_resource_id = physical_id
        self.properties = properties
        self.attributes = attributes
        self._own_api = api

    @property
    def api(self) -> Api:
        return ApiResource.current_api or self._own_api

    # what each kind implements
    @classmethod
    def create(cls, api: Api, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        raise NotImplementedError

    def update(self, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        """Replacement by default: create the new one, then remove the old one."""
        replacement = type(self).create(self.api, resource_name, properties)
        self.remove()
        return replacement

    def remove(self) -> None:
        raise NotImplementedError

    # moto's CloudFormationModel protocol
    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.attribute_names

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name not in self.attributes:
            raise UnformattedGetAttTemplateException()
        return self.attributes[attribute_name]

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> ApiResource:
        if cls.current_api is None:
            raise ValidationError(
                message=f"{cls.cfn_type}: the CloudFormation seam isn't installed"
            )
        properties = cls.in_stack(cloudformation_json["Properties"], kwargs)
        with _reported(kwargs.get("LogicalId", resource_name)):
            return cls.create(cls.current_api, resource_name, properties)

    @classmethod
    def in_stack(cls, properties: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """What CloudFormation adds to a resource's properties from its stack (nothing, for
        most kinds)."""
        return properties

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: ApiResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> ApiResource:
        with _reported(getattr(original_resource, "logical_resource_id", new_resource_name)):
            return original_resource.update(new_resource_name, cloudformation_json["Properties"])

    def delete(self, account_id: str, region_name: str) -> None:
        self.remove()


@contextmanager
def _reported(logical_id: str) -> Iterator[None]:
    """API errors become CloudFormation validation errors that name the resource."""
    try:
        yield
    except ClientError as error:
        raise ValidationError(message=f"{logical_id}: {error}") from error


def _tags(properties: dict[str, Any]) -> dict[str, str]:
    return {tag["Key"]: str(tag["Value"]) for tag in properties.get("Tags") or []}


# "CloudFormation automatically creates the following stack-level tags with the prefix aws:
# aws:cloudformation:logical-id, aws:cloudformation:stack-id, aws:cloudformation:stack-name"
# (CloudFormation User Guide, resource tags); Lambda functions carry them.
STACK_TAGS = (
    "aws:cloudformation:logical-id",
    "aws:cloudformation:stack-id",
    "aws:cloudformation:stack-name",
)


class _Function(ApiResource):
    cfn_type = "AWS::Lambda::Function"
    attribute_names = ("Arn",)

    @classmethod
    def in_stack(cls, properties: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        stack_id = str(context.get("StackId") or "")
        if not stack_id:
            return properties
        values = (context.get("LogicalId"), stack_id, stack_id.split("/")[1])
        tags = [{"Key": k, "Value": v} for k, v in zip(STACK_TAGS, values, strict=True) if v]
        return {**properties, "Tags": [*(properties.get("Tags") or []), *tags]}

    @staticmethod
    def _request(name: str, properties: dict[str, Any]) -> dict[str, Any]:
        request = {**properties, "FunctionName": name, "Tags": _tags(properties)}
        if "ZipFile" in (properties.get("Code") or {}):
            request["Code"] = inline_code(name, properties)
        if "KmsKeyArn" in request:
            request["KMSKeyArn"] = request.pop("KmsKeyArn")
        return request

    @classmethod
    def create(cls, api: Api, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        name = properties.get("FunctionName") or resource_name
        lambda_ = api("lambda")
        request = api_args(lambda_, "create_function", cls._request(name, properties))
        response = lambda_.create_function(**request)
        return cls(api, name, properties, {"Arn": response["FunctionArn"]})

    def update(self, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        name = properties.get("FunctionName") or self.physical_resource_id
        kept = [t for t in self.properties.get("Tags") or [] if t["Key"] in STACK_TAGS]
        properties = {**properties, "Tags": [*(properties.get("Tags") or []), *kept]}
        if name != self.physical_resource_id:
            return super().update(name, properties)
        lambda_ = self.api("lambda")
        cleared = {"Environment": {"Variables": {}}, "Layers": []}  # removed from the template
        request = {**cleared, **self._request(name, properties)}
        lambda_.update_function_configuration(
            **api_args(lambda_, "update_function_configuration", request)
        )
        code = {**self._request(name, properties)["Code"], "FunctionName": name}
        lambda_.update_function_code(**api_args(lambda_, "update_function_code", code))
        self._retag(lambda_, _tags(self.properties), _tags(properties))
        self.properties = properties
        return self

    def _retag(self, lambda_: Any, old: dict[str, str], new: dict[str, str]) -> None:
        arn = self.attributes["Arn"]
        if set(old) - set(new):
            lambda_.untag_resource(Resource=arn, TagKeys=sorted(set(old) - set(new)))
        if new:
            lambda_.tag_resource(Resource=arn, Tags=new)

    def remove(self) -> None:
        self.api("lambda").delete_function(FunctionName=self.physical_resource_id)


# AWS::Lambda::Function Code.ZipFile (CloudFormation User Guide): "(Node.js and Python)
# The source code of your Lambda function. If you include your function source inline with
# this parameter, CloudFormation places it in a file named index and zips it to create a
# deployment package. This zip file cannot exceed 4MB." The handler is then `index.<name>`.
INLINE_CODE_LIMIT = 4 * 1024 * 1024


def inline_code(name: str, properties: dict[str, Any]) -> dict[str, bytes]:
    """`Code` for an inline ZipFile: `index.py` in a zip (only Python runs locally)."""
    runtime = str(properties.get("Runtime") or "")
    if not runtime.startswith("python"):
        raise ValidationError(
            message=f"{name}: inline ZipFile code runs here for Python runtimes only, "
            f"not {runtime or 'this runtime'}; use CodeUri"
        )
    source = str(properties["Code"]["ZipFile"]).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("index.py", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        archive.writestr(info, source)
    if buffer.tell() > INLINE_CODE_LIMIT:
        raise ValidationError(message=f"{name}: ZipFile code zips to more than 4 MB")
    return {"ZipFile": buffer.getvalue()}


class _Version(ApiResource):
    """Ref: the version ARN; GetAtt Version and FunctionArn. Immutable: an update
    publishes a new version and keeps the old one, as SAM's `DeletionPolicy: Retain` does."""

    cfn_type = "AWS::Lambda::Version"
    attribute_names = ("Version", "FunctionArn")

    @classmethod
    def create(cls, api: Api, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        lambda_ = api("lambda")
        response = lambda_.publish_version(**api_args(lambda_, "publish_version", properties))
        arn = response["FunctionArn"]
        attributes = {"Version": response["Version"], "FunctionArn": arn.rsplit(":", 1)[0]}
        return cls(api, arn, properties, attributes)

    def update(self, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        return type(self).create(self.api, resource_name, properties)

    def remove(self) -> None:
        self.api("lambda").delete_function(FunctionName=self.physical_resource_id)


class _Alias(ApiResource):
    cfn_type = "AWS::Lambda::Alias"
    attribute_names = ("AliasArn",)

    @staticmethod
    def _request(properties: dict[str, Any]) -> dict[str, Any]:
        weights = (properties.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or []
        routing = {str(w["FunctionVersion"]): float(w["FunctionWeight"]) for w in weights}
        return {**properties, "RoutingConfig": {"AdditionalVersionWeights": routing}}

    @classmethod
    def create(cls, api: Api, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        lambda_ = api("lambda")
        request = api_args(lambda_, "create_alias", cls._request(properties))
        arn = lambda_.create_alias(**request)["AliasArn"]
        return cls(api, arn, properties, {"AliasArn": arn})

    def update(self, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        if any(properties[k] != self.properties[k] for k in ("Name", "FunctionName")):
            return super().update(resource_name, properties)
        lambda_ = self.api("lambda")
        request = {"Description": "", **self._request(properties)}
        lambda_.update_alias(**api_args(lambda_, "update_alias", request))
        self.properties = properties
        return self

    def remove(self) -> None:
        self.api("lambda").delete_alias(
            FunctionName=self.properties["FunctionName"], Name=self.properties["Name"]
        )


class _LayerVersion(ApiResource):
    """Ref: the layer version ARN. Immutable like a function version."""

    cfn_type = "AWS::Lambda::LayerVersion"
    attribute_names = ("LayerVersionArn",)

    @classmethod
    def create(cls, api: Api, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        lambda_ = api("lambda")
        request = {**properties, "LayerName": properties.get("LayerName") or resource_name}
        response = lambda_.publish_layer_version(
            **api_args(lambda_, "publish_layer_version", request)
        )
        arn = response["LayerVersionArn"]
        return cls(api, arn, properties, {"LayerVersionArn": arn})

    def update(self, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        return type(self).create(self.api, resource_name, properties)

    def remove(self) -> None:
        name, number = self.physical_resource_id.rsplit(":", 2)[-2:]
        self.api("lambda").delete_layer_version(LayerName=name, VersionNumber=int(number))


class _Alarm(ApiResource):
    """Ref: the alarm name; GetAtt Arn."""

    cfn_type = "AWS::CloudWatch::Alarm"
    attribute_names = ("Arn",)

    @classmethod
    def create(cls, api: Api, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        name = properties.get("AlarmName") or resource_name
        cls._put(api, name, properties)
        alarms = api("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
        return cls(api, name, properties, {"Arn": alarms[0]["AlarmArn"]})

    @staticmethod
    def _put(api: Api, name: str, properties: dict[str, Any]) -> None:
        cloudwatch = api("cloudwatch")
        request = {**properties, "AlarmName": name}
        cloudwatch.put_metric_alarm(**api_args(cloudwatch, "put_metric_alarm", request))

    def update(self, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        name = properties.get("AlarmName") or self.physical_resource_id
        if name != self.physical_resource_id:
            return super().update(name, properties)
        self._put(self.api, name, properties)
        self.properties = properties
        return self

    def remove(self) -> None:
        self.api("cloudwatch").delete_alarms(AlarmNames=[self.physical_resource_id])


def _lower_keys(value: Any) -> Any:
    """CloudFormation's `LoggingConfiguration.Level` is the API's `loggingConfiguration.level`."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(item) for item in value]
    return value


class _StateMachine(ApiResource):
    """Through the API because moto's own handler writes to the backend that is unused
    once Step Functions execution is enabled. Ref: the ARN; GetAtt Arn and Name."""

    cfn_type = "AWS::StepFunctions::StateMachine"
    attribute_names = ("Arn", "Name")

    @staticmethod
    def _request(properties: dict[str, Any]) -> dict[str, Any]:
        renamed = {"StateMachineType": "type", "DefinitionString": "definition"}
        return _lower_keys({renamed.get(k, k): v for k, v in properties.items()})

    @classmethod
    def create(cls, api: Api, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        name = properties.get("StateMachineName") or resource_name
        sfn = api("stepfunctions")
        request = {**cls._request(properties), "name": name}
        arn = sfn.create_state_machine(**api_args(sfn, "create_state_machine", request))[
            "stateMachineArn"
        ]
        return cls(api, arn, properties, {"Arn": arn, "Name": name})

    def update(self, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        name = properties.get("StateMachineName") or self.attributes["Name"]
        if name != self.attributes["Name"]:
            return super().update(name, properties)
        sfn = self.api("stepfunctions")
        request = {**self._request(properties), "stateMachineArn": self.physical_resource_id}
        sfn.update_state_machine(**api_args(sfn, "update_state_machine", request))
        self.properties = properties
        return self

    def remove(self) -> None:
        self.api("stepfunctions").delete_state_machine(stateMachineArn=self.physical_resource_id)


_SUBSCRIPTION_ATTRIBUTES = (
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "ReplayPolicy",
    "SubscriptionRoleArn",
)


class _Subscription(ApiResource):
    """Ref and GetAtt Arn: the subscription ARN. Any change re-subscribes."""

    cfn_type = "AWS::SNS::Subscription"
    attribute_names = ("Arn",)

    @classmethod
    def create(cls, api: Api, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        attributes = {
            key: _attribute_text(properties[key])
            for key in _SUBSCRIPTION_ATTRIBUTES
            if key in properties
        }
        arn = api("sns").subscribe(
            TopicArn=properties["TopicArn"],
            Protocol=properties["Protocol"],
            Endpoint=str(properties.get("Endpoint", "")),
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return cls(api, arn, properties, {"Arn": arn})

    def remove(self) -> None:
        self.api("sns").unsubscribe(SubscriptionArn=self.physical_resource_id)


def _attribute_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)
    return as_text(value) if isinstance(value, bool | int | float) else str(value)


class _BucketPolicy(ApiResource):
    """`sam deploy --resolve-s3` creates a bucket with a policy; moto skips the policy."""

    cfn_type = "AWS::S3::BucketPolicy"

    @classmethod
    def create(cls, api: Api, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        bucket = properties["Bucket"]
        api("s3").put_bucket_policy(Bucket=bucket, Policy=json.dumps(properties["PolicyDocument"]))
        return cls(api, bucket, properties, {})

    def update(self, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        if properties["Bucket"] != self.properties["Bucket"]:
            return super().update(resource_name, properties)
        return type(self).create(self.api, resource_name, properties)

    def remove(self) -> None:
        self.api("s3").delete_bucket_policy(Bucket=self.physical_resource_id)


class _HttpApi(ApiResource):
    """SAM's HttpApi events become an `AWS::ApiGatewayV2::Api` with an OpenAPI Body.
    Ref: the API id; GetAtt ApiId and ApiEndpoint."""

    cfn_type = "AWS::ApiGatewayV2::Api"
    attribute_names = ("ApiId", "ApiEndpoint")

    @classmethod
    def create(cls, api: Api, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        gateway = api("apigatewayv2")
        body = properties.get("Body")
        title = (body or {}).get("info", {}).get("title") if isinstance(body, dict) else None
        request = {"ProtocolType": "HTTP", "Name": title or resource_name, **properties}
        created = gateway.create_api(**api_args(gateway, "create_api", request))
        if body is not None:  # moto has ReimportApi but not ImportApi: same routes
            gateway.reimport_api(ApiId=created["ApiId"], Body=json.dumps(body))
        attributes = {"ApiId": created["ApiId"], "ApiEndpoint": created.get("ApiEndpoint", "")}
        return cls(api, created["ApiId"], properties, attributes)

    def update(self, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        if "Body" not in properties:
            return super().update(resource_name, properties)
        self.api("apigatewayv2").reimport_api(
            ApiId=self.physical_resource_id, Body=json.dumps(properties["Body"])
        )
        self.properties = properties
        return self

    def remove(self) -> None:
        self.api("apigatewayv2").delete_api(ApiId=self.physical_resource_id)


class _HttpApiStage(ApiResource):
    """Ref: the stage name."""

    cfn_type = "AWS::ApiGatewayV2::Stage"

    @classmethod
    def create(cls, api: Api, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        gateway = api("apigatewayv2")
        gateway.create_stage(**api_args(gateway, "create_stage", properties))
        return cls(api, properties["StageName"], properties, {})

    def update(self, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        self.remove()  # a stage name is unique within its API: remove before re-creating
        return type(self).create(self.api, resource_name, properties)

    def remove(self) -> None:
        self.api("apigatewayv2").delete_stage(
            ApiId=self.properties["ApiId"], StageName=self.physical_resource_id
        )


class _FunctionUrl(ApiResource):
    """SAM's FunctionUrlConfig becomes `AWS::Lambda::Url` on the function or an alias.
    Ref: the function ARN the URL invokes; GetAtt FunctionArn and FunctionUrl."""

    cfn_type = "AWS::Lambda::Url"
    attribute_names = ("FunctionArn", "FunctionUrl")

    @staticmethod
    def _target(properties: dict[str, Any]) -> dict[str, Any]:
        target = str(properties["TargetFunctionArn"])
        qualified = target.count(":") == 7 or (":" in target and ":function:" not in target)
        name, qualifier = target.rsplit(":", 1) if qualified else (target, None)
        return {"FunctionName": name} | ({"Qualifier": qualifier} if qualifier else {})

    @classmethod
    def create(cls, api: Api, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        lambda_ = api("lambda")
        request = {**properties, **cls._target(properties)}
        created = lambda_.create_function_url_config(
            **api_args(lambda_, "create_function_url_config", request)
        )
        attributes = {"FunctionArn": created["FunctionArn"], "FunctionUrl": created["FunctionUrl"]}
        return cls(api, created["FunctionArn"], properties, attributes)

    def update(self, resource_name: str, properties: dict[str, Any]) -> ApiResource:
        if properties["TargetFunctionArn"] != self.properties["TargetFunctionArn"]:
            return super().update(resource_name, properties)
        lambda_ = self.api("lambda")
        request = {**properties, **self._target(properties)}
        lambda_.update_function_url_config(
            **api_args(lambda_, "update_function_url_config", request)
        )
        self.properties = properties
        return self

    def remove(self) -> None:
        self.api("lambda").delete_function_url_config(**self._target(self.properties))


HANDLERS: dict[str, type[ApiResource]] = {
    handler.cfn_type: handler
    for handler in (
        _Function,
        _Version,
        _Alias,
        _LayerVersion,
        _StateMachine,
        _Alarm,
        _Subscription,
        _BucketPolicy,
        _HttpApi,
        _HttpApiStage,
        _FunctionUrl,
    )
}
