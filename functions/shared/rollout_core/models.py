"""The plan (written once by Prepare) and the progress cursor, as the ASL carries them, with
what the cursor holds: each health check's result, the hold, the last control.

These are the workflow's contract (docs/workflow.md, "The plan" and "Progress"): the tasks
return them, and the CLI, the views and the benchmarks read them back from an execution's
history with the same models. Every document tolerates keys it doesn't know (a later
version's), so a reader of an older or newer run never fails on them. results.py has the
other documents a task returns ($.checks, $.rollback, $.outcome).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class Document(BaseModel):
    # Documents travel through the state machine; tolerate keys added by later versions.
    # Every model here and elsewhere in rollout_core defers building its validator to its
    # first use: a Lambda environment uses a few, and building all cost ~70 ms per cold start.
    model_config = ConfigDict(extra="ignore", defer_build=True)


def _empty(value: Any) -> bool:
    return value is None or value == []


def unless_set(default: Any = None) -> Any:
    """A field written only when it has a value: the shape stays the one readers know."""
    if isinstance(default, list):
        return Field(default_factory=list, exclude_if=_empty)
    return Field(default=default, exclude_if=_empty)


Phase = Literal["pending", "step", "bake", "done"]


class Step(Document):
    percentage: int | float
    weight: float
    waitSeconds: int


class CheckConfig(Document):
    readiness: bool = False  # the version is Active and accepts a DryRun invoke
    payload: Any = None
    invoke: bool = False  # invoke with `payload` (which may legitimately be null)
    expect: Any = None
    hookFunction: str | None = None


class LatencyPolicy(Document):
    """The canary judge's latency test (health/latency.py): the new version fails when its
    durations are, with `confidence`, more than `maxIncreasePercent` (and the absolute
    floor) above the stable version's."""

    maxIncreasePercent: float = 25
    confidence: float = 0.98


class MetricStat(Document):
    """A CloudWatch metric and statistic; `${function}`, `${alias}`, `${version}` in its
    dimension values are filled per version (health/user_metrics.py)."""

    namespace: str
    metricName: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    stat: str = "Average"


class UserMetric(Document):
    """`health.metrics[]` as planned (request.MetricSpec validated it)."""

    name: str
    metric: MetricStat | None = None
    expression: str | None = None
    metrics: dict[str, MetricStat] = Field(default_factory=dict)
    threshold: float | None = None
    maxIncreasePercent: float | None = None
    dryRun: bool = False


# What a step does when its last check is inconclusive (health/inconclusive.py).
InconclusivePolicy = Literal["extend", "pause", "proceed"]


class HealthPolicy(Document):
    errorRatePercent: float
    minInvocations: int
    compareToStable: bool = True
    lowTraffic: Literal["pass", "fail"] = "pass"
    logs: bool = True  # the logs signal (logs_signal.py) beside the metrics
    latency: LatencyPolicy | None = Field(default_factory=LatencyPolicy)  # None: off
    inconclusive: InconclusivePolicy = "extend"
    metrics: list[UserMetric] = unless_set([])  # the user's CloudWatch metrics


class LockRef(Document):
    table: str
    key: str
    owner: str


class StrategyRef(Document):
    name: str
    kind: str


class ApprovalPolicy(Document):
    before: Literal["promote", "each-step"]
    timeoutSeconds: int  # scaled by timeScale like every wait
    onTimeout: Literal["rollback", "proceed"] = "rollback"


class LogDestination(Document):
    """Where one version of a rolled function logs, from its LoggingConfig as Prepare read
    it: the group the telemetry subscribes to (or polls), and the format of its lines."""

    version: str
    logGroup: str
    logFormat: Literal["Text", "JSON"] = "Text"


class AlarmReading(Document):
    """An alarm's state as Prepare's one DescribeAlarms read it: the seed of the pushed
    state the checks read (rollout_core.telemetry.alarm_states)."""

    name: str
    state: str
    updatedAt: AwareDatetime | None = None  # the alarm's StateUpdatedTimestamp


class Member(Document):
    """One function of a release (rollout_core.release): what a single rollout's plan says
    about its function, alias and checks; everything else is the release's."""

    functionName: str
    functionArn: str
    alias: str
    aliasArn: str
    stableVersion: str
    targetVersion: str
    preTraffic: CheckConfig | None = None
    postTraffic: CheckConfig | None = None
    lockKey: str
    logDestinations: list[LogDestination] = unless_set([])  # stable and target versions'


# -- traffic sources (rollout_core.traffic): how the function is invoked ------------------

