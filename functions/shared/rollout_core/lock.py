"""One rollout per function+alias: the rollout table's item keyed "<function>:<alias>"
(rollout_core.channel reads and writes it).

The owner is the execution id, so a retried Prepare re-acquires its own lock and only
the owner can release it. The TTL attribute lets DynamoDB clear a lock whose execution
died without releasing it; an expired lock is also taken over at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import channel
from .errors import RolloutInProgress


def lock_key(function: str, alias: str) -> str:
    return f"{function}:{alias}"


def function_key(function: str) -> str:
    """The bare name a lock key holds (Prepare keys it by the name it calls Lambda with),
    from a name, an ARN or a qualified ARN: what a reader of someone's input keys by."""
    return function.split(":function:", 1)[-1].split(":", 1)[0]


@dataclass(frozen=True)
class Holding:
    owner: str
    target: str | None  # the version the holder rolls out: a second start of it is a duplicate


def acquire(table: str, key: str, owner: str, ttl_seconds: int, target: str = "") -> None:
    if not channel.of(table).acquire(key, owner, ttl_seconds, target):
        raise _in_progress(table, key)


def acquire_all(table: str, keys: list[tuple[str, str]], owner: str, ttl_seconds: int) -> None:
    """Take every (key, target) lock of a release or none. The first key's item is the
    release's control channel; each item names it."""
    if channel.of(table).acquire_all(keys, owner, ttl_seconds):
        return
    held_elsewhere = [key for key, _ in keys if holder_of(table, key) not in (None, owner)]
    raise _in_progress(table, held_elsewhere[0] if held_elsewhere else keys[0][0])


def _in_progress(table: str, key: str) -> RolloutInProgress:
    holder = holder_of(table, key)
    error = RolloutInProgress(
        f"{key} is being rolled out by {holder or 'another execution'}; "
        "wait for it to finish or stop it"
    )
    error.key = key  # which lock of a release was taken (rollout_core.plan names its entry)
    return error


def release(table: str, key: str, owner: str) -> bool:
    """Delete the lock if `owner` holds it; False when it was not held (already released)."""
    return channel.of(table).release(key, owner)


def release_held_by(table: str, owner: str) -> list[str]:
    """Release every lock `owner` holds; the keys released.

    For a Prepare that failed after taking its lock: its plan, which names the key, never
    reached the workflow. Each delete is still conditional on the owner.
    """
    items = channel.of(table)
    return [key for key in items.keys_held_by(owner) if items.release(key, owner)]


def holder_of(table: str, key: str) -> str | None:
    """The live owner of the lock, if any (expired locks don't count)."""
    holding = held(table, key)
    return holding.owner if holding else None


def held(table: str, key: str) -> Holding | None:
    """Who holds the lock and for which version, if anyone (expired locks don't count)."""
    item = channel.of(table).item(key)
    if item is None or not item.live:
        return None
    return Holding(item.owner, item.target)
