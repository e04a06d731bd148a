"""The named errors of the workflow contract, and the details they carry.

Lambda reports an uncaught exception's class name as the error type, and Step Functions
uses it as the Error that Catch matches, so these names are the contract (docs/workflow.md;
rollout_core.names lists them). A message is one human line; an error with details
(`ErrorDetails`) carries them as JSON on a second line, so the Cause Step Functions records
holds them as data. `split_details` and `read_cause` are the one parser of both: the
workflow's Roll back, the CLI and the views read an error through them, never its prose.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from .models import CheckResult, ControlRecord, Document, dump
from .results import MemberCheckResult


class ErrorDetails(Document):
    """The data after an error's human line; one key per kind of error that has any."""

    lastCheck: CheckResult | None = None  # HealthCheckFailed: the failing check
    control: ControlRecord | None = None  # RolloutAborted, ApprovalTimedOut: who, why, where
    # PreTrafficCheckFailed, PostTrafficCheckFailed: the failing function's check
    trafficCheck: MemberCheckResult | None = None

    def present(self) -> dict[str, Any]:
        return {name: dump(value) for name, value in self if value is not None}


class RolloutError(Exception):
    """Base of the named errors: the human line, then the details (if any) as JSON."""

    def __init__(self, message: str, details: ErrorDetails | None = None) -> None:
        super().__init__(message)
        self.message, self.details = message, details

    def __str__(self) -> str:
        present = self.details.present() if self.details is not None else {}
        return f"{self.message}\n{json.dumps(present)}" if present else self.message


def split_details(message: str) -> tuple[str, ErrorDetails | None]:
    """(human line, typed details) of an error's message; without details (an error that
    has none, an older run's) the message is returned whole."""
    line, _, rest = message.partition("\n")
    if rest:
        try:
            details = ErrorDetails.model_validate_json(rest)
        except ValidationError:
            details = None
        if details is not None and details.present():
            return line, details
    return message, None


def read_cause(cause: str | None) -> tuple[str, ErrorDetails | None]:
    """A Cause as Step Functions records it: a task's error is Lambda's JSON
    (`errorMessage`, `errorType`, `stackTrace`), a Fail state's is text. Returns the first
    line people read and the error's details, if it carries any."""
    text = cause or ""
    try:
        decoded = json.loads(text)
    except (TypeError, ValueError):
        decoded = None
    if isinstance(decoded, dict) and "errorMessage" in decoded:
        text = str(decoded["errorMessage"])
    message, details = split_details(text.strip())
    lines = message.strip().splitlines()
    return (lines[0] if lines else ""), details


class InvalidRolloutRequest(RolloutError):
    """Bad input or a target that can't be rolled out; nothing was touched."""


class RolloutInProgress(RolloutError):
    """Another execution holds the function+alias lock."""

    key: str | None = None  # the lock's key, when known


class AlarmsAlreadyFiring(RolloutError):
    """Named alarms are in ALARM before the rollout starts and were not ignored."""


class _TrafficCheckFailure(RolloutError):
    """The details are the failing function's check (`{"trafficCheck": {...}}`, shaped like
    a release's `$.checks.<phase>.functions[]`): its steps up to the one that failed."""

    def __init__(self, message: str, check: MemberCheckResult | None = None) -> None:
        super().__init__(message, ErrorDetails(trafficCheck=check) if check else None)

    @property
    def check(self) -> MemberCheckResult | None:
        return self.details.trafficCheck if self.details else None


class PreTrafficCheckFailed(_TrafficCheckFailure):
    """The new version failed its check before receiving any traffic."""


class PostTrafficCheckFailed(_TrafficCheckFailure):
    """The new version failed its check at 100 %."""


class HealthCheckFailed(RolloutError):
    """An alarm fired, the new version's error rate is too high, or traffic too low; the
    details are the failing check (`{"lastCheck": {...}}`, shaped like progress.lastCheck)."""

    def __init__(self, message: str, check: CheckResult | None = None) -> None:
        super().__init__(message, ErrorDetails(lastCheck=check) if check else None)

    @property
    def check(self) -> CheckResult | None:
        return self.details.lastCheck if self.details else None


class AliasDrift(RolloutError):
    """The alias is not where this rollout left it; it is not overwritten."""


class ReleaseDrift(RolloutError):
    """An alias of a release was changed by someone else: unlike a single rollout's
    AliasDrift (left as they set it), the release's other aliases are rolled back."""


class RollbackFailed(RolloutError):
    """The alias could not be restored and verified, or it drifted before the rollback."""


class _OperatorStop(RolloutError):
    """The details are the control that ended the rollout (`{"control": {...}}`, shaped like
    progress.lastControl): abort, reject or approval-timeout, by whom, why, in which state."""

    def __init__(self, message: str, control: ControlRecord | None = None) -> None:
        super().__init__(message, ErrorDetails(control=control) if control else None)

    @property
    def control(self) -> ControlRecord | None:
        return self.details.control if self.details else None


class RolloutAborted(_OperatorStop):
    """An operator aborted the rollout, or rejected it at an approval gate."""


class ApprovalTimedOut(_OperatorStop):
    """Nobody answered an approval gate in time and its onTimeout is rollback."""
