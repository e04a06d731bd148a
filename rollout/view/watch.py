"""The live terminal view of one rollout, redrawn in place (like `argo rollouts get --watch`),
or plain progress lines when the output is not a terminal (CI logs, pipes). A terminal
shortens a failure's reason to its screen; the plain lines carry every Error and Cause
complete, since a CI log is all that is left of the run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rollout_core.models import CheckResult, FunctionCheck, LogsSummary, Pause, VersionCounts
from rollout_core.names import State
from rollout_core.traffic.discover import notes as traffic_notes

from rollout.view import verdicts
from rollout.view.release import FunctionRow, Verdict, function_rows
from rollout.view.run import (
    CheckVerdict,
    Event,
    Outcome,
    Run,
    WeightPoint,
    cause_summary,
    check_verdict,
    short_function_name,
)

BAR_WIDTH = 24
RECENT_EVENTS = 8
MAX_STEPS_SHOWN = 12
MAX_DETAIL = 88  # a failure's reason in the terminal view's event list
MAX_REASON = 300  # the verdict line on a terminal

ICONS: dict[Outcome, tuple[str, str]] = {
    Outcome.RUNNING: ("◌ Progressing", "yellow"),
    Outcome.SUCCEEDED: ("✔ Succeeded", "green"),
    Outcome.SKIPPED: ("✔ Skipped", "green"),
    Outcome.NOOP: ("✔ Already live", "green"),
    Outcome.MOVED_WITHOUT_ROLLOUT: ("✖ Moved without a rollout", "red"),
    Outcome.DUPLICATE: ("✔ Already rolling out", "green"),
    Outcome.PREVIOUSLY_ROLLED_BACK: ("✖ Previously rolled back", "red"),
    Outcome.DRY_RUN: ("✔ Dry run", "green"),
    Outcome.PIPELINE: ("→ Pipeline", "green"),
    Outcome.ROLLED_BACK: ("✖ Rolled back", "red"),
    Outcome.REJECTED: ("✖ Rejected", "red"),
    Outcome.FAILED: ("✖ Failed", "red"),
    Outcome.ABORTED: ("✖ Aborted", "red"),
    Outcome.TIMED_OUT: ("✖ Timed out", "red"),
}


# -- one snapshot ---------------------------------------------------------------------


def render(run: Run, now: datetime | None = None) -> RenderableType:
    """The whole view of `run` as of `now` (UTC)."""
    now = now or datetime.now(UTC)
    rows = Table.grid(padding=(0, 2))
    rows.add_column(style="bold", no_wrap=True)
    rows.add_column()
    label, colour = status_label(run)
    reason = run.hold_line(now) or run.reason
    rows.add_row("Status", Text(f"{label}  ", style=colour) + Text(reason))
    if run.is_release:
        rows.add_row("Release", _release_line(run))
    else:
        rows.add_row("Function", f"{run.function or '?'}  alias {run.alias or '?'}")
        rows.add_row("Versions", _versions(run))
    rows.add_row("Strategy", run.strategy or "?")
    if run.steps:
        rows.add_row("Steps", _steps(run))
        rows.add_row("Step", f"{run.step_number}/{run.step_count}")
    rows.add_row("Weight", weight_bar(run.weight) + _every_alias(run))
    if run.outcome is Outcome.RUNNING:
        rows.add_row("Next step", _next(run, now))
    rows.add_row("Health", _health(run))
    if noted := plan_traffic_notes(run):
        rows.add_row("Traffic", Text("\n".join(noted), style="yellow"))
    rows.add_row("Elapsed", _clock((run.stopped_at or now) - run.started_at))
    events = Table.grid(padding=(0, 2))
    for event in [e for e in run.events if _worth_showing(e)][-RECENT_EVENTS:]:
        events.add_row(_clock(event.at - run.started_at), describe_event(event))
    title = f"{'' if run.is_release else 'rollout '}{run.title}  [dim]{run.name}[/]"
    parts: list[RenderableType] = [rows]
    if run.is_release:
        parts += [Text(""), Text("Functions", style="bold"), functions_table(run)]
    parts += [Text(""), Text("Recent events", style="bold"), events]
    return Panel(Group(*parts), title=title, title_align="left", border_style=colour)


def _release_line(run: Run) -> str:
    """How many functions move together, and which entries were left out (already live)."""
    names = run.function_names
    line = f"{len(names)} function{'s' if len(names) != 1 else ''} shifted together"
    notes = [note for note in (run.plan.notes if run.plan else []) if "left out" in note]
    return "\n".join([line, *notes])


def plan_traffic_notes(run: Run) -> list[str]:
    """What Prepare noted about the traffic sources: each bypass a rollout goes on with
    (bypass "warn"), each source it could not read; none before Prepare has run."""
    return traffic_notes(run.plan.traffic, run.plan.bypass) if run.plan else []


def _every_alias(run: Run) -> Text:
    return Text(" on every alias", style="dim") if run.is_release else Text("")


def functions_table(run: Run) -> Table:
    """One row per function of a release: alias, versions, weight, health, verdict."""
    table = Table(box=None, padding=(0, 1), show_edge=False, header_style="dim")
    for column in ("function:alias", "versions", "weight", "health", "verdict"):
        # names and numbers stay on one line; health and the reasons wrap on a narrow screen
        wraps = column in ("health", "verdict")
        table.add_column(column, no_wrap=not wraps, ratio=1 if wraps else None)
    for row in function_rows(run):
        table.add_row(
            row.name,
            f"{row.stable_version or '?'} → {row.target_version or '?'}",
            row_weight(row),
            row_health(row.check),
            row_verdict(row),
        )
    return table


def row_weight(row: FunctionRow) -> str:
    return "?" if row.weight is None else f"{_percent(row.weight * 100)}%"


def row_health(check: FunctionCheck | None, sep: str = "\n") -> Text:
    """The function's part of the latest check: its new version's metrics and logs."""
    if check is None:
        return Text("no check yet", style="dim")
    text = Text(describe_metrics(check.newVersion) if check.newVersion else "no metrics")
    if check.logs is not None:
        text.append(sep + describe_logs(check.logs), style="dim")
    return text


def describe_logs(logs: LogsSummary) -> str:
    if not logs.enabled:
        return "logs off"
    if logs.newVersion is None:
        return "logs not read"
    new = logs.newVersion
    return f"logs {new.invocations} inv, {new.failures} failed ({new.rate:.2f}%)"


CHECK_VERDICTS: dict[CheckVerdict, tuple[str, str]] = {
    CheckVerdict.HEALTHY: ("✔ healthy", "green"),
    CheckVerdict.LOW_TRAFFIC: ("· low traffic", "yellow"),
    CheckVerdict.NO_EVIDENCE: ("· no evidence", "yellow"),
    CheckVerdict.UNHEALTHY: ("✖ unhealthy", "red"),
}

VERDICTS: dict[Verdict, tuple[str, str]] = {
    Verdict.HEALTHY: ("✔ healthy", "green"),
    Verdict.LOW_TRAFFIC: ("· low traffic", "yellow"),
    Verdict.NO_EVIDENCE: ("· no evidence", "yellow"),
    Verdict.FAILED: ("✖ failed", "red"),
    Verdict.PENDING: ("◌ pending", "yellow"),
    Verdict.NOT_JUDGED: ("· not judged", "dim"),
}


def row_verdict(row: FunctionRow, sep: str = "\n") -> Text:
    """Healthy or failed (with its reasons), and whether the rollback restored it."""
    label, colour = VERDICTS[row.verdict]
    text = Text(label, style=colour)
    if row.restored is True:
        text.append(" · restored", style="dim")
    elif row.restored is False:
        text.append(" · NOT restored", style="bold red")
        if row.restore_detail:
            text.append(f"{sep}{row.restore_detail}", style="red")
    for reason in row.reasons:
        text.append(f"{sep}{reason}", style="red")
    return text


HELD: dict[str, tuple[str, str]] = {
    "paused": ("⏸ Paused", "yellow"),
    "awaiting approval": ("⏳ Awaiting approval", "magenta"),
}


def status_label(run: Run) -> tuple[str, str]:
    """(label, colour): the outcome, or "Paused" / "Awaiting approval" while held."""
    return HELD[run.held] if run.held else ICONS[run.outcome]


def weight_bar(weight: float, width: int = BAR_WIDTH) -> Text:
    filled = round(max(0.0, min(weight, 1.0)) * width)
    return (
        Text("█" * filled, style="cyan")
        + Text("░" * (width - filled), style="dim")
        + Text(f" {_percent(weight * 100)}% new")
    )


def _versions(run: Run) -> str:
    stable, new = run.stable_version or "?", run.target_version or "?"
    return f"{stable} (stable) → {new} (new)"


def _steps(run: Run) -> Text:
    """Plan steps with the current one outlined, as Argo's Steps column does."""
    text = Text()
    steps = run.steps[:MAX_STEPS_SHOWN]
    for number, step in enumerate(steps, start=1):
        current = number == run.step_number and not run.promoted
        text.append(f"{_percent(step.percentage)}%", style="reverse bold" if current else "")
        if run.extensions.get(number - 1):
            text.append(f" +{run.extensions[number - 1]} checks", style="yellow")
        text.append(" → ")
    if len(run.steps) > MAX_STEPS_SHOWN:
        text.append("… → ")
    text.append("100%", style="reverse bold" if run.promoted else "")
    return text


