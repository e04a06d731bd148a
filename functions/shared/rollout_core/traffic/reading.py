"""One read of a traffic source: its answer, or a note saying what could not be read.

Discovery never fails a rollout because a read failed, and never passes silently either: a
call the role may not make (AccessDenied), throttled beyond the client's retries, or
refused otherwise, becomes a note that names the API and the error, and the plan carries it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from ..models import TrafficSource

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


def not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in (
        "ResourceNotFoundException",
        "NotFoundException",
    )
