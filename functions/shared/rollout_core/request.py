"""The console / StartExecution input: camelCase, unknown keys rejected, human errors."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    StrictBool,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import InvalidRolloutRequest
from .strategies import StrategySpec

_CHECK_TAGS = {"check", "switch"}
_STRATEGY_TAGS = ("preset", "canary", "linear", "exponential", "steps")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


# JSON's own types, as docs/workflow.md gives them: no "yes" for true, no true for 1, no
# "5" for 5 (pydantic's lax mode would convert each).
Flag = StrictBool
Integer = Annotated[int, Strict()]
Number = Annotated[float, Strict()]  # an integer is a number too


# The plan carries the check payloads through every state, and a state's data is limited
# to 256 KB: a bigger payload would fail Prepare after it took the lock.
MAX_CHECK_JSON_BYTES = 32 * 1024


class CheckSpec(_Strict):
    """Invoke the new version with `payload`; optionally match `expect`; optional hook."""

    payload: Any = None
    expect: Any = None
    hookFunction: str | None = Field(default=None, min_length=1, max_length=170)

    @model_validator(mode="after")
    def _small(self) -> CheckSpec:
        size = len(json.dumps([self.payload, self.expect]).encode())
        if size > MAX_CHECK_JSON_BYTES:
            raise ValueError(
                f"payload and expect take {size} bytes of JSON; at most "
                f"{MAX_CHECK_JSON_BYTES} (the plan carries them through every state)"
            )
        return self


def printable(name: str) -> str:
    """Names end up in messages, logs and the console: no control or format characters."""
    bad = sorted({f"U+{ord(c):04X}" for c in name if unicodedata.category(c) in ("Cc", "Cf")})
    if bad:
        raise ValueError(f"contains control characters ({', '.join(bad)})")
    return name


class LatencySpec(_Strict):
    """The canary judge's latency test (health/latency.py)."""

    maxIncreasePercent: Number = Field(default=25, gt=0, le=1000)
    confidence: Number = Field(default=0.98, ge=0.8, le=0.9999)


def _latency_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "switch"
    return "test" if isinstance(value, dict | LatencySpec) else None


# false turns the latency test off; true (or leaving it out) keeps the defaults
LatencyOption = Annotated[
    Annotated[LatencySpec, Tag("test")] | Annotated[bool, Tag("switch")],
    Discriminator(
        _latency_kind,
        custom_error_type="latency",
        custom_error_message='an object {"maxIncreasePercent", "confidence"}, true or false',
    ),
]


# a user metric's name, in reasons and ids; a metric-math id: GetMetricData's own syntax
METRIC_NAME = r"^[A-Za-z0-9_.-]{1,64}$"
METRIC_ID = r"^[a-z][a-zA-Z0-9_]{0,63}$"
MAX_USER_METRICS = 10


class MetricStatSpec(_Strict):
    """One CloudWatch metric and its statistic; dimension values may say `${function}`,
    `${alias}` and `${version}` (health/user_metrics.py fills them per version)."""

    namespace: str = Field(min_length=1, max_length=255)
    metricName: str = Field(min_length=1, max_length=255)
    dimensions: dict[str, str] = Field(default_factory=dict, max_length=30)
    stat: str = Field(default="Average", min_length=1, max_length=20)


class MetricSpec(_Strict):
    """`health.metrics[]`: a metric (`metric`) or a metric-math `expression` over named
    `metrics`, per version, with a `threshold` for the new version, or a comparison with
    the stable version (`maxIncreasePercent`), or both; `dryRun` records, never acts."""

    name: str = Field(pattern=METRIC_NAME)
    metric: MetricStatSpec | None = None
    expression: str | None = Field(default=None, min_length=1, max_length=1024)
    metrics: dict[str, MetricStatSpec] = Field(default_factory=dict, max_length=10)
    threshold: Number | None = None
    maxIncreasePercent: Number | None = Field(default=None, ge=0, le=10_000)
    dryRun: Flag = False

    @model_validator(mode="after")
    def _one_source_and_a_rule(self) -> MetricSpec:
        if (self.metric is None) == (self.expression is None):
            raise ValueError(f"metric {self.name}: give either metric or expression")
        if self.expression is not None and not self.metrics:
            raise ValueError(f"metric {self.name}: an expression needs its metrics")
        if self.metric is not None and self.metrics:
            raise ValueError(f"metric {self.name}: metrics go with an expression")
        bad = [i for i in self.metrics if not re.match(METRIC_ID, i)]
        if bad:
            raise ValueError(f"metric {self.name}: ids must match {METRIC_ID}: {bad[0]}")
        if self.threshold is None and self.maxIncreasePercent is None:
            raise ValueError(f"metric {self.name}: give a threshold or maxIncreasePercent")
        return self