def _next(run: Run, now: datetime) -> str:
    hold = run.hold
    if isinstance(hold, Pause):
        return "when resumed (rollout resume), promoted or aborted"
    if hold is not None:
        return run.gate_left(now) or "when approved"
    parts = []
    to_step = run.seconds_to_next_step(now)
    if to_step is not None:
        parts.append(f"in {_clock(timedelta(seconds=to_step))}")
    if run.next_check_at is not None:
        left = max((run.next_check_at - now).total_seconds(), 0.0)
        parts.append(f"next check in {_clock(timedelta(seconds=left))}")
    return "  ".join(parts) or "—"


def _health(run: Run) -> Text:
    """The latest check, passed or failed (a failed one carries its numbers as data)."""
    judged = [*run.checks, *run.failed_checks]
    failed_visits = run.failed_check_visits
    if not judged and not failed_visits:
        return Text("no check yet", style="dim")
    passed = sum(c.healthy for c in run.checks)
    failed = len(run.checks) - passed + len(failed_visits)
    counts = Text(f"checks ✔ {passed}, ✖ {failed}  ", style="dim")
    if not judged:  # an older run: the failure's message is all there is
        return counts + Text(f"✖ {cause_summary(failed_visits[-1].cause)}", style="red")
    check = max(judged, key=lambda c: c.at or run.started_at)
    return counts + describe_check(check, sep="\n", versions=not run.is_release)


