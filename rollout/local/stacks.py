"""The stack-consistency seam: a stack reads the same while it is being created as after.

moto 5.2.5's `ResourceMap` creates each resource lazily, the first time anything reads
it, with no lock. DescribeStacks resolves Outputs and DescribeStackResources lists
resources through that same map. So a read served on another server thread while
CreateStack or UpdateStack was still creating resources created a second copy of every
resource it reached first (a client polling DescribeStacks until the stack is ready is
enough). Whichever copy was stored last won, so `Ref`/`GetAtt` in one resource named one
copy and the Outputs named the other: rule targets and the guard rule's pattern pointed
at an orphan state machine nobody listed.

Closed here, for every request and not only during `deploy_template`:

- `ResourceMap.__getitem__` takes a per-map re-entrant lock, so a resource is created
  once whatever thread reads it first (re-entrant: creating one resource reads the ones
  it references on the same thread).
- A stack shows Outputs only once an operation has completed (CREATE_COMPLETE,
  UPDATE_COMPLETE, UPDATE_ROLLBACK_COMPLETE), as CloudFormation does: not while it is in
  progress, and not after a failed create rolled back ("Outputs", CloudFormation User
  Guide; describe-stacks returns no Outputs while `*_IN_PROGRESS`). DescribeStackResources
  lists the resources that exist, never creating one itself; a resource whose Condition
  is false is not listed (moto listed it as an entry with no ids).
"""

from __future__ import annotations

import threading
from typing import Any

from moto.cloudformation import models, parsing

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

_LOCK_ATTRIBUTE = "_rollout_creation_lock"
_locks_guard = threading.Lock()


def creation_lock(resource_map: parsing.ResourceMap) -> threading.RLock:
    """The lock that serialises lazy resource creation in one stack's resource map."""
    with _locks_guard:
        lock = getattr(resource_map, _LOCK_ATTRIBUTE, None)
        if lock is None:
            lock = threading.RLock()
            setattr(resource_map, _LOCK_ATTRIBUTE, lock)
        return lock


def in_progress(stack: models.Stack) -> bool:
    return str(stack.status).endswith("_IN_PROGRESS")


# Stack states that show Outputs: a stack being created, rolled back or deleted has none.
_WITH_OUTPUTS = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}


class StackConsistency:
    """Installed by every LocalCloud: the deploy path depends on it."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: Cloud) -> None:
        lazy_getitem = parsing.ResourceMap.__getitem__
        moto_outputs = models.Stack.outputs

        def locked_getitem(resource_map: parsing.ResourceMap, key: str) -> Any:
            with creation_lock(resource_map):
                return lazy_getitem(resource_map, key)

        def visible_outputs(stack: models.Stack) -> list[dict[str, Any]] | None:
            return moto_outputs.fget(stack) if stack.status in _WITH_OUTPUTS else None

        def listed_resources(stack: models.Stack) -> list[Any]:
            resource_map = stack.resource_map
            with creation_lock(resource_map):
                created = dict(resource_map._parsed_resources)
            found = [created.get(name) for name in resource_map]
            return [resource for resource in found if resource is not None]

        self._patches.replace(parsing.ResourceMap, "__getitem__", locked_getitem)
        self._patches.replace(models.Stack, "outputs", property(visible_outputs))
        self._patches.replace(models.Stack, "stack_resources", property(listed_resources))

    def uninstall(self) -> None:
        self._patches.undo()
