"""The embedded local cloud: a moto server on 127.0.0.1 plus the seams that make it act like AWS.

moto serves the AWS APIs and its Step Functions interpreter runs the real ASL. The
seams (one module each; rollout/local/README.md lists the moto internals each replaces and
the "moto alone" test that records each gap) close what moto 5.2.5 gets wrong. Every cloud
installs the core ones, which deploying relies on: stack consistency, CloudFormation (SAM
transform server-side, change sets) and bucket-policy conditions. The others are the
Lambda runtime and logs, log subscription delivery, Lambda versions, EventBridge
delivery, Step Functions naming and status events, CloudWatch alarm evaluation and fault
injection; a test of one seam picks its own with `seams=[...]`. moto keeps its state in
process-global backends, so only one LocalCloud runs in a process at a time.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from moto.core.config import default_user_config
from moto.moto_api._internal import moto_api_backend

from rollout.local.accounts import (
    HOME_ACCOUNT,
    AccountRegion,
    check_accounts,
    create_member_role,
    member_role_arn,
    places,
)
from rollout.local.alarms import AlarmEvaluator
from rollout.local.cloud_control import CloudControl
from rollout.local.cloudformation import CloudFormationSeam
from rollout.local.cloudtrail import CloudTrailEvents
from rollout.local.deploy import deploy_template
from rollout.local.event_source_mappings import EventSourceMappings
from rollout.local.eventbridge import EventBridgeDelivery
from rollout.local.execution_history import ExecutionHistoryPages
from rollout.local.execution_roles import ExecutionRoles
from rollout.local.faults import FaultInjection
from rollout.local.front_door import FrontDoor
from rollout.local.function_urls import FunctionUrls
from rollout.local.http_api_imports import HttpApiImports
from rollout.local.lambda_aliases import AliasRevisions
from rollout.local.lambda_logs import LambdaLogs
from rollout.local.lambda_policies import LambdaPolicies
from rollout.local.lambda_runtime import LambdaRuntime
from rollout.local.lambda_versions import ACCOUNT_LIMIT, LambdaVersions
from rollout.local.log_subscriptions import LogSubscriptions
from rollout.local.metric_delay import LOG_DELAY_SECONDS
from rollout.local.metric_queries import MetricQueries
from rollout.local.moto_server import MotoServer
from rollout.local.nested_executions import NestedExecutions
from rollout.local.package import ARTIFACT_BUCKET, load_template
from rollout.local.quota_table import ENFORCED_BY_DEFAULT
from rollout.local.quotas import STATS_PATH, QuotaMiddleware, Quotas
from rollout.local.s3_policies import BucketPolicyConditions
from rollout.local.schedules import ScheduledRules
from rollout.local.seam import Seam
from rollout.local.stacks import StackConsistency
from rollout.local.stepfunctions import StepFunctionsEvents
from rollout.local.sts_trust import AssumeRoleTrust
from rollout.local.task_clients import SharedTaskClients

logger = logging.getLogger(__name__)

ACCOUNT_ID = HOME_ACCOUNT  # moto's default account
DEFAULT_REGION = "us-east-1"
# A template parameter the stack in a member account is given: the account whose pipeline
# may act in it (template.yaml; README, "Waves").
PIPELINE_ACCOUNT_PARAMETER = "PipelineAccountId"
STACK_NAME = "rollout"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TEMPLATE = PROJECT_ROOT / "template.yaml"

# The one retry preset for test helpers and benchmarks that set up or poll in bulk under
# AWS's API quotas (quotas.py), as a careful script would: standard mode, whose throttling
# backoff waits up to 2**i s (at most 20 s) before attempt i + 1, for ten attempts instead
# of the SDK's three: `cloud.client`'s default.
PATIENT_RETRIES = {"mode": "standard", "total_max_attempts": 10}

# Credentials the local cloud accepts; never real ones.
LOCAL_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


SeamT = TypeVar("SeamT")


class LocalCloud:
    """Start with `with LocalCloud() as cloud:`; `cloud.endpoint` is the AWS endpoint URL."""

    _running: LocalCloud | None = None
    _guard = threading.Lock()

    def __init__(
        self,
        port: int = 0,
        region: str = DEFAULT_REGION,
        template: Path | None = DEFAULT_TEMPLATE,
        stack_name: str = STACK_NAME,
        seams: list[type[Seam]] | None = None,
        metric_delay: float = 0.0,
        log_delay: float | None = None,
        regions: list[str] | None = None,
        accounts: list[str] | None = None,
        quotas: bool = ENFORCED_BY_DEFAULT,
    ) -> None:
        self.requested_port = port
        # The home place (first account, first Region) is where clients act by default;
        # the stack is deployed in every account and Region (accounts.py).
        self.regions = list(regions or [region])
        self.accounts = list(accounts or [ACCOUNT_ID])
        check_accounts(self.accounts)
        self.region = self.regions[0]
        self.account_id = self.accounts[0]
        self.template = template
        self.stack_name = stack_name
        self.stack_outputs: dict[str, str] = {}  # the home stack's
        self.stacks: dict[AccountRegion, dict[str, str]] = {}  # every place's stack outputs
        self._member_credentials: dict[str, dict[str, str]] = {}
        self._server: MotoServer | None = None
        # AWS's per-account, per-Region API rate quotas; counted even when not enforced
        self.quotas = Quotas(enforced=quotas)
        self._seams: list[Seam] = []
        self._seam_types = seams  # None: all of them; tests of one seam pass just that one
        self._saved_env: dict[str, str | None] = {}
        self._saved_execution: bool | None = None  # moto's setting before start()
        # AWS's delays (metric_delay.py, lambda_logs.py); 0 is instant, for fast tests.
        self.metric_delay = max(0.0, float(metric_delay))
        self.log_delay = max(
            0.0, float(default_log_delay(self.metric_delay) if log_delay is None else log_delay)
        )

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> LocalCloud:
        with LocalCloud._guard:
            if LocalCloud._running is not None:
                raise RuntimeError("a LocalCloud is already running in this process")
            LocalCloud._running = self
        _quiet_server_logs()
        # moto's backends outlive a server: a new cloud starts empty, as a new account would.
        moto_api_backend.reset()
        try:
            self._start_server()
            self._set_env()
            self._enable_execution()
            for seam in self._make_seams():
                seam.install(self)
                self._seams.append(seam)
            for account in self.accounts[1:]:
                create_member_role(account, self.account_id)
            if self.template is not None:
                self.deploy()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._abort_running_executions()
        while self._seams:
            seam = self._seams.pop()
            try:
                seam.uninstall()
            except Exception:  # uninstall the others and stop the server regardless
                logger.exception("could not uninstall %s", type(seam).__name__)
        if self._server is not None:
            self._server.stop()
            self._server = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}
        self._restore_execution()
        with LocalCloud._guard:
            if LocalCloud._running is self:
                LocalCloud._running = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what callers use ------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._server is not None, "LocalCloud is not started"
        return self._server.get_host_and_port()[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def quotas_url(self) -> str:
        """GET it for the quota counters (quotas.py), as `self.quotas.stats()` returns them."""
        return f"{self.endpoint}{STATS_PATH}"

    @property
    def faults(self) -> FaultInjection:
        """The fault-injection seam (rollout/local/faults.py): add rules, clear them."""
        return self.seam(FaultInjection)

    def seam(self, kind: type[SeamT]) -> SeamT:
        """The installed seam of this kind (contract tests uninstall one to see moto alone)."""
        for seam in self._seams:
            if isinstance(seam, kind):
                return seam
        raise RuntimeError(f"this LocalCloud was started without the {kind.__name__} seam")

    @property
    def places(self) -> list[AccountRegion]:
        """Every account in every Region; the home place first."""
        return places(self.accounts, self.regions)

    def client(
        self,
        service: str,
        *,
        region: str | None = None,
        account: str | None = None,
        **config: Any,
    ) -> Any:
        """A boto3 client for this cloud, as a careful script builds one: in the home account
        and Region unless told otherwise (another account: as its administrator), retrying
        throttled calls with PATIENT_RETRIES unless `retries` says otherwise. Its callers
        (tests, benchmarks, the demo) set up and poll in bulk under AWS's quotas."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region or self.region,
            **self._credentials(account),
            config=Config(**{"retries": PATIENT_RETRIES, **config}),
        )

    def client_env(
        self, *, region: str | None = None, account: str | None = None
    ) -> dict[str, str]:
        """Environment variables that point an SDK or the AWS CLI at this cloud (in the home
        account and Region unless told otherwise)."""
        credentials = self._credentials(account)
        return {
            "AWS_ACCESS_KEY_ID": credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"],
            "AWS_SESSION_TOKEN": credentials["aws_session_token"],
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": region or self.region,
            "AWS_REGION": region or self.region,
        }

    def deploy(self) -> dict[str, str]:
        """Deploy (or redeploy) the template as the stack in every account and Region, the
        home place first; returns the home stack's outputs."""
        assert self.template is not None
        for place in self.places:
            self.stacks[place] = deploy_template(
                self,
                self.template,
                self.stack_name,
                self._place_parameters(place),
                place=place,
                bucket=self._artifact_bucket(place),
            )
        self.stack_outputs = self.stacks[self.places[0]]
        return self.stack_outputs

    # -- internals -------------------------------------------------------------------

    def _credentials(self, account: str | None) -> dict[str, str]:
        """The home account's `testing` keys, or a member account's administrator session
        (AssumeRole of its OrganizationAccountAccessRole, as a person would)."""
        if account is None or account == self.account_id:
            return {
                "aws_access_key_id": LOCAL_ENV["AWS_ACCESS_KEY_ID"],
                "aws_secret_access_key": LOCAL_ENV["AWS_SECRET_ACCESS_KEY"],
                "aws_session_token": LOCAL_ENV["AWS_SESSION_TOKEN"],
            }
        if account not in self.accounts:
            raise ValueError(f"account {account} is not one of this cloud's ({self.accounts})")
        if account not in self._member_credentials:
            issued = self.client("sts").assume_role(
                RoleArn=member_role_arn(account), RoleSessionName="local-cloud"
            )["Credentials"]
            self._member_credentials[account] = {
                "aws_access_key_id": issued["AccessKeyId"],
                "aws_secret_access_key": issued["SecretAccessKey"],
                "aws_session_token": issued["SessionToken"],
            }
        return self._member_credentials[account]

    def _place_parameters(self, place: AccountRegion) -> dict[str, str]:
        """A member account's stack trusts the home account's pipeline, when the template
        has the parameter for it."""
        assert self.template is not None
        declared = load_template(self.template).get("Parameters") or {}
        if place.account_id == self.account_id or PIPELINE_ACCOUNT_PARAMETER not in declared:
            return {}
        return {PIPELINE_ACCOUNT_PARAMETER: self.account_id}

    def _artifact_bucket(self, place: AccountRegion) -> str:
        """One bucket per account and Region, as `sam deploy --resolve-s3` makes: Lambda
        reads a function's code from a bucket in its own Region."""
        if place == self.places[0]:
            return ARTIFACT_BUCKET
        return f"{ARTIFACT_BUCKET}-{place.account_id}-{place.region}"

    def _start_server(self) -> None:
        # A busy port is refused by name, not as the bare OSError the bind would raise.
        if self.requested_port:
            _ensure_port_free(self.requested_port)
        self._server = MotoServer(
            "127.0.0.1", self.requested_port, lambda moto: QuotaMiddleware(moto, self.quotas)
        )
        self._server.start()

    def _abort_running_executions(self) -> None:
        """Executions run on moto threads; stop them before the seams they call go away.
        Best effort and bounded: stopping must never hang or leave the cloud half-stopped
        (moto's StopExecution waits for the execution's state lock)."""
        # ListExecutions refills 5 a second: a throttled call is retried, a few times
        for place in self.places:
            try:
                sfn = self.client(
                    "stepfunctions",
                    region=place.region,
                    account=place.account_id,
                    connect_timeout=2,
                    read_timeout=5,
                    retries={"mode": "standard", "max_attempts": 4},
                )
                running = [
                    execution["executionArn"]
                    for machine in _every(sfn, "list_state_machines", "stateMachines")
                    for execution in _every(
                        sfn,
                        "list_executions",
                        "executions",
                        stateMachineArn=machine["stateMachineArn"],
                        statusFilter="RUNNING",
                    )
                ]
            except (BotoCoreError, ClientError):
                logger.exception("could not list running executions in %s while stopping", place)
                continue
            for arn in running:
                try:
                    sfn.stop_execution(executionArn=arn, cause="local cloud stopped")
                except (BotoCoreError, ClientError):
                    logger.warning("could not stop %s while stopping the cloud", arn)

    def _set_env(self) -> None:
        # moto's Step Functions interpreter calls Lambda at localhost:$MOTO_PORT.
        env = {
            "MOTO_PORT": str(self.port),
            "AWS_DEFAULT_REGION": self.region,
            # PutFunctionConcurrency keeps 100 of the account's concurrency unreserved, as
            # Lambda does (lambda_versions.py: what GetAccountSettings reports)
            "MOTO_LAMBDA_CONCURRENCY_QUOTA": str(ACCOUNT_LIMIT["ConcurrentExecutions"]),
            **LOCAL_ENV,
        }
        for key, value in env.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def _enable_execution(self) -> None:
        # moto's config is process-global: put back what it was, for whatever runs moto next.
        settings = default_user_config["stepfunctions"]
        self._saved_execution = bool(settings.get("execute_state_machine", False))
        settings["execute_state_machine"] = True

    def _restore_execution(self) -> None:
        if self._saved_execution is not None:
            default_user_config["stepfunctions"]["execute_state_machine"] = self._saved_execution
            self._saved_execution = None

    def _make_seams(self) -> list[Seam]:
        # Every cloud deploys as CloudFormation does: `rollout local up` and `sam deploy`
        # rely on these, so tests that pick their seams get them too.
        core: list[Seam] = [StackConsistency(), CloudFormationSeam(), BucketPolicyConditions()]
        if self._seam_types is not None:
            return [*core, *(seam_type() for seam_type in self._seam_types)]
        # FaultInjection starts with no rules (unless ROLLOUT_LOCAL_FAULTS names some).
        return [
            *core,
            AssumeRoleTrust(),
            ExecutionRoles(),
            NestedExecutions(),
            LambdaLogs(),
            LambdaRuntime(),
            LogSubscriptions(),
            LambdaVersions(),
            AliasRevisions(),
            LambdaPolicies(),
            FunctionUrls(),
            CloudControl(),
            HttpApiImports(),
            FrontDoor(),
            EventSourceMappings(),
            EventBridgeDelivery(),
            ScheduledRules(),
            StepFunctionsEvents(),
            ExecutionHistoryPages(),
            CloudTrailEvents(),
            SharedTaskClients(),
            MetricQueries(),
            AlarmEvaluator(),
            FaultInjection(),
        ]


def default_log_delay(metric_delay: float) -> float:
    """The log ingestion delay that goes with a metric delay: none with instant metrics,
    else LOG_DELAY_SECONDS (see metric_delay.py for where the numbers come from)."""
    return LOG_DELAY_SECONDS if metric_delay > 0 else 0.0


def _every(client: Any, operation: str, key: str, **request: Any) -> Iterator[dict[str, Any]]:
    """Every item of a paged List call, all pages read (a stop must miss none)."""
    for page in client.get_paginator(operation).paginate(**request):
        yield from page[key]


def _quiet_server_logs() -> None:
    # Every request and every caught task failure would otherwise be logged; the
    # workflow's own history says what happened.
    for name in ("werkzeug", "moto.stepfunctions.parser"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _ensure_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise RuntimeError(f"port {port} on 127.0.0.1 is in use ({error.strerror})") from None


@contextmanager
def local_cloud(**kwargs: Any) -> Iterator[LocalCloud]:
    """`with local_cloud() as cloud:` — a started cloud on a free port, stopped afterwards."""
    cloud = LocalCloud(**kwargs)
    with cloud:
        yield cloud
