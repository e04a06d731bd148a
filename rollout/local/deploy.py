"""The deploy seam: template.yaml (SAM) → a CloudFormation stack in the embedded moto cloud.

`deploy_template` does what `sam build && sam package && sam deploy` do, offline:
package the code folders into S3 (rollout.local.package), run the SAM transform, and
create or update the stack. moto 5.2.5's CloudFormation has gaps (measured in
shared/reference/moto-local-cloud.md); they are closed here, and only for the duration
of a deploy, through `Patches`:

- `AWS::StepFunctions::StateMachine`: moto reads only `DefinitionString`, and its
  handler writes to the Step Functions backend that the API stops using once execution
  is enabled (the state machine is then invisible). The definition (from
  `DefinitionS3Location` or inline) and its `DefinitionSubstitutions` are rewritten to
  `DefinitionString: {"Fn::Join": ["", [text, value, text, ...]]}` before the stack is
  submitted - not `Fn::Sub`: moto's list form runs the body through `string.Template`,
  which turns the ASL context path `$$.Execution.Id` into `$.Execution.Id` - and the
  state machine is created through the API.
- `AWS::Lambda::Alias`, `AWS::CloudWatch::Alarm`, `AWS::SNS::Subscription` (skipped by
  moto), `AWS::Lambda::Version` (no `Version` attribute, no `Ref`),
  `AWS::Lambda::LayerVersion` (no `Ref`) and `AWS::Lambda::Function` (drops `Layers`,
  `Tags`, `TracingConfig`): handled, like the state machine, by small resource handlers
  that call the public AWS API against the cloud, as CloudFormation itself does. moto
  still resolves `Ref`/`GetAtt`/`Sub`, conditions and Outputs, through these handlers.
- `update_stack`: moto applies Remove, Add, Modify regardless of dependencies, so a new
  `AWS::Lambda::Version` would be published before the function's code changed. Updates
  run in dependency order instead (creations and changes first, removals last, with
  `DeletionPolicy: Retain` honoured), and resources whose condition flips are created
  or deleted.

Outputs without a `Condition` must all resolve; a deploy that loses one fails loudly.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError

from rollout.local.package import package_template, sam_transform, upload
from rollout.local.patching import Patches
from rollout.local.stacks import creation_lock

if TYPE_CHECKING:
    from rollout.local.cloud import LocalCloud

logger = logging.getLogger(__name__)

_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]


class DeployError(Exception):
    """The stack could not be deployed as the template says."""


# -- entry point ---------------------------------------------------------------------


def deploy_template(
    cloud: LocalCloud,
    template_path: Path,
    stack_name: str,
    parameters: dict[str, str] | None = None,
) -> dict[str, str]:
    """Create or update `stack_name` from a SAM template; returns the stack's Outputs."""
    package = package_template(template_path)
    s3 = cloud.client("s3")
    uploaded = upload(package, s3)
    logger.info("packaged %d artifacts (%d new)", len(package.artifacts), uploaded)

    def read(bucket: str, key: str) -> bytes:
        if bucket == package.bucket and key in package.artifacts:
            return package.artifacts[key]
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    template = inline_definitions(sam_transform(package.template, parameters), read)
    cloudformation = cloud.client("cloudformation")
    with _gaps_closed(cloud):
        _warn_unsupported(template)
        action = _submit(cloudformation, stack_name, template, parameters or {})
        # moto resolves Outputs lazily, on the first DescribeStacks: do it while handled.
        outputs = stack_outputs(cloudformation, stack_name)
    logger.info("stack %s %s (%d outputs)", stack_name, action, len(outputs))
    _check_outputs(template, outputs)
    return outputs


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}


def _submit(
    cloudformation: Any, stack_name: str, template: dict[str, Any], parameters: dict[str, str]
) -> str:
    request = {
        "StackName": stack_name,
        "TemplateBody": json.dumps(template, separators=(",", ":")),
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": _CAPABILITIES,
    }
    exists = _stack_exists(cloudformation, stack_name)
    try:
        if not exists:
            cloudformation.create_stack(**request)
            return "created"
        cloudformation.update_stack(**request)
        return "updated"
    except ClientError as error:
        if "No updates are to be performed" in str(error):
            return "unchanged"
        if not exists:
            _roll_back(cloudformation, stack_name)
        raise DeployError(f"deploying stack {stack_name} failed: {error}") from error