def _unique_names(metrics: list[MetricSpec]) -> list[MetricSpec]:
    names = [m.name for m in metrics]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"metric names must be unique: {repeated[0]}")
    return metrics


class HealthSpec(_Strict):
    errorRatePercent: Number | None = Field(default=None, ge=0, le=100)
    compareToStable: Flag = True
    minInvocations: Integer | None = Field(default=None, ge=0)
    lowTraffic: Literal["pass", "fail"] = "pass"
    logs: Flag = True  # the new version's own log streams as a second, faster signal
    latency: LatencyOption = True
    inconclusive: Literal["extend", "pause", "proceed"] = "extend"
    metrics: Annotated[
        list[MetricSpec], Field(max_length=MAX_USER_METRICS), AfterValidator(_unique_names)
    ] = Field(default_factory=list)


def _check_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "switch"
    return "check" if isinstance(value, dict | CheckSpec) else None


# false turns a check off; true (or leaving it out) keeps the default
CheckOption = Annotated[
    Annotated[CheckSpec, Tag("check")] | Annotated[bool, Tag("switch")],
    Discriminator(
        _check_kind,
        custom_error_type="check",
        custom_error_message='an object {"payload", "expect", "hookFunction"} or false',
    ),
]


AlarmName = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(printable)]


class ApprovalSpec(_Strict):
    """Hold the weight at a gate until someone approves (or the timeout decides)."""

    before: Literal["promote", "each-step"]
    timeoutSeconds: Integer = Field(default=3600, ge=60, le=86400)
    onTimeout: Literal["rollback", "proceed"] = "rollback"


def _version_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class _Target(_Strict):
    """One function and alias to roll, and its own checks (a rollout, or a release entry)."""

    functionName: str = Field(min_length=1, max_length=170)
    alias: str = Field(min_length=1, max_length=128, pattern=r"^[a-zA-Z0-9_-]+$")
    targetVersion: Annotated[str | None, BeforeValidator(_version_text)] = None
    preTraffic: CheckOption = True
    postTraffic: CheckOption = True

    @field_validator("alias")
    @classmethod
    def _not_a_version(cls, value: str) -> str:
        if value.isdigit():
            raise ValueError("an alias name can't be all digits (that is a version)")
        return value

    @field_validator("targetVersion")
    @classmethod
    def _published(cls, value: str | None) -> str | None:
        if value == "$LATEST":
            raise ValueError("$LATEST can't take weighted traffic; publish a version and name it")
        if value is not None and not value.isdigit():
            raise ValueError(f"{value!r} is not a published version number")
        return value


class ReleaseEntry(_Target):
    """One function of a release (rollout_core.release)."""


