"""The console's one reader of Step Functions, shared by every page open.

Pages don't poll AWS: each opens a topic (the list, or one execution) and is sent the
topic's newest snapshot whenever it changes (server.py streams them). One thread reads
what the open topics need, and only that:

- the list: ListExecutions (the newest LIST_SIZE executions) every LIST_EVERY seconds;
- an execution with a page open: what is new in its history every RUN_EVERY seconds;
- a running execution in the list: every ROW_EVERY seconds; one that has ended: once.

So ten tabs on one rollout cost what one does, a rollout that has ended costs nothing
more, and with no page open nothing is read at all. Each read is also held to the
console's share of the API's throttling quota (budget.py). A read that fails keeps what
was read before, and the topic says why (`problem`) until a read succeeds again.

A listed rollout that handed its waves to the pipeline state machine is shown as that
pipeline (one row, its targets as members); the pipeline is read as a listed execution is.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rollout.aws import as_cli_error
from rollout.console import views
from rollout.console.budget import Budget, OutOfBudget
from rollout.console.executions import TrackedExecution
from rollout.view.pipeline import pipeline_in

logger = logging.getLogger(__name__)

LIST = "list"  # the list's topic; every other topic is an execution ARN
LIST_SIZE = 100  # ListExecutions' largest page: the list's window
LIST_EVERY = 2.0
RUN_EVERY = 1.0  # with the page's own delivery, within 2 s of the execution
ROW_EVERY = 2.0
TICK = 0.25  # how often the reader looks for what is due
TICK_BUSY = 0.5  # reading stops for a round after this long, so open pages come round again
KEEP = 500  # executions remembered beyond those listed or open (ended ones, least recent go)


@dataclass(frozen=True)
class Snapshot:
    version: int
    body: bytes  # the topic's JSON


class Live:
    def __init__(
        self,
        sfn: Any,
        state_machine_arn: str,
        budget: Budget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sfn = sfn
        self._machine = state_machine_arn
        self._budget = budget or Budget()
        self._clock = clock
        self._trackers: OrderedDict[str, TrackedExecution] = OrderedDict()
        self._listing: list[dict[str, Any]] | None = None  # ListExecutions, newest first
        self._listing_problem: str | None = None
        self._listed_at = -float("inf")
        self._read_at: dict[str, float] = {}  # ARN → when last refreshed
        self._open: Counter[str] = Counter()  # topic → pages open on it
        self._versions: Counter[str] = Counter()
        self._snapshots: dict[str, Snapshot] = {}
        self._rounds = 0  # reading rounds completed
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="console-reader")

    def start(self) -> Live:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        self._thread.join(timeout=10)

    # -- what pages do ----------------------------------------------------------------

    @contextmanager
    def watching(self, topic: str) -> Iterator[None]:
        """While a page shows `topic`, the reader keeps it fresh."""
        with self._changed:
            self._open[topic] += 1
            if topic != LIST:
                self._tracker(topic).wants_definition = True
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._open[topic] -= 1
                if self._open[topic] <= 0:
                    del self._open[topic]

    def wait(self, topic: str, after: int, timeout: float) -> Snapshot | None:
        """The topic's snapshot once it is newer than version `after`; None if it isn't
        within `timeout` seconds (or the console is stopping)."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._versions[topic] > after or self._stopping.is_set(), timeout
            )
            if self._versions[topic] <= after:
                return None
            return self._snapshot(topic)

    def current(self, topic: str, timeout: float) -> Snapshot | None:
        """The topic as a round that started after this call has read it (a plain GET: no
        page keeps it open, so what was read before may be old); None if not read within
        `timeout` seconds."""
        with self.watching(topic), self._changed:
            after = self._rounds + 1  # the round under way may have passed this topic
            self._changed.wait_for(lambda: self._rounds > after or self._stopping.is_set(), timeout)
            return self._snapshot(topic) if self._versions[topic] > 0 else None

    def poke(self, arn: str) -> None:
        """Read this execution at the next round (a control was just sent to it)."""
        with self._changed:
            self._read_at.pop(arn, None)
            self._changed.notify_all()

    @property
    def open_topics(self) -> int:
        with self._changed:
            return sum(self._open.values())

    # -- the reader -------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.read_due()
            except Exception as error:  # a bug must not stop every page's updates
                logger.exception("reading for the console failed")
                self._set_list_problem(f"the console's reader failed: {error!r}")
            with self._changed:
                self._rounds += 1
                self._changed.notify_all()
                self._changed.wait(TICK)

    def read_due(self) -> None:
        """One round: the list if it is due, then every execution that is, most wanted
        first, for at most TICK_BUSY seconds. The list's page is sent the round's changes
        at once."""
        started = self._clock()
        if self._wanted(LIST) and started - self._listed_at >= LIST_EVERY:
            self._read_list()
        listed_changed = False
        for tracker in self._due(started):
            if self._clock() - started > TICK_BUSY or self._stopping.is_set():
                break
            if self._read(tracker):
                with self._changed:
                    self._bump(tracker.arn)
                    listed_changed |= tracker.arn in self._listed_arns()
        if listed_changed:
            with self._changed:
                self._bump(LIST)

    def _read_list(self) -> None:
        if not self._budget.take("ListExecutions"):
            return
        self._listed_at = self._clock()
        try:
            page = self._sfn.list_executions(stateMachineArn=self._machine, maxResults=LIST_SIZE)
        except (BotoCoreError, ClientError) as error:
            self._set_list_problem(str(as_cli_error(error, "listing the executions")))
            return
        listing = sorted(page.get("executions", []), key=lambda s: s["startDate"], reverse=True)
        with self._changed:
            before = [(s["executionArn"], s["status"]) for s in self._listing or []]
            fresh = [(s["executionArn"], s["status"]) for s in listing]
            self._listing = listing
            changed = before != fresh or self._listing_problem is not None
            self._listing_problem = None
            for summary in listing:
                self._tracker(summary["executionArn"])
            self._forget_old()
            if changed:
                self._bump(LIST)

    def _set_list_problem(self, problem: str) -> None:
        with self._changed:
            if problem != self._listing_problem:
                self._listing_problem = problem
                self._bump(LIST)

    def _due(self, now: float) -> list[TrackedExecution]:
        """Executions to read now: open pages first, then running ones in the list, then
        listed ones never read (newest first)."""
        with self._changed:
            candidates = [(self._trackers[t], RUN_EVERY) for t in self._open if t != LIST]
            if self._wanted(LIST):
                candidates += [(self._trackers[arn], ROW_EVERY) for arn in self._listed_arns()]
            due: dict[str, TrackedExecution] = {}
            for tracker, every in candidates:
                read = self._read_at.get(tracker.arn)
                fresh = read is not None and now - read < every
                if tracker.arn not in due and tracker.needs_reading and not fresh:
                    due[tracker.arn] = tracker
            return list(due.values())

    def _read(self, tracker: TrackedExecution) -> bool:
        """Refresh one execution; True when what its page shows changed."""
        with tracker.lock:
            self._read_at[tracker.arn] = self._clock()
            problem = None
            try:
                changed = tracker.refresh(self._sfn, self._budget)
            except OutOfBudget:
                self._read_at.pop(tracker.arn, None)  # due again next round
                return False
            except (BotoCoreError, ClientError) as error:
                changed, problem = False, str(as_cli_error(error, f"reading {tracker.name}"))
            changed |= problem != tracker.problem
            tracker.problem = problem
            return changed

    def _listed_arns(self) -> list[str]:
        """The listed executions, and the pipelines those that handed over waves started."""
        listed = [s["executionArn"] for s in self._listing or []]
        pipelines = []
        for arn in listed:
            tracker = self._trackers.get(arn)
            handed = pipeline_in(tracker.run.output) if tracker and tracker.run else None
            if handed is not None:
                self._tracker(handed)
                pipelines.append(handed)
        return listed + pipelines

    # -- snapshots --------------------------------------------------------------------

    def _bump(self, topic: str) -> None:
        """The topic changed: pages waiting on it are sent the new snapshot."""
        self._versions[topic] += 1
        self._snapshots.pop(topic, None)
        self._changed.notify_all()

    def _snapshot(self, topic: str) -> Snapshot:
        cached = self._snapshots.get(topic)
        if cached is None or cached.version != self._versions[topic]:
            body = self._list_body() if topic == LIST else self._run_body(topic)
            cached = Snapshot(self._versions[topic], json.dumps(body).encode())
            self._snapshots[topic] = cached
        return cached

    def _list_body(self) -> dict[str, Any]:
        rows = []
        for summary in self._listing or []:
            tracker = self._trackers.get(summary["executionArn"])
            run = tracker.run if tracker else None
            handed = self._trackers.get(pipeline_in(run.output) or "") if run else None
            if handed is not None and handed.pipeline is not None:
                rows.append(views.pipeline_row(handed.pipeline))
            else:
                rows.append(views.row(run) if run is not None else views.listed(summary))
        return {
            "rows": rows,
            "window": LIST_SIZE,
            "problem": self._listing_problem,
            "readAt": _now(),
        }

    def _run_body(self, arn: str) -> dict[str, Any]:
        tracker = self._trackers.get(arn)
        if tracker is not None and tracker.is_pipeline:
            pipeline = tracker.pipeline
            return {
                "pipeline": views.pipeline_detail(pipeline) if pipeline is not None else None,
                "problem": tracker.problem,
                "readAt": _now(),
            }
        run = tracker.run if tracker else None
        return {
            "run": views.detail(run) if run is not None else None,
            "problem": tracker.problem if tracker else None,
            "readAt": _now(),
        }

    def definition(self, arn: str) -> dict[str, Any] | None:
        tracker = self._trackers.get(arn)
        return tracker.definition if tracker else None

    # -- bookkeeping ------------------------------------------------------------------

    def _wanted(self, topic: str) -> bool:
        return self._open.get(topic, 0) > 0

    def _tracker(self, arn: str) -> TrackedExecution:
        tracker = self._trackers.get(arn)
        if tracker is None:
            tracker = self._trackers[arn] = TrackedExecution(arn)
        self._trackers.move_to_end(arn)
        return tracker

    def _forget_old(self) -> None:
        """Beyond KEEP, the least recently wanted executions that are neither listed nor
        open are forgotten (read again if a page asks)."""
        keep = set(self._listed_arns()) | set(self._open)
        for arn in list(self._trackers):
            if len(self._trackers) <= KEEP + len(keep):
                break
            if arn not in keep:
                del self._trackers[arn]
                self._read_at.pop(arn, None)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
