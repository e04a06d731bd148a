"""A pipeline's input: the waves, what a failure does, the blockers and the wave gates.

A console / StartExecution input with `waves` is a pipeline (README, "Waves"). Its own keys
are `waves`, `onFailure`, `blockers`, `dryRun` and an `approval` whose `before` is
`each-wave`; every other key is the rollout each target runs (a single function, or a
release with `functions`), validated as any rollout input (rollout_core.validation).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from ..errors import InvalidRolloutRequest
from ..request import AlarmName, Flag, Integer, describe, printable

PIPELINE_KEYS = ("waves", "onFailure", "blockers", "dryRun")
EACH_WAVE = "each-wave"
MAX_WAVES = 10
MAX_TARGETS_PER_WAVE = 20
MAX_TARGETS = 50
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DEFAULT_BLOCKED_TIMEOUT_SECONDS = 86400  # a day (README, "Blockers")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$|^24:00$")


class _Strict(BaseModel):
    # Built on first use, as rollout_core.models are: the rollout's Prepare imports this
    # module for the rare input with `waves`; built at import, these models added ~40 ms
    # to every Prepare cold start.
    model_config = ConfigDict(extra="forbid", defer_build=True)


Region = Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$", max_length=30)]
Account = Annotated[str, Field(pattern=r"^\d{12}$")]


def _account_text(value: Any) -> Any:
    """An account ID is text: a number would lose its leading zeros."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError("an account ID is a string of 12 digits (a number loses leading zeros)")
    return value


class TargetSpec(_Strict):
    """One account and Region where the rollout runs."""

    region: Region
    account: Annotated[Account, BeforeValidator(_account_text)]

    @property
    def key(self) -> tuple[str, str]:
        return (self.account, self.region)


WaveName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(printable)]


class WaveSpec(_Strict):
    name: WaveName
    targets: list[TargetSpec] = Field(min_length=1, max_length=MAX_TARGETS_PER_WAVE)
    bakeSeconds: Integer = Field(default=0, ge=0, le=86400)  # scaled by timeScale


class AlarmRef(_Strict):
    """A blocker alarm in another account or Region (a plain name: the pipeline's own)."""

    alarmName: AlarmName
    region: Region | None = None
    account: Annotated[Account | None, BeforeValidator(_account_text)] = None


class WindowSpec(_Strict):
    """Waves may start on these days between `start` and `end` (local time of `timeZone`);
    an `end` before `start` runs past midnight. No days: never (a freeze)."""

    days: list[Literal["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]]
    start: str = "00:00"
    end: str = "24:00"
    timeZone: str = "UTC"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"{value!r} is not a time of day HH:MM or HH:MM:SS (00:00-24:00)")
        return value

    @field_validator("timeZone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
        return value

    @field_validator("days")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("days repeat")
        return value


class BlockersSpec(_Strict):
    alarms: list[AlarmName | AlarmRef] = Field(default_factory=list, max_length=10)
    windows: list[WindowSpec] = Field(default_factory=list, max_length=10)
    # how long a wave may be held by blockers before the pipeline gives up (scaled)
    timeoutSeconds: Integer = Field(default=DEFAULT_BLOCKED_TIMEOUT_SECONDS, ge=60, le=604800)


class WaveApprovalSpec(_Strict):
    """`rollout approve` before each wave starts."""

    before: Literal["each-wave"]
    timeoutSeconds: Integer = Field(default=3600, ge=60, le=86400)
    onTimeout: Literal["rollback", "proceed"] = "rollback"


class PipelineRequest(_Strict):
    waves: list[WaveSpec] = Field(min_length=1, max_length=MAX_WAVES)
    onFailure: Literal["rollback-all", "stop"] = "rollback-all"
    blockers: BlockersSpec = Field(default_factory=BlockersSpec)
    approval: WaveApprovalSpec | None = None
    dryRun: Flag = False

    @field_validator("waves")
    @classmethod
    def _distinct(cls, value: list[WaveSpec]) -> list[WaveSpec]:
        names = [wave.name for wave in value]
        if len(set(names)) != len(names):
            raise ValueError("wave names repeat")
        seen: set[tuple[str, str]] = set()
        for index, wave in enumerate(value):
            for target in wave.targets:
                if target.key in seen:
                    raise ValueError(
                        f"{index} ({wave.name}): {target.region} in {target.account} is a "
                        "target of an earlier wave or twice in this one"
                    )
                seen.add(target.key)
        if len(seen) > MAX_TARGETS:
            raise ValueError(f"{len(seen)} targets; at most {MAX_TARGETS} in one pipeline")
        return value


def is_pipeline(document: Any) -> bool:
    return isinstance(document, dict) and "waves" in document


def split(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the pipeline's keys, the rollout every target runs): an `approval` before each wave
    is the pipeline's, any other `approval` the rollout's."""
    approval = document.get("approval")
    own = set(PIPELINE_KEYS)
    if isinstance(approval, dict) and approval.get("before") == EACH_WAVE:
        own.add("approval")
    return (
        {key: value for key, value in document.items() if key in own},
        {key: value for key, value in document.items() if key not in own},
    )


def parse(document: dict[str, Any]) -> PipelineRequest:
    """The pipeline's own keys, checked; InvalidRolloutRequest naming each bad field."""
    if "pipeline" in document:
        raise InvalidRolloutRequest("pipeline: set by a pipeline for its targets, not by input")
    own, _ = split(document)
    try:
        return PipelineRequest.model_validate(own)
    except ValidationError as error:
        raise InvalidRolloutRequest(describe(error)) from None
