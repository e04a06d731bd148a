"""One read of a traffic source: its answer, or a note saying what could not be read.

Discovery never fails a rollout because a read failed, and never passes silently either: a
call the role may not make (AccessDenied), throttled beyond the client's retries, or
refused otherwise, becomes a note that names the API and the error, and the plan carries it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ..models import TrafficSource
from .subject import Subject

T = TypeVar("T")


@dataclass
class Reading:
    """What discovery found about one function so far."""

    sources: list[TrafficSource] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)

    def add(self, source: TrafficSource) -> None:
        key = (source.kind, source.source, source.qualifier)
        if all((s.kind, s.source, s.qualifier) != key for s in self.sources):
            self.sources.append(source)


def attempt(unread: list[str], what: str, read: Callable[[], T]) -> T | None:
    """`read()`, or None with a note in `unread` when AWS refused or failed it."""
    try:
        return read()
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code") or "error"
        message = details.get("Message") or ""
        unread.append(f"{what}: not read ({code}{': ' + message if message else ''})")
    except BotoCoreError as error:
        unread.append(f"{what}: not read ({type(error).__name__})")
    return None


def account_wide(
    subjects: list[Subject],
    readings: list[Reading],
    what: str,
    listing: Callable[[], tuple[list[dict[str, Any]], bool]],
    source: Callable[[Subject, dict[str, Any]], TrafficSource | None],
    bound: str,
) -> None:
    """One bounded listing of the account's items (`listing`: the items, and whether the
    bound cut it short), read once for every function of a release: each reading gets the
    sources its subject's items make (`source`: None when the item invokes another
    function), and `bound` as a note when the list was cut short."""
    notes: list[str] = []
    found = attempt(notes, what, listing)
    for reading in readings:
        reading.unread += notes
    if found is None:
        return
    items, truncated = found
    for subject, reading in zip(subjects, readings, strict=True):
        for item in items:
            made = source(subject, item)
            if made is not None:
                reading.add(made)
        if truncated:
            reading.unread.append(bound)


def bounded(
    pages: Iterable[dict[str, Any]], key: str, more: str, most: int
) -> tuple[list[dict[str, Any]], bool]:
    """The `key` items of paginated `pages` (their paginator's MaxItems is `most`), and
    whether more were left unread (a page's `more` token after `most` items)."""
    items: list[dict[str, Any]] = []
    truncated = False
    for page in pages:
        items += page.get(key, [])
        truncated = bool(page.get(more)) and len(items) >= most
    return items, truncated


def not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in (
        "ResourceNotFoundException",
        "NotFoundException",
    )
