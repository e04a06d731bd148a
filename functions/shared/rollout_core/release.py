"""A release: several functions of one application shifted together, rolled back together.

The plan of a release lists its members (`plan.functions`); everything else in the plan
(strategy, steps, alarms, health policy, approval, keepVersions) is the release's. Each
member is judged and moved exactly as a single rollout would be, through its own
single-function view of the plan (`members`), so the task code for one function is the
code for ten, and the workflow's states and transitions don't grow with the release:
every task handles the whole list in one invocation.

- Prepare takes every member's lock in one transaction (rollout_core.lock.acquire_all).
- Every pre-traffic check passes before any alias moves; each step moves every alias.
- Any failure rolls back every alias; a member that can't be restored doesn't stop the
  others (`each`), and the guard covers what is left.
- The first member's lock item is the release's control channel (rollout_core.controls);
  the others point to it (`controlKey`), so an operator can name any of its functions.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .lock import lock_key
from .models import LockRef, Member, Plan, RolloutPlan

T = TypeVar("T")


def is_release(plan: Plan) -> bool:
    return bool(plan.functions)


def members(plan: RolloutPlan) -> list[RolloutPlan]:
    """One single-function plan per member ([plan] for a single rollout)."""
    if not plan.functions:
        return [plan]
    return [_view(plan, member) for member in plan.functions]


def _view(plan: RolloutPlan, member: Member) -> RolloutPlan:
    lock = plan.lock.model_copy(update={"key": member.lockKey}) if plan.lock else None
    fields = {name: getattr(member, name) for name in Member.model_fields if name != "lockKey"}
    return plan.model_copy(update={**fields, "lock": lock, "functions": []})


def lock_refs(plan: Plan) -> list[LockRef]:
    """Every lock the plan holds: the members' for a release, else its own."""
    if plan.lock is None:
        return []
    if not plan.functions:
        return [plan.lock]
    return [plan.lock.model_copy(update={"key": member.lockKey}) for member in plan.functions]


def key(member: Plan | Member) -> str:
    """`function:alias`: what tells the members of a release apart (their lock's key)."""
    return lock_key(member.functionName, member.alias)


def label(plan: Plan) -> str:
    """`function:alias`, or the release's members joined: what messages name."""
    return ", ".join(key(member) for member in plan.functions or [plan])


@dataclass
class Each(Generic[T]):
    """What `each` did: every member with its result or its error, in member order (a
    release may roll two aliases of one function, so members, not names, tell them apart)."""

    outcomes: list[tuple[RolloutPlan, T | Exception]] = field(default_factory=list)

    @property
    def results(self) -> list[T]:
        return [o for _, o in self.outcomes if not isinstance(o, Exception)]

    @property
    def errors(self) -> list[tuple[RolloutPlan, Exception]]:
        return [(member, o) for member, o in self.outcomes if isinstance(o, Exception)]


def each(
    plan: RolloutPlan, action: Callable[[RolloutPlan], T], failures: tuple[type[Exception], ...]
) -> Each[T]:
    """Run `action` on every member even when some raise one of `failures`: a rollback
    or a lock release must not stop at the first alias it can't put back."""

    def attempt(member: RolloutPlan) -> T | Exception:
        try:
            return action(member)
        except failures as error:
            return error

    return Each(list(zip(members(plan), for_all(plan, attempt), strict=True)))


def for_all(plan: RolloutPlan, action: Callable[[RolloutPlan], T]) -> list[T]:
    """`action` on every member at once (each is a few API calls that mostly wait), results
    in member order; the first member's error, if any, is raised once all have ended."""
    views = members(plan)
    if len(views) == 1:
        return [action(views[0])]
    with ThreadPoolExecutor(max_workers=len(views)) as pool:
        futures = [pool.submit(action, member) for member in views]
        wait(futures)
    return [future.result() for future in futures]
