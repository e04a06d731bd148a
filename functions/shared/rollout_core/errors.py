"""The named errors of the workflow contract.

Lambda reports an uncaught exception's class name as the error type, and Step Functions
uses it as the Error that Catch matches, so these names are the contract (docs/workflow.md).
"""

from __future__ import annotations

import json
from typing import Any

DETAILS_KEY = "lastCheck"


class RolloutError(Exception):
    """Base of the named errors; the message is one human line with the details."""


class InvalidRolloutRequest(RolloutError):
    """Bad input or a target that can't be rolled out; nothing was touched."""


class RolloutInProgress(RolloutError):
    """Another execution holds the function+alias lock."""

    key: str | None = None  # the lock's key, when known


class AlarmsAlreadyFiring(RolloutError):
    """Named alarms are in ALARM before the rollout starts and were not ignored."""


class PreTrafficCheckFailed(RolloutError):
    """The new version failed its check before receiving any traffic."""


class PostTrafficCheckFailed(RolloutError):
    """The new version failed its check at 100 %."""


class HealthCheckFailed(RolloutError):
    """An alarm fired, the new version's error rate is too high, or traffic too low.

    The message is the human line; with `check` (the failing check, shaped like
    `progress.lastCheck`) a second line carries it as JSON, `{"lastCheck": {...}}`, so the
    Cause Step Functions records holds the check's numbers as data (split_details).
    """

    def __init__(self, message: str, check: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message, self.check = message, check

    def __str__(self) -> str:
        if self.check is None:
            return self.message
        return f"{self.message}\n{json.dumps({DETAILS_KEY: self.check}, default=str)}"


def split_details(message: str) -> tuple[str, dict[str, Any] | None]:
    """(human line, the failing check) of a HealthCheckFailed message; others unchanged."""
    line, _, rest = message.partition("\n")
    try:
        details = json.loads(rest) if rest else None
    except json.JSONDecodeError:
        details = None
    if isinstance(details, dict) and isinstance(details.get(DETAILS_KEY), dict):
        return line, details[DETAILS_KEY]
    return message, None


class AliasDrift(RolloutError):
    """The alias is not where this rollout left it; it is not overwritten."""


class ReleaseDrift(RolloutError):
    """An alias of a release was changed by someone else: unlike a single rollout's
    AliasDrift (left as they set it), the release's other aliases are rolled back."""


class RollbackFailed(RolloutError):
    """The alias could not be restored and verified, or it drifted before the rollback."""


class RolloutAborted(RolloutError):
    """An operator aborted the rollout, or rejected it at an approval gate."""


class ApprovalTimedOut(RolloutError):
    """Nobody answered an approval gate in time and its onTimeout is rollback."""
