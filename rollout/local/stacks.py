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
- A stack whose status ends in `_IN_PROGRESS` shows no Outputs, as CloudFormation does:
  outputs are resolved once the stack operation completes ("Outputs" in the CloudFormation
  User Guide, template anatomy: "the values returned ... when you view your stack's
  properties" after creation), and DescribeStackResources lists only the resources that
  exist so far, never creating one itself. A resource whose Condition is false is not
  listed at all (moto listed it as an entry with no ids).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from moto.cloudformation import models, parsing

from rollout.local.patching import Patches

if TYPE_CHECKING:
    from rollout.local.cloud import LocalCloud

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


class StackConsistency:
    """Installed by every LocalCloud: the deploy path depends on it."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: LocalCloud) -> None:
        lazy_getitem = parsing.ResourceMap.__getitem__
        moto_outputs = models.Stack.outputs

        def locked_getitem(resource_map: parsing.ResourceMap, key: str) -> Any:
            with creation_lock(resource_map):
                return lazy_getitem(resource_map, key)

        def visible_outputs(stack: models.Stack) -> list[dict[str, Any]] | None:
            return None if in_progress(stack) else moto_outputs.fget(stack)

        def listed_resources(stack: models.Stack) -> list[Any]:
            resource_map = stack.resource_map
            if in_progress(stack):
                with creation_lock(resource_map):
                    created = dict(resource_map._parsed_resources)
                found = [created.get(name) for name in resource_map]
            else:
                found = list(resource_map.values())
            return [resource for resource in found if resource is not None]

        self._patches.replace(parsing.ResourceMap, "__getitem__", locked_getitem)
        self._patches.replace(models.Stack, "outputs", property(visible_outputs))
        self._patches.replace(models.Stack, "stack_resources", property(listed_resources))

    def uninstall(self) -> None:
        self._patches.undo()
