"""AWS access for the CLI: clients from the normal credential chain, readable errors, and
finding the rollout state machine.

boto3 already honours AWS_PROFILE, AWS_DEFAULT_REGION and AWS_ENDPOINT_URL, so the same
commands work against AWS and against `rollout local up` (it reads no AWS_REGION: that one
is Lambda's, which sets both).
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from rich.console import Console
from rich.text import Text

from rollout.exits import Exit

STACK_NAME = "rollout"
STACK_OUTPUT = "RolloutStateMachineArn"
PREPARE_OUTPUT = "PrepareFunctionName"
STATE_MACHINE_ENV = "ROLLOUT_STATE_MACHINE_ARN"

LOCAL_HINT = (
    "for the local cloud: `rollout local up`, then export AWS_ENDPOINT_URL=http://127.0.0.1:4566 "
    "AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
)
NO_REGION = f"no AWS region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION ({LOCAL_HINT})"

# ClientError codes that mean "the thing you named does not exist".
NOT_FOUND_CODES = {
    "ExecutionDoesNotExist": "execution not found",
    "StateMachineDoesNotExist": "state machine not found",
    "ResourceNotFoundException": "not found",
    "InvalidArn": "not a valid ARN",
}

ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException"})
CREDENTIAL_CODES = ACCESS_DENIED_CODES | {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
}


class CliError(Exception):
    """An error the user can act on; the CLI prints the message and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = Exit.FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class AwsContext:
    """One boto3 session and its clients, shared by a command run. `endpoint_url` and
    `credentials` (boto3.Session's keyword arguments) name a cloud other than the
    environment's: `rollout demo`'s own local cloud."""

    def __init__(
        self,
        region: str | None = None,
        profile: str | None = None,
        *,
        endpoint_url: str | None = None,
        credentials: dict[str, str] | None = None,
    ) -> None:
        with aws_errors():
            self.session = boto3.Session(
                region_name=region, profile_name=profile, **(credentials or {})
            )
        if self.session.region_name is None:
            raise CliError(NO_REGION)
        self._endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            config = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5)
            with aws_errors():
                self._clients[service] = self.session.client(
                    service, config=config, endpoint_url=self._endpoint_url
                )
        return self._clients[service]

    def endpoint(self, service: str = "stepfunctions") -> str:
        return str(self.client(service).meta.endpoint_url)


@contextmanager
def aws_errors(what: str = "") -> Iterator[None]:
    """Turn botocore exceptions into CliErrors that say what to do next."""
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise as_cli_error(error, what) from None


def as_cli_error(error: BotoCoreError | ClientError, what: str = "") -> CliError:
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return CliError(
            "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
            f"({LOCAL_HINT})"
        )
    if isinstance(error, NoRegionError):
        return CliError(NO_REGION)
    if isinstance(error, EndpointConnectionError):
        return CliError(
            f"cannot reach {error.kwargs.get('endpoint_url', 'the AWS endpoint')}: "
            "check your network, or start the local cloud with `rollout local up` "
            "if AWS_ENDPOINT_URL points at it"
        )
    if isinstance(error, ClientError):
        return CliError(_client_error_message(error, what))
    return CliError(f"AWS SDK error: {error}")


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _client_error_message(error: ClientError, what: str) -> str:
    info = error.response.get("Error", {})
    code, message = str(info.get("Code", "")), str(info.get("Message", ""))
    subject = f"{what}: " if what else ""
    if code in NOT_FOUND_CODES:
        return f"{subject}{NOT_FOUND_CODES[code]} ({message})"
    if code in CREDENTIAL_CODES:
        return f"{subject}AWS refused the credentials in use ({code}: {message})"
    return f"{subject}{code}: {message}"


def find_state_machine(aws: AwsContext, explicit: str | None = None) -> str:
    """`--state-machine`, else $ROLLOUT_STATE_MACHINE_ARN, else the `rollout` stack's output."""
    if explicit:
        return explicit
    from_env = os.environ.get(STATE_MACHINE_ENV)
    if from_env:
        return from_env
    return find_stack_output(aws, STACK_OUTPUT)