def _roll_back(cloudformation: Any, stack_name: str) -> None:
    """A failed create leaves a half-built stack in moto; remove it so a retry starts clean
    (AWS rolls back, then wants the stack deleted before it is created again)."""
    try:
        cloudformation.delete_stack(StackName=stack_name)
    except (ClientError, BotoCoreError) as error:
        logger.warning("could not remove the failed stack %s: %s", stack_name, error)


def _stack_exists(cloudformation: Any, stack_name: str) -> bool:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError:
        return False
    return any(stack["StackStatus"] != "DELETE_COMPLETE" for stack in stacks)


def _warn_unsupported(template: dict[str, Any]) -> None:
    """moto skips resource kinds it doesn't know with no error; say which ones."""
    known = parsing.get_model_map()
    kinds = {resource["Type"] for resource in template.get("Resources", {}).values()}
    unknown = sorted(k for k in kinds if k not in known and not k.startswith("Custom::"))
    if unknown:
        logger.warning("not created locally (no support): %s", ", ".join(unknown))


def _check_outputs(template: dict[str, Any], outputs: dict[str, str]) -> None:
    declared = template.get("Outputs") or {}
    missing = sorted(k for k, v in declared.items() if "Condition" not in v and k not in outputs)
    if missing:
        raise DeployError(f"outputs did not resolve: {', '.join(missing)}")


@contextmanager
def _gaps_closed(cloud: LocalCloud) -> Iterator[None]:
    patches = Patches()
    moto_models = parsing.get_model_map
    patches.replace(parsing, "get_model_map", lambda: {**moto_models(), **_HANDLERS})
    patches.replace(parsing.ResourceMap, "update", _ordered_update)
    patches.replace(_ApiResource, "current_api", _Api(cloud))
    try:
        yield
    finally:
        patches.undo()


# -- state machine definitions -------------------------------------------------------

_PLACEHOLDER = re.compile(r"\$\{([^}!][^}]*)\}")
Reader = Callable[[str, str], bytes]


def inline_definitions(template: dict[str, Any], read: Reader) -> dict[str, Any]:
    """Every state machine gets a `DefinitionString` moto can read, substitutions filled in."""
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::StepFunctions::StateMachine":
            _inline_definition(resource.setdefault("Properties", {}), read)
    return template


def _inline_definition(properties: dict[str, Any], read: Reader) -> None:
    body = _definition_body(properties, read)
    substitutions = properties.pop("DefinitionSubstitutions", None) or {}
    if body is None:
        if substitutions:
            raise DeployError("DefinitionSubstitutions on a definition that can't be read")
        return
    for key in ("DefinitionS3Location", "Definition"):
        properties.pop(key, None)
    properties["DefinitionString"] = substitute(body, substitutions)


def _definition_body(properties: dict[str, Any], read: Reader) -> str | None:
    location = properties.get("DefinitionS3Location")
    if isinstance(location, dict) and isinstance(location.get("Key"), str):
        return read(location["Bucket"], location["Key"]).decode()
    if isinstance(properties.get("Definition"), dict):
        return json.dumps(properties["Definition"])
    string = properties.get("DefinitionString")
    if isinstance(string, str):
        return string
    join = string.get("Fn::Join") if isinstance(string, dict) else None
    if isinstance(join, list) and all(isinstance(line, str) for line in join[1]):
        return str(join[0]).join(join[1])
    return None


def substitute(body: str, substitutions: dict[str, Any]) -> Any:
    """`${Name}` placeholders replaced by values that may still be intrinsics (Fn::Join)."""
    parts: list[Any] = []
    position = 0
    for match in _PLACEHOLDER.finditer(body):
        if match.group(1) in substitutions:
            parts += [body[position : match.start()], _as_text(substitutions[match.group(1)])]
            position = match.end()
    parts.append(body[position:])
    merged: list[Any] = []
    for part in parts:
        if merged and isinstance(part, str) and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    if len(merged) <= 1 and all(isinstance(part, str) for part in merged):
        return merged[0] if merged else ""
    return {"Fn::Join": ["", merged]}


