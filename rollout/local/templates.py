"""What CloudFormation does to a submitted template before it creates anything.

- `AWS::Serverless-2016-10-31`: the SAM transform runs server-side, with the stack's
  parameter values, as CloudFormation runs it ("AWS::Serverless transform", CloudFormation
  User Guide). `GetTemplate --template-stage Original` returns what was submitted,
  `Processed` what this produces.
- State machine definitions: moto 5.2.5 reads only `DefinitionString`, and ignores
  `DefinitionS3Location` and `DefinitionSubstitutions`. The definition (read from S3 or
  inline) and its substitutions become `DefinitionString: {"Fn::Join": ["", [text, value,
  text, ...]]}` - not `Fn::Sub`: moto's list form runs the body through
  `string.Template`, which turns the ASL context path `$$.Execution.Id` into
  `$.Execution.Id`.
- Resource types the local cloud can't create are refused with their names, never
  skipped: moto would skip them and report success. A function's `DeploymentPreference`
  (which SAM turns into CodeDeploy resources) is refused by name first, pointing at the
  migration this project replaces it with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from samtranslator.yaml_helper import yaml_parse

from rollout.local.package import TemplateError, sam_transform
from rollout.local.resources import as_text

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
Reader = Callable[[str, str], bytes]


def parse(text: str) -> dict[str, Any]:
    """A submitted template body: JSON or YAML, short-form intrinsics (`!Ref`) included."""
    try:
        template = yaml_parse(text)
    except ValueError as error:
        raise TemplateError(f"Template format error: {error}") from error
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise TemplateError("Template format error: At least one Resources member must be defined.")
    return template


def is_sam(template: dict[str, Any]) -> bool:
    transforms = template.get("Transform") or []
    return SAM_TRANSFORM in ([transforms] if isinstance(transforms, str) else transforms)


def process(
    template: dict[str, Any],
    parameters: dict[str, str],
    read: Reader,
    creatable: Callable[[str], bool],
) -> dict[str, Any]:
    """The template CloudFormation would create resources from."""
    if is_sam(template):
        _refuse_deployment_preference(template)
    processed = sam_transform(template, parameters) if is_sam(template) else template
    _refuse_uncreatable(processed, creatable)
    return inline_definitions(processed, read)


MIGRATION = (
    "README.md, 'Use it with your SAM app', and examples/orders/README.md, "
    "'From DeploymentPreference to lambda-rollout'"
)


def _refuse_deployment_preference(template: dict[str, Any]) -> None:
    """CodeDeploy isn't part of the local cloud: say which functions ask for it and where
    the migration to rollouts is described, before the transform names its resources."""
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    named = [
        name
        for name, resource in template["Resources"].items()
        if resource.get("Type") == "AWS::Serverless::Function"
        and "DeploymentPreference" in {**globals_, **(resource.get("Properties") or {})}
    ]
    if named:
        raise TemplateError(
            f"DeploymentPreference on {', '.join(named)}: the local cloud has no CodeDeploy; "
            "lambda-rollout replaces it (remove DeploymentPreference, keep AutoPublishAlias "
            f"on an alias nobody is served through, and roll out a separate one): see {MIGRATION}"
        )


def _refuse_uncreatable(template: dict[str, Any], creatable: Callable[[str], bool]) -> None:
    kinds = {resource.get("Type", "") for resource in template["Resources"].values()}
    refused = sorted(k for k in kinds if not creatable(k) and not k.startswith("Custom::"))
    if refused:
        raise TemplateError(
            f"the local cloud can't create these resource types: {', '.join(refused)}"
        )


def dump(template: dict[str, Any]) -> str:
    return json.dumps(template, separators=(",", ":"), sort_keys=True, default=str)


PLACEHOLDER = re.compile(r"\$\{([^}!][^}]*)\}")


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
            raise TemplateError("DefinitionSubstitutions on a definition that can't be read")
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
    for match in PLACEHOLDER.finditer(body):
        if match.group(1) in substitutions:
            parts += [body[position : match.start()], as_text(substitutions[match.group(1)])]
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