SourceKind = Literal[
    "event source mapping",
    "permission",
    "function URL",
    "EventBridge rule",
    "Scheduler schedule",
    "SNS subscription",
    "API Gateway",
]
LATEST = "$LATEST"  # the qualifier an unqualified ARN invokes


class TrafficSource(Document):
    """One way the function is invoked, and the qualifier it invokes (a version, an alias,
    or $LATEST for the unqualified function)."""

    kind: SourceKind
    source: str  # what invokes it: a queue or stream, rule, schedule, topic, API, principal
    qualifier: str
    enabled: bool = True  # a disabled mapping, rule or schedule invokes nothing now
    detail: str | None = unless_set()  # e.g. "GET /orders", "principal s3.amazonaws.com"


class FunctionTraffic(Document):
    """What Prepare found about one function's traffic (`plan.traffic`, one per function)."""

    functionName: str
    alias: str
    sources: list[TrafficSource] = Field(default_factory=list)
    unread: list[str] = Field(default_factory=list)  # what could not be read, and why

    @property
    def bypasses(self) -> list[TrafficSource]:
        """Enabled sources that invoke another qualifier than the rolled alias: their traffic
        never follows the rollout's weights."""
        return [s for s in self.sources if s.enabled and s.qualifier != self.alias]


class UnrolledMove(Document):
    """No rollout moved the alias to the version just published, yet it serves it, with new
    code since the version before (CloudFormation moves an alias this way on every deploy
    when the template publishes to it: `AutoPublishAlias` on the rolled alias)."""

    version: str
    previousVersion: str
    stack: str | None = unless_set()  # the function's aws:cloudformation:stack-name tag


class PriorRollback(Document):
    """An ending that put `functionName:alias` back on its stable version after a rollout of
    `version` (rollout_core.rolled_back): Prepare doesn't roll that version out on that alias
    again unless the input says `retryRolledBack`."""

    functionName: str
    alias: str
    version: str
    executionId: str  # the execution that rolled it back
    at: str  # when its ending recorded it (ISO, UTC)
    error: str  # why: the ending's Error (RolloutAborted, HealthCheckFailed, ...)
    cause: str  # its Cause's first line
    # rolled back as a member of this release of several functions (`f:a, g:b`), which
    # doesn't say which member was at fault; None when rolled back on its own
    withRelease: str | None = unless_set()


class PipelineRef(Document):
    """The pipeline that started this rollout (input `pipeline`, rollout_core.pipeline): the
    views lead from one to the other."""

    executionArn: str
    wave: str
    waveIndex: int
    target: int


class Plan(Document):
    # "pipeline": waves across Regions and accounts, handed to the pipeline state machine;
    # "previouslyRolledBack": the target was rolled back on the alias (rolledBackBefore)
    action: Literal[
        "rollout", "skip", "noop", "duplicate", "dryRun", "pipeline", "previouslyRolledBack"
    ]
    reason: str | None = None
    source: Literal["console", "eventbridge"] = "console"
    executionId: str
    functionName: str | None = None
    functionArn: str | None = None
    alias: str | None = None
    aliasArn: str | None = None
    stableVersion: str | None = None
    targetVersion: str | None = None
    strategy: StrategyRef | None = None
    timeScale: float = 1
    checkIntervalSeconds: int = 10
    steps: list[Step] = Field(default_factory=list)
    totalWaitSeconds: int = 0
    alarms: list[str] = Field(default_factory=list)
    ignoredAlarms: list[str] = Field(default_factory=list)
    insufficientData: Literal["ignore", "fail"] = "ignore"
    health: HealthPolicy | None = None
    preTraffic: CheckConfig | None = None
    postTraffic: CheckConfig | None = None
    bakeSeconds: int = 0
    keepVersions: int = 0  # after success: rollout_core.versions; 0 = delete nothing
    approval: ApprovalPolicy | None = None
    # How the function is invoked (rollout_core.traffic), and what a bypass does: "fail"
    # refused it in Prepare, "warn" rolls out and lists them. Empty: not read (noop, skip).
    bypass: Literal["fail", "warn"] = "fail"
    traffic: list[FunctionTraffic] = unless_set([])
    lock: LockRef | None = None
    notes: list[str] = Field(default_factory=list)
    rolledOutBy: str | None = None  # duplicate: the execution already rolling this version out
    movedWithoutRollout: UnrolledMove | None = unless_set()  # a noop no rollout explains
    # previouslyRolledBack: the endings that rolled the target (a release: its members'
    # targets) back on the alias; rollout: the ones rolled out again (a success forgets them)
    rolledBackBefore: list[PriorRollback] = unless_set([])
    # A release of several functions (rollout_core.release); empty for one function. The
    # fields above name the first member, whose lock item is the release's control channel.
    functions: list[Member] = Field(default_factory=list)
    # What the telemetry starts from (rollout_core.telemetry): where the stable and target
    # versions log, and the alarms' states as Prepare read them.
    logDestinations: list[LogDestination] = unless_set([])
    alarmStates: list[AlarmReading] = unless_set([])
    pipeline: PipelineRef | None = unless_set()  # a target of a pipeline: which, where

    def rollout_ready(self) -> RolloutPlan:
        """The plan with the fields a rollout needs, checked once instead of everywhere."""
        return RolloutPlan.model_validate(self.model_dump())

    def log_destination(self, version: str) -> LogDestination:
        """Where `version` of the plan's (or member's) function logs: as Prepare read it,
        else Lambda's default group (a plan from before Prepare recorded it)."""
        found = next((d for d in self.logDestinations if d.version == version), None)
        return found or LogDestination(version=version, logGroup=f"/aws/lambda/{self.functionName}")


