"""One execution as the console keeps it: read once, then only what is new.

A running execution's history grows at the end, so each refresh asks GetExecutionHistory
for the newest events first (`reverseOrder`) and stops at the first page that reaches an
event already read: one call per refresh however long the history. Events are kept by their
id, so a server that answers oldest-first still gives the right history. DescribeExecution
is read when the execution is first seen and once more when its history ends; an execution
that has ended never changes again, so it is never read again. The Run is the views' own
model (rollout.view.history.build_run), rebuilt only when something new was read; a
pipeline of waves is read the same way into its own model (rollout.view.pipeline).
"""

from __future__ import annotations

import threading
from typing import Any

from rollout.console.budget import Budget, OutOfBudget
from rollout.view.history import TERMINAL_EVENTS, build_run
from rollout.view.pipeline import PipelineRun, build_pipeline, is_pipeline
from rollout.view.run import Run

PAGE = 100  # GetExecutionHistory's default page size


class TrackedExecution:
    def __init__(self, arn: str) -> None:
        self.arn = arn
        self.lock = threading.Lock()  # one refresh at a time
        self.run: Run | None = None
        self.pipeline: PipelineRun | None = None  # when it is a pipeline's execution
        self.problem: str | None = None  # why the last refresh failed, while it does
        self.wants_definition = False  # a page shows its graph
        self._describe: dict[str, Any] | None = None
        self._events: dict[int, dict[str, Any]] = {}
        self._machine: dict[str, Any] | None = None

    @property
    def ended(self) -> bool:
        """Its history and its description both say it ended: nothing will change."""
        described = self._describe is not None and self._describe["status"] != "RUNNING"
        return described and self._history_ended()

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[-1]

    @property
    def needs_reading(self) -> bool:
        """Never read, running, or its page wants the graph it hasn't read yet."""
        if not self.read or not self.ended:
            return True
        return self.wants_definition and self._machine is None and not self.is_pipeline

    @property
    def is_pipeline(self) -> bool:
        return is_pipeline(self.arn)

    @property
    def read(self) -> bool:
        return self.run is not None or self.pipeline is not None

    @property
    def definition(self) -> dict[str, Any] | None:
        return self.run.definition if self.run is not None else None

    def refresh(self, sfn: Any, budget: Budget) -> bool:
        """Read what is new; True when the run changed. OutOfBudget leaves it as it was
        read so far (consistent: each part is kept only once read whole)."""
        changed = False
        arn = {"executionArn": self.arn}
        if self._describe is None:
            self._describe = _call(budget, "DescribeExecution", sfn.describe_execution, arn)
            changed = True
        if self.wants_definition and self._machine is None and not self.is_pipeline:
            self._machine = _call(
                budget,
                "DescribeStateMachineForExecution",
                sfn.describe_state_machine_for_execution,
                arn,
            )
            changed = True
        if not self.ended:
            changed |= bool(self._new_events(sfn, budget))
            if self._history_ended() and self._describe["status"] == "RUNNING":
                # its end is in the history: read its status, output, error and cause
                self._describe = _call(budget, "DescribeExecution", sfn.describe_execution, arn)
                changed = True
        if changed or not self.read:
            events = [self._events[key] for key in sorted(self._events)]
            if self.is_pipeline:  # its page shows waves and targets, not a graph
                self.pipeline = build_pipeline(self._describe, events)
            else:
                self.run = build_run(self._describe, events, self._machine)
        return changed

    def _history_ended(self) -> bool:
        return any(e["type"] in TERMINAL_EVENTS for e in self._events.values())

    def _new_events(self, sfn: Any, budget: Budget) -> list[dict[str, Any]]:
        """Events not read yet, newest pages first, up to the first page that reaches one
        already read. Kept only once every page is in (a gap would be read as history)."""
        known = max(self._events, default=0)
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            request: dict[str, Any] = {
                "executionArn": self.arn,
                "reverseOrder": True,
                "includeExecutionData": True,
                "maxResults": PAGE,
            }
            if token:
                request["nextToken"] = token
            page = _call(budget, "GetExecutionHistory", sfn.get_execution_history, request)
            events = page.get("events", [])
            fresh = [e for e in events if int(e["id"]) > known]
            found += fresh
            token = page.get("nextToken")
            if not token or len(fresh) < len(events):
                break
        for event in found:
            self._events[int(event["id"])] = event
        return found


def _call(budget: Budget, api: str, method: Any, request: dict[str, Any]) -> Any:
    if not budget.take(api):
        raise OutOfBudget(api)
    return method(**request)
