"""Which functions of a CloudFormation stack `rollout release --stack` rolls out, and which
of them changed.

The stack names its functions (ListStackResources); their `rollout:alias` tags say which
take part and behind which alias, as they do for the per-function EventBridge trigger.
"Changed" is decided the way Lambda decides it: PublishVersion returns the existing version
when neither code nor configuration changed since the last publish, so a function whose
alias already serves the version it returns has nothing to roll out. What can be wrong
with the stack (no such stack, no tagged function, an alias missing) is found before the
first publish, so such a refused release has published nothing; so is each function's
`rollout:*` configuration and the flags, by Prepare's own checks, and an alias the
stack's own template moves on every deploy (`template_moves`: CloudFormation has shifted
all its traffic at once, and a rollout would find the new version already live). Three refusals come
only after publishing, because they depend on what changed: changed functions whose tags
disagree on a release-wide setting, more changed functions than a release takes, and an
input Prepare's checks refuse only as a whole (such as the changed functions' check
payloads over one release's budget). The versions published then carry the
`rollout:release` marker, so nothing serves or rolls them out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from rollout_core.eventbridge import ALIAS_TAG, RELEASE_MARKER

from rollout.aws import AwsContext, CliError, as_cli_error, aws_errors, error_code
from rollout.exits import Exit

FUNCTION_TYPE = "AWS::Lambda::Function"
ALIAS_TYPE = "AWS::Lambda::Alias"
DESCRIPTION_LIMIT = 256  # PublishVersion's Description


@dataclass(frozen=True)
class StackFunction:
    """A function of the stack, with its tags (the rollout settings of a tagged one)."""

    name: str
    arn: str
    tags: dict[str, str]


@dataclass(frozen=True)
class Member:
    """A function taking part in the release, the alias it rolls and what that serves."""

    function: StackFunction
    alias: str
    serving: str


@dataclass(frozen=True)
class Published:
    """What PublishVersion returned for a member."""

    member: Member
    version: str
    description: str

    @property
    def changed(self) -> bool:
        return self.version != self.member.serving

    @property
    def name(self) -> str:
        return self.member.function.name


def stack_functions(aws: AwsContext, stack: str) -> list[StackFunction]:
    """The stack's Lambda functions in template order, each with its tags."""
    names = [
        summary["PhysicalResourceId"]
        for summary in _resources(aws, stack)
        if summary["ResourceType"] == FUNCTION_TYPE and summary.get("PhysicalResourceId")
    ]
    if not names:
        raise CliError(f"stack {stack!r} has no Lambda functions", Exit.INVALID)
    return [_function(aws, name) for name in names]


def _resources(aws: AwsContext, stack: str) -> list[dict[str, Any]]:
    pages = aws.client("cloudformation").get_paginator("list_stack_resources")
    with aws_errors(f"listing the resources of stack {stack}"):
        try:
            return [
                summary
                for page in pages.paginate(StackName=stack)
                for summary in page["StackResourceSummaries"]
            ]
        except ClientError as error:
            if "does not exist" in str(error):  # CloudFormation's error for a missing stack
                raise CliError(f"stack {stack!r} not found in {aws.region}", Exit.INVALID) from None
            raise


def _function(aws: AwsContext, name: str) -> StackFunction:
    with aws_errors(f"reading function {name}"):
        found = aws.client("lambda").get_function(FunctionName=name)
    return StackFunction(name, found["Configuration"]["FunctionArn"], found.get("Tags") or {})


def choose(
    stack: str, functions: list[StackFunction], alias: str | None, all_functions: bool
) -> list[tuple[StackFunction, str]]:
    """(function, alias) for each function that takes part: the tagged ones, or every one
    with `all_functions`; the alias is `alias` when given, else the function's tag."""
    chosen = functions if all_functions else [f for f in functions if ALIAS_TAG in f.tags]
    if not chosen:
        names = ", ".join(f.name for f in functions)
        raise CliError(
            f"stack {stack!r} has no function tagged {ALIAS_TAG} ({names}): tag the ones to "
            "roll out, or pass --all-functions --alias A",
            Exit.INVALID,
        )
    untold = [f.name for f in chosen if alias is None and ALIAS_TAG not in f.tags]
    if untold:
        raise CliError(
            f"no alias for {', '.join(untold)} (no {ALIAS_TAG} tag): pass --alias", Exit.INVALID
        )
    return [(f, alias or f.tags[ALIAS_TAG]) for f in chosen]


def members(aws: AwsContext, chosen: list[tuple[StackFunction, str]]) -> list[Member]:
    """Each chosen function with the version its alias serves; every missing alias named
    at once, before anything is published."""
    found, missing = [], []
    for function, alias in chosen:
        serving = _serving(aws, function.name, alias)
        if serving is None:
            missing.append(f"{function.name}:{alias}")
        else:
            found.append(Member(function, alias, serving))
    if missing:
        raise CliError(
            f"alias not found: {', '.join(missing)} (a release moves existing aliases; "
            "create each on the version it serves today)",
            Exit.INVALID,
        )
    return found


def _serving(aws: AwsContext, function: str, alias: str) -> str | None:
    try:
        found = aws.client("lambda").get_alias(FunctionName=function, Name=alias)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None
        raise as_cli_error(error, f"reading alias {function}:{alias}") from None
    return str(found["FunctionVersion"])