def find_stack_output(aws: AwsContext, key: str) -> str:
    """Output `key` of the `rollout` stack (the table, the Prepare function, ...)."""
    try:
        with aws_errors(f"finding the stack output {key}"):
            stacks = aws.client("cloudformation").describe_stacks(StackName=STACK_NAME)["Stacks"]
    except CliError as error:
        if "does not exist" in str(error):  # CloudFormation's ValidationError for a missing stack
            raise CliError(_no_stack_message(aws)) from None
        raise
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if key not in outputs:
        raise CliError(f"stack '{STACK_NAME}' has no output {key}: is it deployed fully?")
    return str(outputs[key])


def _no_stack_message(aws: AwsContext) -> str:
    return (
        f"no state machine given and no stack '{STACK_NAME}' in {aws.region}: pass "
        f"--state-machine ARN, set {STATE_MACHINE_ENV}, or deploy template.yaml as stack "
        f"'{STACK_NAME}' ({LOCAL_HINT})"
    )


def execution_region(args: argparse.Namespace) -> str | None:
    """The Region of a command naming an EXECUTION: an ARN's own unless --region says it (a
    pipeline's targets print ARNs in other Regions); a --region that contradicts the ARN is
    refused, with nothing called. None: the credential chain's."""
    execution = getattr(args, "execution", None) or ""
    region = args.region
    if execution.startswith("arn:"):
        parts = execution.split(":")
        own = parts[3] if len(parts) > 3 else ""
        if region and own and region != own:
            raise CliError(
                f"{execution} is in {own}, not in --region {region}", exit_code=Exit.INVALID
            )
        region = region or own or None
    return region


def resolve_execution(aws: AwsContext, args: argparse.Namespace) -> str:
    """The ARN of a command's EXECUTION: an ARN as is, a name resolved against the state
    machine. The command's `aws` is in execution_region(args)."""
    name_or_arn = str(args.execution)
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return execution_arn(find_state_machine(aws, args.state_machine), name_or_arn)


def execution_arn(state_machine_arn: str, name_or_arn: str) -> str:
    """An execution ARN from a name and its state machine (ARN passed through as is)."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    prefix, found, machine = state_machine_arn.rpartition(":stateMachine:")
    if not found or not machine:
        raise CliError(f"not a state machine ARN: {state_machine_arn}", exit_code=Exit.INVALID)
    return f"{prefix}:execution:{machine}:{name_or_arn}"


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    """--region, --profile and --state-machine, shared by the commands that call AWS."""
    group = parser.add_argument_group("AWS (the credential chain and AWS_ENDPOINT_URL apply)")
    group.add_argument("--region", help="AWS region (default: AWS_REGION / your profile)")
    group.add_argument("--profile", help="named profile from your AWS config")
    group.add_argument(
        "--state-machine",
        metavar="ARN",
        help=f"the rollout state machine (default: ${STATE_MACHINE_ENV}, else the output "
        f"{STACK_OUTPUT} of stack '{STACK_NAME}')",
    )


def reports_errors(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Print a CliError as one line on stderr and exit with its code, instead of a traceback."""

    @functools.wraps(run)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except CliError as error:
            message = Text("rollout: ", style="bold red") + Text(str(error))
            Console(stderr=True).print(message, soft_wrap=True)  # ARNs must stay copyable
            return error.exit_code

    return wrapper


def core_clients_of(aws: AwsContext, env: dict[str, str] | None = None) -> Any:
    """rollout_core's clients (a context manager) in this command's Region and profile,
    with `env` besides."""
    own = {"AWS_DEFAULT_REGION": aws.region, **(env or {})}
    profile = aws.session.profile_name
    if profile and profile != "default":
        own["AWS_PROFILE"] = profile
    return core_clients_with(own)


@contextmanager
def core_clients_with(env: dict[str, str]) -> Iterator[None]:
    """rollout_core's clients, which read the environment as they do inside the task
    Lambdas, built from `env` for the duration; the environment is put back afterwards."""
    from rollout_core import clients as core_clients

    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    core_clients.reset()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        core_clients.reset()
