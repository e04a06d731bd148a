"""EventBridge seam: deliver events to Step Functions and Lambda targets, and emit the
CloudTrail `PublishVersion` event that AWS puts on the default bus.

moto 5.2.5 delivers only to Logs, archives, SQS, buses and API destinations; any other
target raises NotImplementedError from `Rule.send_to_targets` (HTTP 500 through the
server) and aborts delivery to the rule's remaining targets. The seam replaces that
method: it delivers `states` and `lambda` targets itself, hands every other target to
moto's own code one at a time, and logs a target it can't deliver instead of failing
PutEvents — on AWS delivery is asynchronous and a bad target never fails the caller.

The PublishVersion event records what the caller sent (functionName, codeSha256,
description, revisionId: "Lambda information in CloudTrail", Lambda developer guide) and
what Lambda answered; it is read from `LambdaResponse.path`, `.json_body`, `.headers`,
`.current_account` and `.region` around the replaced `LambdaResponse.publish_version`.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import logging
import re
import uuid
from typing import Any
from urllib.parse import unquote

from moto.awslambda.models import lambda_backends
from moto.awslambda.responses import LambdaResponse
from moto.events.models import Rule, events_backends
from moto.stepfunctions.responses import get_backend as stepfunctions_backend
from moto.utilities.arns import parse_arn

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

logger = logging.getLogger(__name__)

MISSING = object()  # a JSONPath that matched nothing
_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]|\[\*\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


# -- events as AWS delivers them ------------------------------------------------------


def iso_time(value: Any) -> str:
    """EventBridge's `time`: ISO 8601 UTC to the second (moto keeps epoch floats)."""
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    elif isinstance(value, int | float) or (isinstance(value, str) and _is_number(value)):
        moment = datetime.datetime.fromtimestamp(float(value), tz=datetime.UTC)
    else:
        return str(value)
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def delivered_event(event_msg: dict[str, Any]) -> dict[str, Any]:
    """moto's internal event message in the shape a target receives on AWS."""
    event = {key: value for key, value in event_msg.items() if key != "ingestion-time"}
    event["time"] = iso_time(event_msg.get("time", ""))
    return event


def put_service_event(
    account_id: str,
    region: str,
    source: str,
    detail_type: str,
    detail: dict[str, Any],
    resources: list[str] | None = None,
) -> None:
    """Put an AWS service event (aws.lambda, aws.states, ...) on the default bus.

    Called from moto request threads and interpreter threads: a delivery problem is
    logged, never raised into the service call that caused the event.
    """
    entry = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, default=str),
        "Resources": resources or [],
    }
    try:
        events_backends[account_id][region].put_events([entry])
    except Exception:
        logger.exception("could not put event", extra={"source": source, "type": detail_type})


# -- target input: Input, InputPath, InputTransformer ---------------------------------


def json_path(document: Any, path: str) -> Any:
    """Evaluate the JSONPath subset EventBridge supports: `$`, `.key`, `['key']`, `[n]`, `*`.

    Returns MISSING when nothing matches; a wildcard path returns the list of matches.
    """
    rest = path.strip()
    if not rest.startswith("$"):
        raise ValueError(f"JSONPath must start with $: {path!r}")
    nodes, wildcard, rest = [document], False, rest[1:]
    while rest:
        match = _PATH_TOKEN.match(rest)
        if match is None:
            raise ValueError(f"unsupported JSONPath: {path!r}")
        rest = rest[match.end() :]
        key = next((group for group in match.groups() if group is not None), None)
        if key is None or key == "*":
            wildcard = True
            nodes = [child for node in nodes for child in _children(node)]
        else:
            nodes = [child for node in nodes if (child := _child(node, key)) is not MISSING]
    if wildcard:
        return nodes
    return nodes[0] if nodes else MISSING


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    return list(node) if isinstance(node, list) else []


def _child(node: Any, key: str) -> Any:
    if isinstance(node, dict):
        return node.get(key, MISSING)
    if isinstance(node, list) and key.isdigit() and int(key) < len(node):
        return node[int(key)]
    return MISSING


def render_template(template: str, variables: dict[str, Any]) -> str:
    """Fill `<name>` placeholders as EventBridge does.

    Outside a JSON string a value is inserted as JSON (a string gets its quotes);
    inside a string it is inserted as text. Variables whose path matched nothing become
    `null` (outside) or nothing (inside). Unlike AWS, text inserted inside a string is
    JSON-escaped, so a value containing a quote can't produce invalid JSON.
    """
    out: list[str] = []
    in_string, index = False, 0
    while index < len(template):
        char = template[index]
        match = _PLACEHOLDER.match(template, index) if char == "<" else None
        if match and match.group(1) in variables:
            out.append(_render_value(variables[match.group(1)], in_string))
            index = match.end()
            continue
        if char == "\\" and in_string:
            out.append(template[index : index + 2])
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        out.append(char)
        index += 1
    return "".join(out)


def _render_value(value: Any, in_string: bool) -> str:
    if value is MISSING:
        return "" if in_string else "null"
    if not in_string:
        return json.dumps(value)
    text = value if isinstance(value, str) else json.dumps(value)
    return json.dumps(text)[1:-1]


def transformer_variables(
    transformer: dict[str, Any], event: dict[str, Any], rule_arn: str, rule_name: str
) -> dict[str, Any]:
    """InputPathsMap variables plus EventBridge's predefined ones."""
    variables: dict[str, Any] = {
        name: json_path(event, path)
        for name, path in (transformer.get("InputPathsMap") or {}).items()
    }
    variables.update(
        {
            "aws.events.rule-arn": rule_arn,
            "aws.events.rule-name": rule_name,
            "aws.events.event.ingestion-time": event.get("time", ""),
            "aws.events.event": {key: value for key, value in event.items() if key != "detail"},
            "aws.events.event.json": event,
        }
    )
    return variables


