"""Prepare's look-ups in the live account: function, alias, versions. Read-only."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from . import aliases, clients, lock, scope
from .errors import InvalidRolloutRequest, RolloutInProgress
from .models import LogDestination


def function_name(name_or_arn: str, field: str = "functionName") -> str:
    """The name to call Lambda with; an ARN must be this account, region and partition.

    The name must be in this deployment's scope (rollout_core.scope) before any call.
    """
    if name_or_arn.startswith("arn:"):
        name = _name_in_arn(field, name_or_arn)
    else:
        name = name_or_arn
        base, colon, _ = name.partition(":")
        if colon and scope.FUNCTION_NAME.fullmatch(base):
            raise InvalidRolloutRequest(
                f"{field}: {name_or_arn!r} has a qualifier; name the function only "
                "(the alias goes in `alias`)"
            )
    scope.check_name(field, name)
    return name


def _name_in_arn(field: str, arn: str) -> str:
    parts = arn.split(":")
    if len(parts) != 7 or parts[2] != "lambda" or parts[5] != "function":
        raise InvalidRolloutRequest(f"{field}: {arn!r} is not an unqualified Lambda function ARN")
    _same_account(field, arn, parts[1], parts[3], parts[4])
    return parts[6]


def _same_account(field: str, arn: str, partition: str, region: str, account: str) -> None:
    here_region = clients.lambda_().meta.region_name
    here_partition = clients.partition_of(here_region)
    here_account = clients.sts().get_caller_identity()["Account"]
    if (partition, region, account) != (here_partition, here_region, here_account):
        raise InvalidRolloutRequest(
            f"{field}: {arn!r} is not in this account, region and partition "
            f"({here_account}, {here_region}, {here_partition})"
        )


def configuration(function: str, version: str | None = None) -> dict[str, Any] | None:
    args = {"FunctionName": function} | ({"Qualifier": version} if version else {})
    try:
        return clients.lambda_().get_function_configuration(**args)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise


def function_arn(function: str, field: str = "functionName") -> str:
    """The unqualified ARN of an existing function that is not one of the rollout's own."""
    config = configuration(function)
    if config is None:
        raise InvalidRolloutRequest(f"{field}: function {function} not found")
    arn = config["FunctionArn"]
    arn = arn.rsplit(":", 1)[0] if arn.count(":") == 7 else arn  # drop any qualifier
    scope.check_stack(field, function, lambda: _tags(arn))
    return str(arn)


def _tags(arn: str) -> dict[str, str]:
    return dict(clients.lambda_().list_tags(Resource=arn).get("Tags") or {})


def stable_alias(function: str, alias: str, lock_table: str | None) -> tuple[str, str]:
    """(alias ARN, stable version): the alias must exist on one published version."""
    try:
        found = clients.lambda_().get_alias(FunctionName=function, Name=alias)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            raise InvalidRolloutRequest(f"alias: {function} has no alias {alias}") from None
        raise
    position = aliases.read(function, alias).position
    if position.extra:
        _explain_split(function, alias, position, lock_table)
    if not position.version.isdigit():
        raise InvalidRolloutRequest(
            f"alias: {function}:{alias} points at {position.version}; "
            "point it at a published version first ($LATEST can't be weighted)"
        )
    return found["AliasArn"], position.version


def _explain_split(
    function: str, alias: str, position: aliases.Position, lock_table: str | None
) -> None:
    holder = lock.holder_of(lock_table, lock.lock_key(function, alias)) if lock_table else None
    if holder:
        raise RolloutInProgress(f"{function}:{alias} is being rolled out by {holder}")
    raise InvalidRolloutRequest(
        f"alias: {function}:{alias} already splits traffic ({position.describe()}); "
        "finish or undo that split first"
    )


def target_version(function: str, requested: str | None) -> dict[str, Any]:
    """The configuration of the version to roll out (default: the newest published)."""
    version = requested or _newest(function)
    config = configuration(function, version)
    if config is None:
        raise InvalidRolloutRequest(f"targetVersion: {function} has no published version {version}")
    return config


def _newest(function: str) -> str:
    paginator = clients.lambda_().get_paginator("list_versions_by_function")
    numbers = [
        int(v["Version"])
        for page in paginator.paginate(FunctionName=function)
        for v in page["Versions"]
        if v["Version"].isdigit()
    ]
    if not numbers:
        raise InvalidRolloutRequest(f"targetVersion: {function} has no published version yet")
    return str(max(numbers))


def compatible(function: str, stable: str, target: dict[str, Any]) -> dict[str, Any]:
    """Alias routing needs both versions to share the role and dead-letter config; the
    stable version's configuration."""
    config = configuration(function, stable) or {}
    for key in ("Role", "DeadLetterConfig"):
        if config.get(key) != target.get(key):
            raise InvalidRolloutRequest(
                f"targetVersion: version {target['Version']} has a different {key} than "
                f"version {stable}; Lambda can't split an alias between them"
            )
    return config


def log_destination(function: str, version: str, config: dict[str, Any]) -> LogDestination:
    """Where the version logs: its LoggingConfig's group (Lambda's default group when it
    names none) and format ("By default, Lambda sends logs to a log group named
    /aws/lambda/<function name>", Sending Lambda function logs to CloudWatch Logs)."""
    logging = config.get("LoggingConfig") or {}
    log_format = "JSON" if str(logging.get("LogFormat", "Text")).upper() == "JSON" else "Text"
    group = logging.get("LogGroup") or f"/aws/lambda/{function}"
    return LogDestination(version=version, logGroup=group, logFormat=log_format)


def hook_exists(field: str, function: str | None) -> None:
    """A hook is invoked by the rollout, so it is held to the same scope as the target."""
    if function:
        where = f"{field}.hookFunction"
        function_arn(function_name(function, where), where)
