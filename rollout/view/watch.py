"""The live terminal view of one rollout, redrawn in place (like `argo rollouts get --watch`),
or plain progress lines when the output is not a terminal (CI logs, pipes)."""

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

from rollout.view.run import Event, HealthCheck, Outcome, Run, VersionMetrics, cause_summary

BAR_WIDTH = 24
RECENT_EVENTS = 8
MAX_STEPS_SHOWN = 12
MAX_DETAIL = 88

ICONS: dict[Outcome, tuple[str, str]] = {
    Outcome.RUNNING: ("◌ Progressing", "yellow"),
    Outcome.SUCCEEDED: ("✔ Succeeded", "green"),
    Outcome.SKIPPED: ("✔ Skipped", "green"),
    Outcome.NOOP: ("✔ Already live", "green"),
    Outcome.DUPLICATE: ("✔ Already rolling out", "green"),
    Outcome.DRY_RUN: ("✔ Dry run", "green"),
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
    rows.add_row("Function", f"{run.function or '?'}  alias {run.alias or '?'}")
    rows.add_row("Versions", _versions(run))
    rows.add_row("Strategy", run.strategy or "?")
    if run.steps:
        rows.add_row("Steps", _steps(run))
        rows.add_row("Step", f"{run.step_number}/{run.step_count}")
    rows.add_row("Weight", weight_bar(run.weight))
    if run.outcome is Outcome.RUNNING:
        rows.add_row("Next step", _next(run, now))
    rows.add_row("Health", _health(run))
    rows.add_row("Elapsed", _clock((run.stopped_at or now) - run.started_at))
    events = Table.grid(padding=(0, 2))
    for event in [e for e in run.events if _worth_showing(e)][-RECENT_EVENTS:]:
        events.add_row(_clock(event.at - run.started_at), describe_event(event))
    title = f"rollout {run.function or ''}:{run.alias or ''}  [dim]{run.name}[/]"
    body = Group(rows, Text(""), Text("Recent events", style="bold"), events)
    return Panel(body, title=title, title_align="left", border_style=colour)


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
        text.append(" → ")
    if len(run.steps) > MAX_STEPS_SHOWN:
        text.append("… → ")
    text.append("100%", style="reverse bold" if run.promoted else "")
    return text


def _next(run: Run, now: datetime) -> str:
    hold = run.hold
    if hold is not None and hold.get("kind") == "pause":
        return "when resumed (rollout resume), promoted or aborted"
    if hold is not None:
        line = run.hold_line(now) or ""
        return line.rsplit(" — ", 1)[-1] if " — " in line else "when approved"
    parts = []
    to_step = run.seconds_to_next_step(now)
    if to_step is not None:
        parts.append(f"in {_clock(timedelta(seconds=to_step))}")
    if run.next_check_at is not None:
        left = max((run.next_check_at - now).total_seconds(), 0.0)
        parts.append(f"next check in {_clock(timedelta(seconds=left))}")
    return "  ".join(parts) or "—"


def _health(run: Run) -> Text:
    check = run.last_check
    if check is None:
        return Text("no check yet", style="dim")
    passed = sum(c.healthy for c in run.checks)
    failed = len(run.checks) - passed + sum(e.error == "HealthCheckFailed" for e in run.events)
    counts = Text(f"checks ✔ {passed}, ✖ {failed}  ", style="dim")
    return counts + describe_check(check, sep="\n")


def describe_check(check: HealthCheck, sep: str = " · ") -> Text:
    text = Text(
        "✔ healthy" if check.healthy else "✖ unhealthy", style="green" if check.healthy else "red"
    )
    if check.at is not None:
        text.append(f" at {check.at:%H:%M:%S} UTC", style="dim")
    if check.alarms:
        alarms = ", ".join(f"{name} {state}" for name, state in sorted(check.alarms.items()))
        text.append(f"{sep}alarms {alarms}")
    for label, metrics in (("new", check.new), ("stable", check.stable)):
        if metrics is not None:
            text.append(f"{sep}{label} {_metrics(metrics)}")
    for note in check.notes:
        text.append(f"{sep}{note}", style="dim")
    return text


def _metrics(m: VersionMetrics) -> str:
    return f"v{m.version} {m.invocations} inv, {m.errors} err ({m.error_rate_percent:.2f}%)"


def _worth_showing(event: Event) -> bool:
    """Entries, failures and the end; exits and Choice states would only add noise."""
    return not event.exited and event.type != "ChoiceStateEntered"


def describe_event(event: Event) -> Text:
    if event.error or event.type.endswith(("Failed", "TimedOut", "Aborted")):
        cause = cause_summary(event.cause)
        detail = f"{event.error or event.type}: {cause}" if cause else event.error or event.type
        return Text(f"✖ {_shorten(detail)}", style="red")
    if event.state is None:
        return Text(event.type.removeprefix("Execution").lower(), style="dim")
    arrow = "→" if event.entered else "←"
    return Text(f"{arrow} {event.state}", style="" if event.entered else "dim")


def _shorten(text: str, limit: int = MAX_DETAIL) -> str:
    """One screen line: a Lambda error's full cause belongs in the report, not here."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _percent(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _clock(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


# -- plain lines for non-terminals --------------------------------------------------------


@dataclass
class LinePrinter:
    """Prints what is new since the last call, one line per event, weight or check."""

    console: Console
    events_seen: int = 0
    weights_seen: int = 0
    checks_seen: int = 0
    actions_seen: int = 0
    held: str | None = None

    def update(self, run: Run) -> None:
        for line in self.new_lines(run):
            self.console.print(line, highlight=False, soft_wrap=True)

    def new_lines(self, run: Run) -> list[Text]:
        lines: list[tuple[datetime, Text]] = []
        for event in run.events[self.events_seen :]:
            if _worth_showing(event):
                lines.append((event.at, describe_event(event)))
        for point in run.weights[self.weights_seen :]:
            if point.state != "start":
                text = Text("  weight ") + weight_bar(point.weight)
                lines.append((point.at, text + Text(f" (step {run.step_number}/{run.step_count})")))
        for check in run.checks[self.checks_seen :]:
            lines.append((check.at or run.started_at, Text("  health ") + describe_check(check)))
        for action in run.operator_actions[self.actions_seen :]:
            text = f"  operator {action.action} by {action.by}: {action.reason} ({action.result})"
            lines.append((action.at, Text(_shorten(text, 300))))
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


def outcome_line(run: Run) -> Text:
    label, colour = ICONS[run.outcome]
    return Text(f"{label}: ", style=f"bold {colour}") + Text(_shorten(run.reason, 300))


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
    console.print(outcome_line(run))
    return run


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