def describe_check(check: CheckResult, sep: str = " · ", versions: bool = True) -> Text:
    """The check's verdict, alarms, and (unless `versions` is off: a release shows each
    function's numbers in its own row) the new and stable versions' numbers."""
    label, colour = CHECK_VERDICTS[check_verdict(check)]
    text = Text(label, style=colour)
    if check.at is not None:
        text.append(f" at {check.at:%H:%M:%S} UTC", style="dim")
    judged = verdicts.signals(check)
    if judged:
        text.append(f"{sep}judge {judged}")
    if check.alarms:
        alarms = ", ".join(f"{name} {state}" for name, state in sorted(check.alarms.items()))
        text.append(f"{sep}alarms {alarms}")
    for label, metrics in (("new", check.newVersion), ("stable", check.stableVersion)):
        if metrics is not None and versions:
            text.append(f"{sep}{label} {describe_metrics(metrics)}")
    if check.logs is not None and versions:  # under a metric delay, the faster signal
        text.append(f"{sep}new {describe_logs(check.logs)}")
    for line in verdicts.lines(check):
        text.append(f"{sep}{line}", style=_VERDICT_STYLES[line[0]])
    for note in [*check.reasons, *check.notes]:
        text.append(f"{sep}{note}", style="dim")
    return text


_VERDICT_STYLES = {"✔": "green", "~": "yellow", "?": "yellow", "✖": "red"}


def describe_metrics(m: VersionCounts) -> str:
    return f"v{m.version} {m.invocations} inv, {m.errors} err ({m.rate:.2f}%)"


def _worth_showing(event: Event) -> bool:
    """Entries, failures and the end; exits and Choice states would only add noise."""
    return not event.exited and event.type != "ChoiceStateEntered"


def describe_event(event: Event, limit: int | None = MAX_DETAIL) -> Text:
    """One event; a failure with its Error and Cause, cut at `limit` (None: complete)."""
    if event.error or event.type.endswith(("Failed", "TimedOut", "Aborted")):
        cause = cause_summary(event.cause)
        detail = f"{event.error or event.type}: {cause}" if cause else event.error or event.type
        return Text(f"✖ {_shorten(detail, limit)}", style="red")
    if event.state is None:
        return Text(event.type.removeprefix("Execution").lower(), style="dim")
    arrow = "→" if event.entered else "←"
    return Text(f"{arrow} {event.state}", style="" if event.entered else "dim")


