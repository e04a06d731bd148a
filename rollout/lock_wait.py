"""A control sent while its rollout is still in Prepare waits for Prepare to take the lock.

A control is written to the rollout's lock item, which Prepare creates; `rollout start`
returns when StartExecution answers, before that. So a control sent right after `start`
(a CI script's next line) would find no rollout. Here the CLI waits, bounded, instead:

- `lock_of`: by execution, the lock key Prepare's plan names, once Prepare has exited;
- `held_after_prepare`: by function and alias, the lock item once a running execution
  started for them and still in Prepare has taken it (`in_prepare` finds those);
- `Patience`: the deadline and poll interval of both waits, and the line they print.

Every wait polls once a second: one DescribeExecution and one GetExecutionHistory page a
poll, against quotas that refill 10-20 a second. Finding the rollouts in Prepare costs one
ListExecutions page per 100 running executions and one DescribeExecution each, once.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from rollout_core import eventbridge
from rollout_core.channel import Item
from rollout_core.errors import InvalidRolloutRequest
from rollout_core.lock import function_key
from rollout_core.models import Plan
from rollout_core.names import State
from rollout_core.request import ReleaseRequest, parse_request

from rollout.aws import CliError, error_code
from rollout.exits import Exit

# Prepare's TimeoutSeconds (statemachine/rollout.asl.json; its Lambda times out at 30 s), and
# the lock is the last thing it does: one not done by then is retrying after a failure, or
# failing, and the caller is better told to try again than kept for the retries' worst case.
LOCK_WAIT_SECONDS = 60.0
POLL_SECONDS = 1.0

T = TypeVar("T")


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Patience:
    """How long and how often a control waits for Prepare, and where it says it waits."""

    seconds: float = LOCK_WAIT_SECONDS
    every: float = POLL_SECONDS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    say: Callable[[str], None] = _to_stderr

    def wait(self, check: Callable[[], T | None], notice: str) -> T | None:
        """`check()` until it answers (not None), or None once the deadline passed; says
        `notice` once if it has to wait at all."""
        found = check()
        if found is not None:
            return found
        self.say(notice)
        deadline = self.clock() + self.seconds
        while self.clock() < deadline:
            self.sleep(self.every)
            found = check()
            if found is not None:
                return found
        return None

    def too_late(self, what: str) -> CliError:
        return CliError(f"{what} within {self.seconds:g} s; nothing changed; try again")


@dataclass(frozen=True)
class Prepared:
    """Prepare's exit: the lock its plan names (None: it took none) and what it decided."""

    lock: str | None
    decision: str

    @classmethod
    def of(cls, output: str | None) -> Prepared:
        document = json.loads(output or "{}")
        if not isinstance(document.get("plan"), dict):  # a refusal, caught: {Error, Cause}
            return cls(None, f"refused: {document.get('Error', 'no plan')}")
        plan = Plan.model_validate(document["plan"])
        decision = f"{plan.action}: {plan.reason}" if plan.reason else plan.action
        return cls(plan.lock.key if plan.lock else None, decision)


def execution_status(sfn: Any, arn: str) -> str:
    """The execution's status; exit 2 when there is no such execution (nothing to control)."""
    try:
        return str(sfn.describe_execution(executionArn=arn)["status"])
    except ClientError as error:
        if error_code(error) == "ExecutionDoesNotExist":
            raise CliError(f"no execution {arn}; nothing changed", Exit.INVALID) from None
        raise


def prepared(sfn: Any, arn: str) -> Prepared | None:
    """Prepare's exit, from the start of the history; None while Prepare still runs."""
    for event in _history(sfn, arn):
        exited = event.get("stateExitedEventDetails") or {}
        if exited.get("name") == State.PREPARE:
            return Prepared.of(exited.get("output"))
        entered = (event.get("stateEnteredEventDetails") or {}).get("name")
        if entered not in (None, State.PREPARE):  # moved on without an exit: it failed
            return Prepared(None, f"refused: went on to {entered}")
    return None


def _history(sfn: Any, arn: str) -> Iterator[dict[str, Any]]:
    """The history's events, oldest first, a page at a time: Prepare's exit is on the
    first page, so the pages after it are never read."""
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=arn, includeExecutionData=True
    )
    for page in pages:
        yield from page["events"]


def lock_of(sfn: Any, arn: str, patience: Patience) -> str:
    """The lock key Prepare's plan names, waiting while the execution runs and Prepare
    hasn't exited. Exit 2 when it has ended or Prepare took no lock; exit 1 when Prepare
    hasn't exited by the deadline."""
    found = patience.wait(lambda: _settled(sfn, arn), f"waiting for {arn} to take its lock…")
    if found is None:
        raise patience.too_late(f"{arn} took no lock (still in Prepare)")
    if found.lock is None:
        raise CliError(f"{arn} took no lock ({found.decision}); nothing changed", Exit.INVALID)
    return found.lock


def _settled(sfn: Any, arn: str) -> Prepared | None:
    status = execution_status(sfn, arn)
    if status != "RUNNING":
        raise CliError(f"{arn} has ended ({status}); nothing changed", Exit.INVALID)
    return prepared(sfn, arn)


def held_after_prepare(
    sfn: Any,
    machine: str,
    target: tuple[str, str],
    read: Callable[[], Item | None],
    patience: Patience,
) -> Item | None:
    """The lock item of `target` (function, alias), read by `read`, once a running execution
    of `machine` started for it and still in Prepare has taken it; None when there is no
    such execution. One: follow it, so its end or refusal is said at once. Several: only one
    gets the lock, so wait for the item and take whoever holds it."""
    found = in_prepare(sfn, machine, target)
    if not found:
        return None
    if len(found) == 1:
        lock_of(sfn, found[0], patience)
        return read()  # None: it took another alias's lock (a PublishVersion's, by its tags)
    function, alias = target
    notice = f"waiting for one of {len(found)} rollouts of {function}:{alias} to take its lock…"
    item = patience.wait(read, notice)
    if item is None:
        raise patience.too_late(f"none of {', '.join(found)} took the lock")
    return item


def in_prepare(sfn: Any, machine: str, target: tuple[str, str]) -> list[str]:
    """The running executions of `machine` started for `target` (function, alias) whose
    Prepare hasn't exited: the ones that may still take its lock."""
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=machine, statusFilter="RUNNING"
    )
    running = [summary["executionArn"] for page in pages for summary in page["executions"]]
    return [
        arn
        for arn in running
        if _started_for(sfn.describe_execution(executionArn=arn), target)
        and prepared(sfn, arn) is None
    ]


def _started_for(described: dict[str, Any], target: tuple[str, str]) -> bool:
    function, alias = target
    return any(
        name == function and named in (None, alias)
        for name, named in targets(json.loads(described.get("input") or "null"))
    )


def targets(document: Any) -> list[tuple[str, str | None]]:
    """(function, alias) of each lock Prepare would take for this input, parsed as Prepare
    parses it: a release's entries, a rollout's own, or a PublishVersion event's function
    (its alias, None here, is in its tags). [] for input Prepare refuses or that takes no
    lock here (a pipeline of waves)."""
    try:
        if eventbridge.is_publish_event(document):
            return [(function_key(eventbridge.published(document)[0]), None)]
        request = parse_request(document)
    except InvalidRolloutRequest:
        return []
    entries = request.functions if isinstance(request, ReleaseRequest) else [request]
    return [(function_key(entry.functionName), entry.alias) for entry in entries]