def publish(aws: AwsContext, member: Member, stack: str) -> Published:
    """Publish `$LATEST` with the release marker in its Description, so the per-function
    EventBridge trigger leaves the new version to this release. Lambda keeps an existing
    version's Description when it hands that version back."""
    description = f"{RELEASE_MARKER} of stack {stack}"[:DESCRIPTION_LIMIT]
    name = member.function.name
    with aws_errors(f"publishing {name}"):
        found = aws.client("lambda").publish_version(FunctionName=name, Description=description)
    return Published(member, str(found["Version"]), str(found.get("Description") or ""))


def publish_all(
    aws: AwsContext, chosen: list[Member], stack: str, say: Callable[[str], None]
) -> list[Published]:
    """Publish every member, saying for each what it publishes as and whether it changed."""
    published = []
    for member in chosen:
        result = publish(aws, member, stack)
        say(_progress(result))
        if result.changed and _unmarked(result):
            say(_race_warning(result))
        published.append(result)
    return published


def _progress(result: Published) -> str:
    member = result.member
    if not result.changed:
        return (
            f"{result.name}: nothing to roll out, {member.alias} already serves version "
            f"{result.version}"
        )
    return f"{result.name}: version {result.version} ({member.alias} serves {member.serving})"


def _unmarked(result: Published) -> bool:
    """A version of a tagged function published earlier without the marker (by a
    template's AutoPublishAlias, say): the EventBridge trigger may have started its own
    rollout of it, which holds the alias this release needs."""
    tagged = ALIAS_TAG in result.member.function.tags
    return tagged and not result.description.startswith(RELEASE_MARKER)


def _race_warning(result: Published) -> str:
    return (
        f"{result.name}: warning: version {result.version} was published before without "
        f"the {RELEASE_MARKER!r} Description, so the EventBridge trigger may be rolling it "
        f"out on its own (in SAM: VersionDescription: {RELEASE_MARKER})"
    )


# -- aliases the template moves ------------------------------------------------------------


def template_moves(aws: AwsContext, stack: str, chosen: list[Member]) -> list[str]:
    """Why each member's alias can't be rolled out: the stack's processed template declares
    it with a FunctionVersion that isn't a constant (SAM's `AutoPublishAlias` on it, or
    `!GetAtt Fn.Version.Version`), so every `sam deploy` moves it at once, and says whether
    it already did (it serves a version with new code)."""
    physical = {
        summary["LogicalResourceId"]: summary.get("PhysicalResourceId")
        for summary in _resources(aws, stack)
    }
    moving = {}
    for logical, resource in _template(aws, stack).get("Resources", {}).items():
        if resource.get("Type") != ALIAS_TYPE:
            continue
        properties = resource.get("Properties") or {}
        function = properties.get("FunctionName")
        if isinstance(function, dict) and "Ref" in function:
            function = physical.get(function["Ref"])
        name = properties.get("Name")
        follows = not isinstance(properties.get("FunctionVersion"), str)
        if isinstance(function, str) and isinstance(name, str) and follows:
            moving[(function.split(":function:")[-1].split(":")[0], name)] = logical
    return [
        _moved(aws, stack, member, moving[(member.function.name, member.alias)])
        for member in chosen
        if (member.function.name, member.alias) in moving
    ]


def _template(aws: AwsContext, stack: str) -> dict[str, Any]:
    with aws_errors(f"reading the template of stack {stack}"):
        body = aws.client("cloudformation").get_template(
            StackName=stack, TemplateStage="Processed"
        )["TemplateBody"]
    if isinstance(body, dict):
        return body
    from samtranslator.yaml_helper import yaml_parse  # JSON or YAML, short forms included

    return dict(yaml_parse(body))


def _moved(aws: AwsContext, stack: str, member: Member, logical: str) -> str:
    name, alias = member.function.name, member.alias
    already = _unrolled_code(aws, name, alias, member.serving)
    return (
        f"{name}:{alias} is moved by stack {stack}'s template on every deploy (resource "
        f"{logical}: its FunctionVersion follows the version CloudFormation publishes, as "
        f"AutoPublishAlias: {alias} does), so CloudFormation shifts all its traffic at once"
        f"{already}: publish to another alias (AutoPublishAlias: released) and declare "
        f"{alias} as an AWS::Lambda::Alias of its own, created on the version it serves and "
        "moved only by rollouts (README.md, 'Use it with your SAM app')"
    )


def _unrolled_code(aws: AwsContext, function: str, alias: str, serving: str) -> str:
    """ ", and it already did: …" when the version the alias serves has new code since the
    version before it."""
    if not serving.isdigit() or int(serving) <= 1:
        return ""
    lam = aws.client("lambda")
    with aws_errors(f"reading versions of {function}"):
        now = lam.get_function_configuration(FunctionName=function, Qualifier=serving)
        try:
            before = lam.get_function_configuration(
                FunctionName=function, Qualifier=str(int(serving) - 1)
            )
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
            return ""
    if now.get("CodeSha256") == before.get("CodeSha256"):
        return ""
    return (
        f", and it already did: {function}:{alias} serves version {serving}, new code since "
        f"version {int(serving) - 1}, which no rollout checked"
    )