class PipelineRefSpec(_Strict):
    """Set by a pipeline on each target's rollout (rollout_core.pipeline): which pipeline,
    which wave, which target."""

    executionArn: str = Field(pattern=r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:.+$")
    wave: str = Field(min_length=1, max_length=64)
    waveIndex: Integer = Field(ge=0)
    target: Integer = Field(ge=0)


class _Options(_Strict):
    """What applies to a whole rollout, or to a whole release of several functions."""

    strategy: StrategySpec | None = None
    alarms: list[AlarmName] = Field(default_factory=list, max_length=10)
    ignoreFiringAlarms: Flag = False
    insufficientData: Literal["ignore", "fail"] = "ignore"
    timeScale: Number = Field(default=1, gt=0, le=10)
    checkIntervalSeconds: Integer | None = Field(default=None, ge=1, le=300)
    health: HealthSpec = Field(default_factory=HealthSpec)
    bakeSeconds: Integer = Field(default=0, ge=0, le=86400)
    # published versions kept after a successful rollout (rollout_core.versions); 0 = never
    # delete; None = the deployment's DefaultKeepVersions
    keepVersions: Integer | None = Field(default=None, ge=0, le=10000)
    approval: ApprovalSpec | None = None
    # a source that invokes another qualifier than the alias (rollout_core.traffic): refuse
    # the rollout, or roll out and list it
    bypass: Literal["fail", "warn"] = "fail"
    # roll the target(s) out even though rolled back on the alias before
    # (rollout_core.rolled_back); `rollout start --version N` sends it
    retryRolledBack: Flag = False
    dryRun: Flag = False
    pipeline: PipelineRefSpec | None = None

    @field_validator("alarms")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("alarm names repeat")
        return value


class RolloutRequest(_Target, _Options):
    """One function behind one alias."""


MAX_RELEASE_FUNCTIONS = 10


class ReleaseRequest(_Options):
    """Several functions shifted together and rolled back together (rollout_core.release)."""

    functions: list[ReleaseEntry] = Field(min_length=2, max_length=MAX_RELEASE_FUNCTIONS)

    @field_validator("functions")
    @classmethod
    def _distinct(cls, value: list[ReleaseEntry]) -> list[ReleaseEntry]:
        seen: set[tuple[str, str]] = set()
        for index, entry in enumerate(value):
            key = (entry.functionName.rsplit(":function:", 1)[-1], entry.alias)
            if key in seen:
                raise ValueError(f"entry {index} repeats {key[0]}:{key[1]}")
            seen.add(key)
        return value

    @field_validator("functions")
    @classmethod
    def _small(cls, value: list[ReleaseEntry]) -> list[ReleaseEntry]:
        """The plan carries every entry's checks: they share one rollout's budget."""
        checks = [
            [check.payload, check.expect]
            for entry in value
            for check in (entry.preTraffic, entry.postTraffic)
            if isinstance(check, CheckSpec)
        ]
        size = len(json.dumps(checks).encode())
        if size > MAX_CHECK_JSON_BYTES:
            raise ValueError(
                f"the entries' payload and expect take {size} bytes of JSON together; at most "
                f"{MAX_CHECK_JSON_BYTES} (the plan carries them through every state)"
            )
        return value


def parse_request(data: Any) -> RolloutRequest | ReleaseRequest:
    """Validate console input, raising InvalidRolloutRequest that names each bad field.
    With `functions` it is a release, whose entries name the functions (nothing else may)."""
    if not isinstance(data, dict):
        raise InvalidRolloutRequest("input must be a JSON object")
    model: type[RolloutRequest | ReleaseRequest] = RolloutRequest
    if "functions" in data:
        _no_target_beside_functions(data)
        model = ReleaseRequest
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidRolloutRequest(describe(error)) from None


def _no_target_beside_functions(data: dict[str, Any]) -> None:
    beside = [key for key in _Target.model_fields if key in data]
    if beside:
        raise InvalidRolloutRequest(
            f"{', '.join(beside)}: not allowed beside functions; "
            "name them in each entry of functions"
        )


def describe(error: ValidationError, within: tuple[str, ...] = ()) -> str:
    """Each bad field by its path in the input (`within`: where the model validated sits)."""
    return "; ".join(_line(item, within) for item in error.errors(include_url=False))


def _line(item: Any, within: tuple[str, ...]) -> str:
    where = ".".join(_readable((*within, *item["loc"]))) or "input"
    if item["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if item["type"] == "missing":
        return f"{where}: required"
    return f"{where}: {item['msg'].removeprefix('Value error, ')}"


_UNIONS = {
    "strategy": set(_STRATEGY_TAGS),
    "preTraffic": _CHECK_TAGS,
    "postTraffic": _CHECK_TAGS,
    "latency": {"test", "switch"},
}


def _readable(loc: tuple[Any, ...]) -> list[str]:
    """The field path without the union member tags pydantic inserts after union fields."""
    return [
        str(part)
        for index, part in enumerate(loc)
        if not (index and str(part) in _UNIONS.get(str(loc[index - 1]), ()))
    ]