class RolloutPlan(Plan):
    functionName: str
    functionArn: str
    alias: str
    aliasArn: str
    stableVersion: str
    targetVersion: str
    strategy: StrategyRef
    health: HealthPolicy


# -- each health check's result (progress.lastCheck) ----------------------------------------


class VersionCounts(Document):
    """One version's invocations and errors in the check's window: the metric gate's read of
    the AWS/Lambda metrics with ExecutedVersion bound to the version."""

    version: str
    invocations: int = 0
    errors: int = 0
    errorRatePercent: float | None = None  # None: no invocations

    @property
    def rate(self) -> float:
        return self.errorRatePercent or 0.0


class LogCounts(Document):
    """One version's invocations and failures counted in its own log streams."""

    version: str
    invocations: int = 0
    failures: int = 0
    errorRatePercent: float | None = None
    eventsRead: int = 0  # polled: log events read; pushed: none (the counts were read)
    capped: bool = False  # the read stopped at its cap (health/logs.py)

    @property
    def rate(self) -> float:
        return self.errorRatePercent or 0.0


class LogsSummary(Document):
    """What the logs signal read (`logs`); no counts when it is off or could not read."""

    enabled: bool = True
    # how the new version's invocations were counted: "push", the telemetry its log group's
    # subscription filter feeds; "poll", FilterLogEvents within the account's shared budget
    source: Literal["push", "poll"] | None = unless_set()
    newVersion: LogCounts | None = unless_set()
    stableVersion: LogCounts | None = unless_set()


# Did the new version serve any invocation in the check's window (health/evidence.py)?
# "none": no evidence either way, never shown as healthy.
Evidence = Literal["seen", "low", "none"]  # health/evidence.py

# A check's result keeps the numbers of a signal it doesn't declare a field for, so a new
# signal is one module and one entry in health.judge.signals(); a reader types what it shows.
_SIGNAL_NUMBERS = ConfigDict(extra="allow")


class FunctionCheck(Document):
    """One function's row of a release's check (`lastCheck.functions`): its new version
    judged against its own stable version, by each signal that reads per function."""

    model_config = _SIGNAL_NUMBERS

    functionName: str
    alias: str
    healthy: bool = True
    reasons: list[str] = Field(default_factory=list)
    newVersion: VersionCounts | None = None
    stableVersion: VersionCounts | None = None
    logs: LogsSummary | None = unless_set()
    evidence: Evidence | None = unless_set()


class CheckResult(Document):
    """One health check (`progress.lastCheck`; a failed one is the HealthCheckFailed error's
    details). A single function's numbers are at the top level; a release has a row per
    function in `functions`, and its first function's numbers at the top as well."""

    model_config = _SIGNAL_NUMBERS

    at: AwareDatetime | None = None
    since: AwareDatetime | None = None  # the window's start: the first traffic shift
    healthy: bool
    alarms: dict[str, str] = Field(default_factory=dict)  # name → state (MISSING: deleted)
    newVersion: VersionCounts | None = None
    stableVersion: VersionCounts | None = None
    logs: LogsSummary | None = unless_set()
    evidence: Evidence | None = unless_set()  # the first function's (a release: each row's)
    notes: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)  # why unhealthy; each names its signal
    # What the check could not read in time, each naming its signal, API and error
    # ("metrics: GetMetricData throttled (Throttling)"); the check judged the rest.
    unread: list[str] = unless_set([])
    # Checks in a row, this one included, that read no signal at all (rollout_core.blind)
    blindChecks: int | None = unless_set()
    wokenBy: str | None = unless_set()  # the evidence that woke the check before its time
    # Where the rollout stood when checked (older runs: only in a failed check's details).
    phase: Phase | None = None
    percentage: int | float | None = None
    functions: list[FunctionCheck] = unless_set([])  # a release: one row per function

    def function(self, name: str, alias: str) -> FunctionCheck | None:
        """This function's row of a release's check, if it has one."""
        return next(
            (row for row in self.functions if (row.functionName, row.alias) == (name, alias)),
            None,
        )