def _as_text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


# -- resource handlers on the public API ---------------------------------------------


class _Api:
    """boto3 clients for the cloud being deployed to, one per service."""

    def __init__(self, cloud: LocalCloud) -> None:
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


class _ApiResource:
    """A CloudFormation resource handler in the shape moto's CloudFormationModel expects.

    Not a CloudFormationModel subclass on purpose: moto discovers models through
    `__subclasses__()`, and these must only be active while `_gaps_closed` is.
    """

    cfn_type: ClassVar[str] = ""
    attribute_names: ClassVar[tuple[str, ...]] = ()
    current_api: ClassVar[_Api | None] = None  # the deploy in progress, set by _gaps_closed

    def __init__(
        self, api: _Api, physical_id: str, properties: dict[str, Any], attributes: dict[str, Any]
    ) -> None:
        self.physical_resource_id = physical_id
        self.properties = properties
        self.attributes = attributes
        self._own_api = api

    @property
    def api(self) -> _Api:
        return _ApiResource.current_api or self._own_api

    # what each kind implements
    @classmethod
    def create(cls, api: _Api, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
        raise NotImplementedError

    def update(self, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
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
    ) -> _ApiResource:
        if cls.current_api is None:
            raise DeployError(f"{cls.cfn_type} is only handled during deploy_template")
        with _reported(kwargs.get("LogicalId", resource_name)):
            return cls.create(cls.current_api, resource_name, cloudformation_json["Properties"])

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: _ApiResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> _ApiResource:
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


class _Function(_ApiResource):
    cfn_type = "AWS::Lambda::Function"
    attribute_names = ("Arn",)

    @staticmethod
    def _request(name: str, properties: dict[str, Any]) -> dict[str, Any]:
        if "ZipFile" in (properties.get("Code") or {}):
            raise DeployError(f"{name}: inline ZipFile code is not supported; use CodeUri")
        request = {**properties, "FunctionName": name, "Tags": _tags(properties)}
        if "KmsKeyArn" in request:
            request["KMSKeyArn"] = request.pop("KmsKeyArn")
        return request

    @classmethod
    def create(cls, api: _Api, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
        name = properties.get("FunctionName") or resource_name
        lambda_ = api("lambda")
        request = api_args(lambda_, "create_function", cls._request(name, properties))
        response = lambda_.create_function(**request)
        return cls(api, name, properties, {"Arn": response["FunctionArn"]})

    def update(self, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
        name = properties.get("FunctionName") or self.physical_resource_id
        if name != self.physical_resource_id:
            return super().update(name, properties)
        lambda_ = self.api("lambda")
        cleared = {"Environment": {"Variables": {}}, "Layers": []}  # removed from the template
        request = {**cleared, **self._request(name, properties)}
        lambda_.update_function_configuration(
            **api_args(lambda_, "update_function_configuration", request)
        )
        code = {**properties["Code"], "FunctionName": name}
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


class _Version(_ApiResource):
    """Ref: the version ARN; GetAtt Version and FunctionArn. Immutable: an update
    publishes a new version and keeps the old one, as SAM's `DeletionPolicy: Retain` does."""

    cfn_type = "AWS::Lambda::Version"
    attribute_names = ("Version", "FunctionArn")

    @classmethod
    def create(cls, api: _Api, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
        lambda_ = api("lambda")
        response = lambda_.publish_version(**api_args(lambda_, "publish_version", properties))
        arn = response["FunctionArn"]
        attributes = {"Version": response["Version"], "FunctionArn": arn.rsplit(":", 1)[0]}
        return cls(api, arn, properties, attributes)

    def update(self, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
        return type(self).create(self.api, resource_name, properties)

    def remove(self) -> None:
        self.api("lambda").delete_function(FunctionName=self.physical_resource_id)


class _Alias(_ApiResource):
    cfn_type = "AWS::Lambda::Alias"
    attribute_names = ("AliasArn",)

    @staticmethod
    def _request(properties: dict[str, Any]) -> dict[str, Any]:
        weights = (properties.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or []
        routing = {str(w["FunctionVersion"]): float(w["FunctionWeight"]) for w in weights}
        return {**properties, "RoutingConfig": {"AdditionalVersionWeights": routing}}

    @classmethod
    def create(cls, api: _Api, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
        lambda_ = api("lambda")
        request = api_args(lambda_, "create_alias", cls._request(properties))
        arn = lambda_.create_alias(**request)["AliasArn"]
        return cls(api, arn, properties, {"AliasArn": arn})

    def update(self, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
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


class _LayerVersion(_ApiResource):
    """Ref: the layer version ARN. Immutable like a function version."""

    cfn_type = "AWS::Lambda::LayerVersion"
    attribute_names = ("LayerVersionArn",)

    @classmethod
    def create(cls, api: _Api, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
        lambda_ = api("lambda")
        request = {**properties, "LayerName": properties.get("LayerName") or resource_name}
        response = lambda_.publish_layer_version(
            **api_args(lambda_, "publish_layer_version", request)
        )
        arn = response["LayerVersionArn"]
        return cls(api, arn, properties, {"LayerVersionArn": arn})

    def update(self, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
        return type(self).create(self.api, resource_name, properties)

    def remove(self) -> None:
        name, number = self.physical_resource_id.rsplit(":", 2)[-2:]
        self.api("lambda").delete_layer_version(LayerName=name, VersionNumber=int(number))


class _Alarm(_ApiResource):
    """Ref: the alarm name; GetAtt Arn."""

    cfn_type = "AWS::CloudWatch::Alarm"
    attribute_names = ("Arn",)

    @classmethod
    def create(cls, api: _Api, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
        name = properties.get("AlarmName") or resource_name
        cls._put(api, name, properties)
        alarms = api("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
        return cls(api, name, properties, {"Arn": alarms[0]["AlarmArn"]})

    @staticmethod
    def _put(api: _Api, name: str, properties: dict[str, Any]) -> None:
        cloudwatch = api("cloudwatch")
        request = {**properties, "AlarmName": name}
        cloudwatch.put_metric_alarm(**api_args(cloudwatch, "put_metric_alarm", request))

    def update(self, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
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


class _StateMachine(_ApiResource):
    """Through the API because moto's own handler writes to the backend that is unused
    once Step Functions execution is enabled. Ref: the ARN; GetAtt Arn and Name."""

    cfn_type = "AWS::StepFunctions::StateMachine"
    attribute_names = ("Arn", "Name")

    @staticmethod
    def _request(properties: dict[str, Any]) -> dict[str, Any]:
        renamed = {"StateMachineType": "type", "DefinitionString": "definition"}
        return _lower_keys({renamed.get(k, k): v for k, v in properties.items()})

    @classmethod
    def create(cls, api: _Api, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
        name = properties.get("StateMachineName") or resource_name
        sfn = api("stepfunctions")
        request = {**cls._request(properties), "name": name}
        arn = sfn.create_state_machine(**api_args(sfn, "create_state_machine", request))[
            "stateMachineArn"
        ]
        return cls(api, arn, properties, {"Arn": arn, "Name": name})

    def update(self, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
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


class _Subscription(_ApiResource):
    """Ref and GetAtt Arn: the subscription ARN. Any change re-subscribes."""

    cfn_type = "AWS::SNS::Subscription"
    attribute_names = ("Arn",)

    @classmethod
    def create(cls, api: _Api, resource_name: str, properties: dict[str, Any]) -> _ApiResource:
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
    return _as_text(value) if isinstance(value, bool | int | float) else str(value)


_HANDLERS: dict[str, type[_ApiResource]] = {
    handler.cfn_type: handler
    for handler in (
        _Function,
        _Version,
        _Alias,
        _LayerVersion,
        _StateMachine,
        _Alarm,
        _Subscription,
    )
}


# -- stack updates in dependency order -----------------------------------------------


def references(node: Any) -> set[str]:
    """Logical names a template fragment points at through Ref, Fn::GetAtt and Fn::Sub."""
    if isinstance(node, list):
        return set().union(*(references(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            found.add(value)
        elif key == "Fn::GetAtt":
            found.add((value.split(".") if isinstance(value, str) else value)[0])
        elif key == "Fn::Sub":
            text, variables = (value, {}) if isinstance(value, str) else value
            names = {m.group(1).split(".")[0] for m in _PLACEHOLDER.finditer(text)}
            found |= (names - set(variables)) | references(variables)
        else:
            found |= references(value)
    return found


def _dependencies(resource: dict[str, Any]) -> set[str]:
    depends_on = resource.get("DependsOn") or []
    return references(resource) | set([depends_on] if isinstance(depends_on, str) else depends_on)


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids, each after everything it references (template order otherwise)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return  # done, or a cycle: CloudFormation would reject it, moto resolves lazily
        seen.add(name)
        for dependency in sorted(_dependencies(resources[name]) & resources.keys()):
            visit(dependency)
        order.append(name)

    for name in resources:
        visit(name)
    return order


def _ordered_update(
    resource_map: parsing.ResourceMap,
    template: dict[str, Any],
    parameters: dict[str, Any] | None = None,
) -> None:
    """Replaces moto's ResourceMap.update (Remove, Add, Modify in that order). Holds the
    map's creation lock throughout, so no concurrent read sees it half-updated."""
    with creation_lock(resource_map):
        _update_in_order(resource_map, template, parameters)


def _update_in_order(
    resource_map: parsing.ResourceMap,
    template: dict[str, Any],
    parameters: dict[str, Any] | None,
) -> None:
    old_resources = resource_map._resource_json_map
    old_parameters = dict(resource_map.resolved_parameters)
    resource_map._template = template
    resource_map.input_parameters = parameters or {}  # omitted parameters fall back to defaults
    resource_map.load_mapping()
    resource_map.load_parameters()
    resource_map.load_conditions()
    resource_map._resource_json_map = template["Resources"]
    changed_parameters = {
        k for k, v in resource_map.resolved_parameters.items() if old_parameters.get(k) != v
    }
    replaced: set[str] = set()
    for name in dependency_order(template["Resources"]):
        body = template["Resources"][name]
        stale = _normalized(body) != _normalized(old_resources.get(name)) or _dependencies(body) & (
            changed_parameters | replaced
        )
        if _apply(resource_map, name, body, bool(stale)):
            replaced.add(name)
    for name in reversed(dependency_order(old_resources)):
        if name not in template["Resources"]:
            _remove(resource_map, name, old_resources[name])


def _normalized(body: dict[str, Any] | None) -> dict[str, Any]:
    """moto adds `"Properties": {}` to resources that have none when it creates them."""
    return {**(body or {}), "Properties": (body or {}).get("Properties") or {}}


def _apply(resource_map: parsing.ResourceMap, name: str, body: dict[str, Any], stale: bool) -> bool:
    """Create, update or delete one resource; True when its physical id changed."""
    condition = body.get("Condition")
    wanted = condition is None or bool(resource_map.lazy_condition_map[condition])
    current = resource_map._parsed_resources.get(name)
    if not wanted:
        if current is not None:
            _remove(resource_map, name, body)
        return current is not None
    if current is None:
        resource_map[name]  # moto's lazy map creates the resource on first access
        return True
    if not stale:
        return False
    updated = parsing.parse_and_update_resource(
        name, body, resource_map, resource_map._account_id, resource_map._region_name
    )
    if updated is None:
        logger.warning("moto can't update %s (%s); it was left as it was", name, body["Type"])
        return False
    resource_map._parsed_resources[name] = updated
    return _physical_id(updated) != _physical_id(current)


def _physical_id(resource: Any) -> Any:
    return getattr(resource, "physical_resource_id", id(resource))


def _remove(resource_map: parsing.ResourceMap, name: str, body: dict[str, Any]) -> None:
    resource = resource_map._parsed_resources.pop(name, None)
    if resource is not None and body.get("DeletionPolicy") != "Retain":
        resource_map._delete_resource(resource, body)
