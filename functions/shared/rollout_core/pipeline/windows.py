"""Deployment windows: a wave may start only inside one of them (README, "Blockers").

A window is days of the week and a time of day from `start` to `end` in a time zone (IANA,
daylight saving time included: the wall clock of that zone decides). An `end` before (or
equal to) `start` runs past midnight into the next day; `24:00` is the end of the day. No
windows: always open. A window with no days never opens: a freeze.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from .models import Window
from .spec import DAYS

_END_OF_DAY = "24:00"


def open_at(windows: list[Window], moment: datetime) -> bool:
    """True when `moment` (aware) is inside at least one window, or there are none."""
    return not windows or any(_inside(window, moment) for window in windows)


def next_opening(windows: list[Window], moment: datetime) -> datetime | None:
    """When the first window opens after `moment` (UTC), within two weeks; None: never."""
    candidates = [start for window in windows if (start := _next_start(window, moment)) is not None]
    return min(candidates) if candidates else None


def describe(windows: list[Window]) -> str:
    """The windows as people read them."""
    if not windows:
        return "any time"
    return "; ".join(_describe(window) for window in windows)


def _describe(window: Window) -> str:
    if not window.days:
        return f"never (a freeze, {window.timeZone})"
    return f"{','.join(window.days)} {window.start}-{window.end} {window.timeZone}"


def _inside(window: Window, moment: datetime) -> bool:
    local = moment.astimezone(ZoneInfo(window.timeZone))
    start, end = _clock(window.start), _clock(window.end)
    now = local.time()
    today = DAYS[local.weekday()]
    yesterday = DAYS[(local.weekday() - 1) % 7]
    if _crosses_midnight(window):
        return (today in window.days and now >= start) or (yesterday in window.days and now < end)
    before_end = window.end == _END_OF_DAY or now < end
    return today in window.days and start <= now and before_end


def _next_start(window: Window, moment: datetime) -> datetime | None:
    zone = ZoneInfo(window.timeZone)
    local = moment.astimezone(zone)
    start = _clock(window.start)
    for days_ahead in range(15):
        day = (local + timedelta(days=days_ahead)).date()
        if DAYS[day.weekday()] not in window.days:
            continue
        opening = datetime.combine(day, start, tzinfo=zone)
        if opening > local:
            return opening.astimezone(moment.tzinfo)
    return None


def _crosses_midnight(window: Window) -> bool:
    return window.end != _END_OF_DAY and _clock(window.end) <= _clock(window.start)


def _clock(text: str) -> time:
    if text == _END_OF_DAY:
        return time(23, 59, 59, 999999)
    parts = [int(part) for part in text.split(":")]
    return time(*parts)
