"""An operator acting on running rollouts, as `rollout abort|promote|…` does: the same
`send` (one conditional UpdateItem of the lock item), the caller from STS."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rollout_core.channel import Control

from rollout.commands.control import caller, send
from tests.clients import shared_client
from tests.workflow.conftest import ALIAS, Finished, SampleFunction, Workflow, deadline_poll

REASON = "workflow test"


@dataclass
class Sent:
    action: str
    at: float  # time.monotonic() when the control was written
    by: str


class Operator:
    def __init__(self, cloud: Any, workflow: Workflow) -> None:
        self.workflow = workflow
        self.ddb = shared_client(cloud, "dynamodb")
        self.by = caller(shared_client(cloud, "sts"))
        self.sent: list[Sent] = []

    def send(self, function: SampleFunction, arn: str, action: str, reason: str = REASON) -> None:
        """Raises CliError (exit code 2) when the control doesn't apply."""
        control = Control.new(action, reason, self.by)
        send(self.ddb, self.workflow.table, f"{function.name}:{ALIAS}", arn, control)
        self.sent.append(Sent(action, time.monotonic(), self.by))

    def when(self, function: SampleFunction, what: str, **expected: str) -> dict[str, Any]:
        """The lock item once its attributes (state, phase) have the `expected` values."""

        def matches() -> dict[str, Any] | None:
            item = self.workflow.lock(function.name)
            if item and all(item.get(k) == v for k, v in expected.items()):
                return item
            return None

        found: dict[str, Any] = deadline_poll(f"{function.name} {what}", matches)
        return found


def assert_rolled_back_by_operator(
    function: SampleFunction, finished: Finished, workflow: Workflow, error: str, words: str
) -> None:
    """Ended through Roll back: FAILED in Rolled back with `error`, the Cause naming the
    reason and the caller; the alias on the stable version with no routing; no lock."""
    assert finished.status == "FAILED", (finished.error, finished.cause)
    assert finished.error == error, finished.cause
    assert finished.cause and words in finished.cause, finished.cause
    assert finished.states_entered()[-3:] == ["Roll back", "Notify rollback", "Rolled back"]
    assert function.alias() == (function.stable, {})
    assert workflow.lock(function.name) is None