def _shorten(text: str, limit: int | None) -> str:
    """One screen line (a Lambda error's full cause belongs in the report); None keeps it
    whole, for logs."""
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _percent(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _clock(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


# -- plain lines for non-terminals --------------------------------------------------------


@dataclass
class LinePrinter:
    """Prints what is new since the last call, one line per event, weight or check; every
    Error and Cause complete, never cut to a screen's width."""

    console: Console
    events_seen: int = 0
    weights_seen: int = 0
    checks_seen: int = 0
    actions_seen: int = 0
    held: str | None = None
    traffic_noted: bool = False

    def update(self, run: Run) -> None:
        for line in self.new_lines(run):
            self.console.print(line, highlight=False, soft_wrap=True)

    def new_lines(self, run: Run) -> list[Text]:
        lines: list[tuple[datetime, Text]] = []
        for event in run.events[self.events_seen :]:
            if _worth_showing(event):
                lines.append((event.at, describe_event(event, limit=None)))
        for point in run.weights[self.weights_seen :]:
            if point.state != "start":
                text = Text("  weight ") + weight_bar(point.weight) + _every_alias(run)
                lines.append((point.at, text + Text(f" ({_where(run, point)})")))
        for check in run.checks[self.checks_seen :]:
            text = Text("  health ") + describe_check(check, versions=not run.is_release)
            lines.append((check.at or run.started_at, _with_functions(text, check)))
        if not self.traffic_noted and run.plan is not None:
            prepared = next((e.at for e in run.events if e.state == State.PREPARE), run.started_at)
            for note in plan_traffic_notes(run):
                lines.append((prepared, Text(f"  ⚠ {note}", style="yellow")))
            self.traffic_noted = True
        for action in run.operator_actions[self.actions_seen :]:
            text = f"  operator {action.action} by {action.by}: {action.reason} ({action.result})"
            lines.append((action.appliedAt or run.started_at, Text(text)))
        now = datetime.now(UTC)
        if run.held != self.held and run.held:
            label, colour = status_label(run)
            text = Text(f"  {label} ", style=colour) + Text(run.hold_line(now) or "")
            lines.append((now, text))
        self.events_seen, self.weights_seen = len(run.events), len(run.weights)
        self.checks_seen, self.actions_seen = len(run.checks), len(run.operator_actions)
        self.held = run.held
        lines.sort(key=lambda item: item[0])
        return [Text(f"{_clock(at - run.started_at):>7} ") + text for at, text in lines]


def _where(run: Run, point: WeightPoint) -> str:
    """The step a weight line belongs to: a run printed after the fact (watch --once, a
    finished run) must not label every shift with the step it ended on."""
    if point.state == State.PROMOTE:
        return "promoted"
    if point.state == State.ROLL_BACK:
        return "rolled back"
    return f"step {point.step or run.step_number}/{run.step_count}"


def _with_functions(text: Text, check: CheckResult) -> Text:
    """A release's check: a line per function under the check's own line."""
    for own in check.functions:
        symbol, colour = CHECK_VERDICTS[check_verdict(own)]
        mark = Text(symbol.split()[0] + " ", style=colour)
        name = f"{short_function_name(own.functionName)}:{own.alias}"
        text += Text(f"\n    {name} ") + mark + row_health(own, sep=" · ")
        for reason in own.reasons:
            text += Text(f" · {reason}", style="red")
    return text


def outcome_line(run: Run, limit: int | None = MAX_REASON) -> Text:
    """The verdict, its reason cut at `limit` (None: complete); for a release, then a line
    per function (versions, weight, verdict)."""
    label, colour = ICONS[run.outcome]
    text = Text(f"{label}: ", style=f"bold {colour}") + Text(_shorten(run.reason, limit))
    rows = function_rows(run)
    width = max((len(row.name) for row in rows), default=0)
    for row in rows:
        versions = f"{row.stable_version or '?'} → {row.target_version or '?'}"
        text += Text(f"\n  {row.name:<{width}}  {versions}  {row_weight(row):>4}  ")
        text += row_verdict(row, sep=" · ")
    return text


# -- following a run --------------------------------------------------------------------


class WatchTimeout(Exception):
    """The deadline passed before the rollout finished."""

    def __init__(self, run: Run) -> None:
        super().__init__(f"still {run.outcome.value} after the timeout ({run.reason})")
        self.run = run


def follow(
    fetch: Callable[[], Run],
    console: Console,
    interval: float = 1.0,
    timeout: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Run:
    """Poll `fetch` until the run finishes; redraw in place on a terminal, else print lines.
    Raises WatchTimeout when `timeout` seconds pass first."""
    deadline = None if timeout is None else clock() + timeout
    run = fetch()
    if console.is_terminal:
        with Live(render(run), console=console, auto_refresh=False) as live:
            run = _poll(
                fetch,
                run,
                lambda r: live.update(render(r), refresh=True),
                interval,
                deadline,
                clock,
                sleep,
            )
    else:
        printer = LinePrinter(console)
        printer.update(run)
        run = _poll(fetch, run, printer.update, interval, deadline, clock, sleep)
    print_outcome(run, console)
    return run


def print_outcome(run: Run, console: Console) -> None:
    """The verdict line: shortened on a terminal; complete, on one line, in a log."""
    if console.is_terminal:
        console.print(outcome_line(run))
    else:
        console.print(outcome_line(run, limit=None), highlight=False, soft_wrap=True)


def _poll(
    fetch: Callable[[], Run],
    run: Run,
    show: Callable[[Run], None],
    interval: float,
    deadline: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> Run:
    show(run)
    while not run.outcome.finished:
        if deadline is not None and clock() >= deadline:
            raise WatchTimeout(run)
        left = interval if deadline is None else min(interval, max(deadline - clock(), 0.0))
        sleep(left)
        run = fetch()
        show(run)
    return run