# -- operator controls: the hold, the last control ------------------------------------------


class Pause(Document):
    """`rollout pause`: the weight is held until resume, promote or abort."""

    kind: Literal["pause"] = "pause"
    since: AwareDatetime
    by: str


class ApprovalGate(Document):
    """An approval gate: held until approve, reject or the deadline (then `onTimeout`)."""

    kind: Literal["approval"] = "approval"
    before: str  # "the next step", "promote" or "finishing"
    since: AwareDatetime
    deadline: AwareDatetime
    onTimeout: Literal["rollback", "proceed"]
    approve: str  # the commands that answer it
    reject: str
    notified: dict[str, bool | None] | bool = False  # once announced: {sns, eventBridge}


class NoSignal(Document):
    """No health signal read in BLIND_CHECKS checks in a row (rollout_core.blind): the
    weight is held, never rolled back, until resume, promote or abort."""

    kind: Literal["no-signal"] = "no-signal"
    since: AwareDatetime
    checks: int  # checks in a row that read nothing
    unread: list[str] = Field(default_factory=list)  # the last check's, each naming its API
    notified: dict[str, bool | None] | bool = False  # once announced: {sns, eventBridge}


class Inconclusive(Document):
    """A step whose last check was inconclusive after every extension it may have (or at
    once with `health.inconclusive: "pause"`): the weight is held, never promoted on no
    evidence, until resume, promote or abort (health/inconclusive.py)."""

    kind: Literal["inconclusive"] = "inconclusive"
    since: AwareDatetime
    extensions: int  # the step's extensions before it held
    why: list[str] = Field(default_factory=list)  # the inconclusive checks, with their numbers
    notified: dict[str, bool | None] | bool = False  # once announced: {sns, eventBridge}


# Why the rollout holds its weight (`progress.hold`); Step done? and Bake? read it.
Hold = Annotated[Pause | ApprovalGate | NoSignal | Inconclusive, Field(discriminator="kind")]


class ControlRecord(Document):
    """A control the workflow acted on (`progress.lastControl`), or the one that ended the
    rollout (the details of RolloutAborted and ApprovalTimedOut)."""

    action: str  # abort, promote, promote-full, pause, resume, approve, reject, approval-timeout
    reason: str
    by: str
    at: str  # as its sender wrote it: it tells one control from the next
    appliedAt: AwareDatetime | None = None
    state: str | None = None  # the state that acted on it
    # "applied", "ignored: …" (it raced a change of state), or the error that ended the run
    result: str = "applied"


# -- how a wait for the next check ended (`$.wake`) ---------------------------------------


class WaitEnd(Document):
    """How Wait for next check (or Wait during bake) ended: woken by evidence (the
    telemetry's SendTaskSuccess output), or the clock (its Catch of States.Timeout, or of
    an error of the wait's own Lambda, which writes {Error, Cause} here)."""

    how: Literal["evidence", "clock"] = "clock"
    reason: str | None = None  # the evidence, for people: "alarm orders-errors is in ALARM"
    waitedSeconds: int | None = None  # woken: how long the wait lasted
    error: str | None = unless_set()  # the clock after an error of the wait's Lambda

    @model_validator(mode="before")
    @classmethod
    def _caught(cls, data: Any) -> Any:
        if isinstance(data, dict) and "Error" in data:
            error = data["Error"]
            return {"how": "clock", "error": None if error == "States.Timeout" else error}
        return data


# -- the cursor ---------------------------------------------------------------------------


class Progress(Document):
    phase: Phase = "pending"
    stepIndex: int = -1
    stepCount: int = 0
    percentage: int | float = 0
    weight: float = 0
    stepStartedAt: str | None = None
    stepWaitSeconds: int = 0
    waitedSeconds: int = 0
    nextWaitSeconds: int = 0
    stepComplete: bool = False
    hasNextStep: bool = False
    checks: int = 0
    # Check intervals added to this step because its checks were inconclusive
    # (health/inconclusive.py); stepWaitSeconds includes them.
    extensions: int = 0
    lastCheck: CheckResult | None = None
    rearmedAlarms: list[str] = Field(default_factory=list)  # ignored alarms that left ALARM
    # Operator controls (rollout_core.controls): why the rollout holds its weight now
    # (a pause or an approval gate, or None), and the last control it acted on.
    hold: Hold | None = None
    lastControl: ControlRecord | None = None


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
