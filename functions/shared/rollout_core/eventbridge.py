"""A CloudTrail PublishVersion event + the function's `rollout:*` tags → a console request.

Tags opt a function in: without `rollout:alias` the event is skipped, not rejected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import clients
from .errors import InvalidRolloutRequest

ALIAS_TAG = "rollout:alias"
# The Description `rollout release` gives the versions it publishes (--stack: several rolled
# out together; --function: one): the release rolls them out with its own flags, so the
# per-function trigger leaves them alone and one publish starts one rollout.
RELEASE_MARKER = "rollout:release"

# tag → (request key, converter); the converter's ValueError names the tag in the message
_TAGS: dict[str, tuple[str, Callable[[str], Any]]] = {
    ALIAS_TAG: ("alias", str),
    "rollout:strategy": ("strategy", str),
    "rollout:alarms": ("alarms", lambda text: [n.strip() for n in text.split(",") if n.strip()]),
    "rollout:time-scale": ("timeScale", float),
    "rollout:check-interval": ("checkIntervalSeconds", int),
    "rollout:bake-seconds": ("bakeSeconds", int),
    "rollout:error-rate-percent": ("health.errorRatePercent", float),
    "rollout:min-invocations": ("health.minInvocations", int),
    "rollout:low-traffic": ("health.lowTraffic", str),
    "rollout:inconclusive": ("health.inconclusive", str),
    "rollout:insufficient-data": ("insufficientData", str),
    "rollout:keep-versions": ("keepVersions", int),
    "rollout:pre-traffic-hook": ("preTraffic.hookFunction", str),
    "rollout:post-traffic-hook": ("postTraffic.hookFunction", str),
    "rollout:approval": ("approval", lambda text: {"before": approval_before(text)}),
    "rollout:bypass": ("bypass", str),
}

# tag / template parameter value → the input's approval.before
APPROVAL_VALUES = {"before-promote": "promote", "each-step": "each-step"}


def approval_before(text: str) -> str:
    if text not in APPROVAL_VALUES:
        raise ValueError(text)
    return APPROVAL_VALUES[text]


def is_publish_event(document: Any) -> bool:
    return (
        isinstance(document, dict)
        and document.get("source") == "aws.lambda"
        and isinstance(document.get("detail"), dict)
        and str(document["detail"].get("eventName", "")).startswith("PublishVersion")
    )


def published(event: dict[str, Any]) -> tuple[str, str]:
    """(unqualified function ARN or name, version) from the CloudTrail record."""
    detail = event["detail"]
    if detail.get("errorCode"):
        raise InvalidRolloutRequest(f"PublishVersion failed ({detail['errorCode']}); no version")
    response = detail.get("responseElements") or {}
    version = str(response.get("version", ""))
    function = response.get("functionArn") or (detail.get("requestParameters") or {}).get(
        "functionName"
    )
    if not function or not version.isdigit():
        raise InvalidRolloutRequest("the PublishVersion event names no function and version")
    if function.startswith("arn:") and function.count(":") == 7:
        function = function.rsplit(":", 1)[0]  # drop the version qualifier
    return function, version


def published_for_a_release(function: str, version: str) -> bool:
    """The version was published by `rollout release` (its Description says so)."""
    found = clients.lambda_().get_function_configuration(FunctionName=function, Qualifier=version)
    return str(found.get("Description", "")).startswith(RELEASE_MARKER)


def read_tags(function: str) -> dict[str, str]:
    arn = function if function.startswith("arn:") else _arn_of(function)
    return clients.lambda_().list_tags(Resource=arn).get("Tags", {})


def _arn_of(name: str) -> str:
    return clients.lambda_().get_function_configuration(FunctionName=name)["FunctionArn"]


def request_from_tags(function: str, version: str, tags: dict[str, str]) -> dict[str, Any]:
    """The console-shaped request the tags describe (validated later like any input)."""
    request: dict[str, Any] = {"functionName": function, "targetVersion": version}
    for tag, value in tags.items():
        if not tag.startswith("rollout:"):
            continue
        if tag not in _TAGS:
            raise InvalidRolloutRequest(f"tag {tag}: not a rollout setting ({', '.join(_TAGS)})")
        key, convert = _TAGS[tag]
        try:
            _put(request, key, convert(value))
        except ValueError:
            raise InvalidRolloutRequest(f"tag {tag}: {value!r} is not valid") from None
    return request


def _put(request: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for parent in parents:
        request = request.setdefault(parent, {})
    request[leaf] = value