def target_input(target: dict[str, Any], event: dict[str, Any], rule: Rule) -> str:
    """The text a target receives: the event, or what Input/InputPath/InputTransformer make."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        selected = json_path(event, target["InputPath"])
        return json.dumps(None if selected is MISSING else selected)
    transformer = target.get("InputTransformer")
    if transformer:
        variables = transformer_variables(transformer, event, rule.arn, rule.name)
        return render_template(transformer["InputTemplate"], variables)
    return json.dumps(event)


# -- delivery ---------------------------------------------------------------------------


def start_execution(state_machine_arn: str, execution_input: str) -> str:
    """Start an execution as EventBridge does: a generated name, the event as input."""
    arn = parse_arn(state_machine_arn)
    backend = stepfunctions_backend(arn.account, arn.region)
    execution = backend.start_execution(state_machine_arn, str(uuid.uuid4()), execution_input)
    return str(execution.execution_arn)


def invoke_async(function_arn: str, payload: str) -> None:
    """Invoke a function with InvocationType Event, as EventBridge does."""
    arn = parse_arn(function_arn)
    name, _, qualifier = arn.resource_id.partition(":")
    backend = lambda_backends[arn.account][arn.region]
    headers = {"x-amz-invocation-type": "Event"}
    backend.invoke(name, qualifier or None, payload, headers, {})


def deliver(rule: Rule, target: dict[str, Any], event_msg: dict[str, Any]) -> bool:
    """Deliver to a target the seam owns; False when it is one for moto's own code."""
    service = parse_arn(target["Arn"]).service
    if service not in ("states", "lambda"):
        return False
    payload = target_input(target, delivered_event(event_msg), rule)
    if service == "states":
        start_execution(target["Arn"], payload)
    else:
        invoke_async(target["Arn"], payload)
    return True


# -- PublishVersion → CloudTrail event --------------------------------------------------

_PUBLISHED_FIELDS = (
    "FunctionName",
    "FunctionArn",
    "Runtime",
    "Role",
    "Handler",
    "CodeSize",
    "Description",
    "Timeout",
    "MemorySize",
    "LastModified",
    "CodeSha256",
    "Version",
    "TracingConfig",
    "State",
    "LastUpdateStatus",
    "PackageType",
    "Architectures",
    "EphemeralStorage",
)


def _camel(value: Any) -> Any:
    """CloudTrail spells response elements in camelCase, nested keys included."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


# PublishVersion's request body (Lambda API Reference, PublishVersion): CloudTrail records
# what the caller sent, the Description a release marks its versions with included.
_REQUEST_FIELDS = ("CodeSha256", "Description", "RevisionId")


def publish_version_detail(
    requested_name: str,
    request: dict[str, Any],
    configuration: dict[str, Any],
    account_id: str,
    region: str,
    user_agent: str = "",
) -> dict[str, Any]:
    """The `detail` of an "AWS API Call via CloudTrail" event for PublishVersion."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    published = {key: configuration[key] for key in _PUBLISHED_FIELDS if key in configuration}
    sent = {key: request[key] for key in _REQUEST_FIELDS if request.get(key) is not None}
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "accountId": account_id},
        "eventTime": now,
        "eventSource": "lambda.amazonaws.com",
        "eventName": "PublishVersion20150331",
        "awsRegion": region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": user_agent,
        "requestParameters": {"functionName": requested_name, **_camel(sent)},
        "responseElements": _camel(published),
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }


# -- the seam ---------------------------------------------------------------------------


class EventBridgeDelivery:
    """Delivers to Step Functions and Lambda targets; emits PublishVersion CloudTrail events."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: Cloud) -> None:
        # Read the originals first: each replacement delegates to the method it replaces.
        send, publish = Rule.send_to_targets, LambdaResponse.publish_version
        self._patches.replace(Rule, "send_to_targets", _send_to_targets(send))
        # The API action, not the backend method: CloudTrail records PublishVersion calls
        # (CloudFormation's too), while CreateFunction/UpdateFunctionCode with Publish=true
        # are recorded under their own names and must not start a rollout.
        self._patches.replace(LambdaResponse, "publish_version", _publish_version(publish))

    def uninstall(self) -> None:
        self._patches.undo()


def _send_to_targets(original: Any) -> Any:
    @functools.wraps(original)
    def send_to_targets(
        self: Rule, original_event: dict[str, Any], transform_input: bool = True
    ) -> None:
        if not self.event_pattern.matches_event(original_event):
            return
        for target in self.targets:
            try:
                if not deliver(self, target, original_event):
                    # moto's own delivery, one target at a time so one failure can't
                    # stop the others; a shallow copy keeps the shared rule untouched.
                    single = copy.copy(self)
                    single.targets = [target]
                    original(single, original_event, transform_input)
            except Exception:
                logger.exception(
                    "EventBridge delivery failed",
                    extra={"rule": self.arn, "target": target.get("Arn")},
                )

    return send_to_targets


def _publish_version(original: Any) -> Any:
    @functools.wraps(original)
    def publish_version(self: LambdaResponse) -> Any:
        status, headers, body = original(self)
        if status == 201:
            configuration = json.loads(body)
            requested = unquote(self.path.split("/")[-2])  # a name or an ARN, as the caller sent
            detail = publish_version_detail(
                requested,
                self.json_body or {},
                configuration,
                self.current_account,
                self.region,
                str(self.headers.get("User-Agent", "")),
            )
            put_service_event(
                self.current_account,
                self.region,
                "aws.lambda",
                "AWS API Call via CloudTrail",
                detail,
            )
        return status, headers, body

    return publish_version
