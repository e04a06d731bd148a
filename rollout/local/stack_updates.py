"""Stack updates and deletions in dependency order, replacing moto 5.2.5's
`ResourceMap.update` and `ResourceMap.delete`.

moto applies Remove, Add, Modify in that order regardless of dependencies, so a new
`AWS::Lambda::Version` would be published before the function's code changed. Here
creations and changes run first, each after what it references, then removals in reverse
order, with `DeletionPolicy: Retain` honoured, and resources whose condition flips are
created or deleted. The map's creation lock is held throughout, so no concurrent read
sees it half-updated (rollout/local/stacks.py).

moto deletes a stack's resources in no particular order, retrying failures while it makes
progress: a function deleted before the alias and event source mapping on it fails their
deletion ("Function not found"), and DeleteStack then answers an HTML error while the
stack vanishes. CloudFormation deletes "in the reverse order of their creation" (a
resource after everything that references it), and a resource already gone counts as
deleted: `ordered_delete` does the same.
"""

from __future__ import annotations

import logging
from typing import Any

from moto.cloudformation import parsing

from rollout.local.stacks import creation_lock
from rollout.local.templates import PLACEHOLDER

logger = logging.getLogger(__name__)


def references(node: Any) -> set[str]:
    """Logical names a template fragment points at through Ref, Fn::GetAtt and Fn::Sub."""
    if isinstance(node, list):
        return set().union(*(references(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            found.add(value)
        elif key == "Fn::GetAtt":
            found.add((value.split(".") if isinstance(value, str) else value)[0])
        elif key == "Fn::Sub":
            text, variables = (value, {}) if isinstance(value, str) else value
            names = {m.group(1).split(".")[0] for m in PLACEHOLDER.finditer(text)}
            found |= (names - set(variables)) | references(variables)
        else:
            found |= references(value)
    return found


def _dependencies(resource: dict[str, Any]) -> set[str]:
    depends_on = resource.get("DependsOn") or []
    return references(resource) | set([depends_on] if isinstance(depends_on, str) else depends_on)


def dependency_order(resources: dict[str, Any]) -> list[str]:
    """Logical ids, each after everything it references (template order otherwise)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return  # done, or a cycle: CloudFormation would reject it, moto resolves lazily
        seen.add(name)
        for dependency in sorted(_dependencies(resources[name]) & resources.keys()):
            visit(dependency)
        order.append(name)

    for name in resources:
        visit(name)
    return order


def ordered_update(
    resource_map: parsing.ResourceMap,
    template: dict[str, Any],
    parameters: dict[str, Any] | None = None,
) -> None:
    """Replaces moto's ResourceMap.update (Remove, Add, Modify in that order). Holds the
    map's creation lock throughout, so no concurrent read sees it half-updated."""
    with creation_lock(resource_map):
        _update_in_order(resource_map, template, parameters)


def _update_in_order(
    resource_map: parsing.ResourceMap,
    template: dict[str, Any],
    parameters: dict[str, Any] | None,
) -> None:
    old_resources = resource_map._resource_json_map
    old_parameters = dict(resource_map.resolved_parameters)
    resource_map._template = template
    resource_map.input_parameters = parameters or {}  # omitted parameters fall back to defaults
    resource_map.load_mapping()
    resource_map.load_parameters()
    resource_map.load_conditions()
    resource_map._resource_json_map = template["Resources"]
    changed_parameters = {
        k for k, v in resource_map.resolved_parameters.items() if old_parameters.get(k) != v
    }
    replaced: set[str] = set()
    for name in dependency_order(template["Resources"]):
        body = template["Resources"][name]
        stale = _normalized(body) != _normalized(old_resources.get(name)) or _dependencies(body) & (
            changed_parameters | replaced
        )
        if _apply(resource_map, name, body, bool(stale)):
            replaced.add(name)
    for name in reversed(dependency_order(old_resources)):
        if name not in template["Resources"]:
            _remove(resource_map, name, old_resources[name])


def _normalized(body: dict[str, Any] | None) -> dict[str, Any]:
    """moto adds `"Properties": {}` to resources that have none when it creates them."""
    return {**(body or {}), "Properties": (body or {}).get("Properties") or {}}


def _apply(resource_map: parsing.ResourceMap, name: str, body: dict[str, Any], stale: bool) -> bool:
    """Create, update or delete one resource; True when its physical id changed."""
    condition = body.get("Condition")
    wanted = condition is None or bool(resource_map.lazy_condition_map[condition])
    current = resource_map._parsed_resources.get(name)
    if not wanted:
        if current is not None:
            _remove(resource_map, name, body)
        return current is not None
    if current is None:
        resource_map[name]  # moto's lazy map creates the resource on first access
        return True
    if not stale:
        return False
    updated = parsing.parse_and_update_resource(
        name, body, resource_map, resource_map._account_id, resource_map._region_name
    )
    if updated is None:
        logger.warning("moto can't update %s (%s); it was left as it was", name, body["Type"])
        return False
    resource_map._parsed_resources[name] = updated
    return _physical_id(updated) != _physical_id(current)


def _physical_id(resource: Any) -> Any:
    return getattr(resource, "physical_resource_id", id(resource))


def _remove(resource_map: parsing.ResourceMap, name: str, body: dict[str, Any]) -> None:
    resource = resource_map._parsed_resources.pop(name, None)
    if resource is not None and body.get("DeletionPolicy") != "Retain":
        resource_map._delete_resource(resource, body)


def ordered_delete(resource_map: parsing.ResourceMap) -> None:
    """Replaces moto's ResourceMap.delete: each resource after everything that references
    it, `DeletionPolicy: Retain` kept, one already gone counted as deleted. Raises the last
    failure after trying every resource (the stack then ends DELETE_FAILED)."""
    failure: Exception | None = None
    with creation_lock(resource_map):
        bodies = resource_map._resource_json_map
        for name in reversed(dependency_order(bodies)):
            resource = resource_map._parsed_resources.get(name)
            if resource is None or isinstance(resource, str):
                continue  # never created (a condition, or a failed create), or a parameter
            if bodies[name].get("DeletionPolicy") != "Retain":
                try:
                    resource_map._delete_resource(resource, bodies[name])
                except Exception as error:
                    if not _already_gone(error):
                        logger.warning("could not delete %s: %s", name, error)
                        failure = error
                        continue
            resource_map._parsed_resources.pop(name, None)
    if failure is not None:
        raise failure


def _already_gone(error: Exception) -> bool:
    text = f"{type(error).__name__} {getattr(error, 'code', '')} {error}"
    return "NotFound" in text or "not found" in text or "does not exist" in text
