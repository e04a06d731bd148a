"""The CloudFormation seam: the API behaves as CloudFormation does for SAM templates, so the
SAM CLI (`sam deploy`) and the AWS CLI (`aws cloudformation deploy`) work unchanged.

moto 5.2.5's CloudFormation, measured (the "moto alone" tests record each gap), and what
this seam does instead, for every request:

- No server-side transform: a SAM template's `AWS::Serverless::*` resources were skipped
  and the stack reported success, empty. Templates submitted to CreateStack, UpdateStack
  and CreateChangeSet are processed here (rollout/local/templates.py): the SAM transform,
  state machine definitions, and a clear refusal of resource types the cloud can't create.
  `GetTemplate --template-stage Original|Processed` returns each.
- ExecuteChangeSet never computed Outputs (`sam deploy --resolve-s3` then failed on its
  managed stack) and bypassed the update order. It now applies the change set through the
  dependency-ordered update UpdateStack uses (rollout/local/stack_updates.py; CreateStack
  creates through moto's lazy map, which already follows references), then sets Outputs
  and exports as a created or updated stack has them.
- `TemplateURL`: moto took the bucket from the first host label unless the host contained
  "localhost", so `http://127.0.0.1:4566/bucket/key` read bucket "127". Any URL whose host
  is not an S3 virtual-hosted name is read path-style, as S3 path-style URLs are.
- Stack events: moto recorded only stack-level events. Each resource now gets
  `*_IN_PROGRESS` then `*_COMPLETE` or `*_FAILED` with the reason, as
  DescribeStackEvents shows on AWS.
- A resource that fails to create: moto answered the CreateStack call with the error and
  left the stack CREATE_IN_PROGRESS. As on AWS, the stack ends `ROLLBACK_COMPLETE` (its
  resources deleted) with the failure in its events and status reason; a failed update
  ends `UPDATE_ROLLBACK_FAILED`, since the local cloud doesn't undo a partial update.
- DeleteStack: moto deleted resources in any order, so a function could go before the alias
  and event source mapping on it; their deletion failed ("Function not found"), DeleteStack
  answered an HTML 400 and the stack vanished without DELETE_COMPLETE. Resources are now
  deleted dependents first (stack_updates.ordered_delete), and a deletion that still fails
  leaves the stack `DELETE_FAILED` with the reason, as on AWS.
- Resource kinds moto lacks or gets wrong are created by rollout/local/resources.py.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from moto.cloudformation import models, parsing, responses
from moto.cloudformation.exceptions import ValidationError

from rollout.local.package import TemplateError
from rollout.local.patching import Patches
from rollout.local.resources import HANDLERS, Api, ApiResource
from rollout.local.seam import Cloud
from rollout.local.stack_updates import ordered_delete, ordered_update
from rollout.local.templates import dump, parse, process

logger = logging.getLogger(__name__)

ORIGINAL, PROCESSED = "Original", "Processed"


class CloudFormationSeam:
    """Installed by every LocalCloud: `rollout local up` deploys its own stack through it."""

    def __init__(self) -> None:
        self._patches = Patches()
        self._originals: dict[str, str] = {}  # stack or change set id → submitted body
        self._lock = threading.Lock()
        self._api: Api | None = None

    def install(self, cloud: Cloud) -> None:
        self._api = Api(cloud)
        replace = self._patches.replace
        moto_models = parsing.get_model_map
        replace(parsing, "get_model_map", lambda: {**moto_models(), **HANDLERS})
        replace(parsing.ResourceMap, "update", ordered_update)
        replace(parsing.ResourceMap, "delete", ordered_delete)
        replace(ApiResource, "current_api", self._api)
        self._record_resource_events()
        self._process_submitted_templates()
        self._fail_stacks_like_cloudformation()
        replace(responses.CloudFormationResponse, "get_template", self._get_template())
        replace(responses, "get_stack_from_s3_url", _read_template_url(responses))

    def uninstall(self) -> None:
        self._patches.undo()
        self._originals.clear()

    # -- templates -------------------------------------------------------------------

    def _processed(self, text: str, parameters: dict[str, Any]) -> str:
        """The submitted body as CloudFormation would create it; ValidationError if it can't."""
        assert self._api is not None
        s3 = self._api("s3")

        def read(bucket: str, key: str) -> bytes:
            return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())

        known = parsing.get_model_map()
        try:
            template = process(
                parse(text), {k: str(v) for k, v in parameters.items()}, read, known.__contains__
            )
        except TemplateError as error:
            raise ValidationError(message=str(error)) from error
        return dump(template)

    def _remember(self, identifier: str, text: str) -> None:
        with self._lock:
            self._originals[identifier] = text

    def _process_submitted_templates(self) -> None:
        backend = models.CloudFormationBackend
        create_stack = backend.create_stack
        update_stack = backend.update_stack
        create_change_set = backend.create_change_set
        seam = self

        def create(self: Any, name: str, template: str, parameters: dict, **kw: Any) -> Any:
            stack = create_stack(
                self, name, seam._processed(template, parameters), parameters, **kw
            )
            seam._remember(stack.stack_id, template)
            return stack

        def update(self: Any, name: str, template: str, role_arn: Any, parameters: list,
                   tags: Any) -> Any:  # fmt: skip
            stack = self.get_stack(name)
            values = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
            processed = seam._processed(template, values)
            if processed == stack.template and values == stack.stack_parameters:
                raise ValidationError(stack.name, message="No updates are to be performed.")
            updated = update_stack(self, name, processed, role_arn, parameters, tags)
            seam._remember(updated.stack_id, template)
            return updated

        def change_set(self: Any, stack_name: str, change_set_name: str, template: str,
                       parameters: dict, *args: Any, **kw: Any) -> Any:  # fmt: skip
            processed = seam._processed(template, parameters)
            change_set_id, stack_id = create_change_set(
                self, stack_name, change_set_name, processed, parameters, *args, **kw
            )
            seam._remember(change_set_id, template)
            return change_set_id, stack_id

        def execute(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
            change_set = self.describe_change_set(change_set_name)
            seam._execute(change_set)

        self._patches.replace(backend, "create_stack", create)
        self._patches.replace(backend, "update_stack", update)
        self._patches.replace(backend, "create_change_set", change_set)
        self._patches.replace(backend, "execute_change_set", execute)

    def _get_template(self) -> Callable[..., Any]:
        seam = self

        def get_template(response: Any) -> Any:
            stack = response.cloudformation_backend.get_stack(response._get_param("StackName"))
            stage = response._get_param("TemplateStage") or ORIGINAL
            with seam._lock:
                original = seam._originals.get(stack.stack_id, stack.template)
            body = stack.template if stage == PROCESSED else original
            return responses.ActionResult(
                {"TemplateBody": body, "StagesAvailable": [ORIGINAL, PROCESSED]}
            )

        return get_template

    # -- change sets -----------------------------------------------------------------

    def _execute(self, change_set: models.ChangeSet) -> None:
        """ExecuteChangeSet on the path CreateStack and UpdateStack take: in progress while
        it runs, the ordered update, then Outputs and exports (moto computed neither)."""
        if change_set.execution_status != "AVAILABLE":
            raise ValidationError(
                message=f"ChangeSet [{change_set.change_set_id}] cannot be executed in its "
                f"current execution status of [{change_set.execution_status}]"
            )
        stack, kind = change_set.stack, change_set.change_set_type
        stack._add_stack_event(f"{kind}_IN_PROGRESS", resource_status_reason="User Initiated")
        stack.status = f"{kind}_IN_PROGRESS"
        change_set.execution_status = "EXECUTE_IN_PROGRESS"
        with _failing_like_cloudformation(stack, kind):
            change_set.apply()
            stack.template = change_set.template
            stack._parse_template()
            stack.description = stack.template_dict.get("Description")
            stack.output_map = stack._create_output_map()
            backend = models.cloudformation_backends[stack.account_id][stack.region_name]
            for export in stack.exports:
                backend.exports[export.name] = export
            stack.status = f"{kind}_COMPLETE"
            stack._add_stack_event(f"{kind}_COMPLETE")
        failed = stack.status.endswith("FAILED") or stack.status == "ROLLBACK_COMPLETE"
        change_set.execution_status = "EXECUTE_FAILED" if failed else "EXECUTE_COMPLETE"
        with self._lock:
            original = self._originals.get(change_set.change_set_id)
        if original is not None:
            self._remember(stack.stack_id, original)

    # -- failures and events ---------------------------------------------------------

    def _fail_stacks_like_cloudformation(self) -> None:
        create_resources = models.Stack.create_resources
        stack_update = models.Stack.update
        backend_delete = models.CloudFormationBackend.delete_stack

        def delete_stack(backend: models.CloudFormationBackend, name_or_id: str) -> None:
            stack = backend.stacks.get(name_or_id) or next(
                (s for s in backend.stacks.values() if s.name == name_or_id), None
            )
            try:
                backend_delete(backend, name_or_id)
            except Exception as error:
                if stack is None:
                    raise
                # moto took the stack off its list before deleting it: CloudFormation keeps
                # a stack it could not delete, DELETE_FAILED with the reason.
                reason = f"The following resource(s) failed to delete: {_reason(error)}"
                logger.warning("stack %s: %s", stack.name, reason)
                stack.status, stack.status_reason = "DELETE_FAILED", reason
                stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason)
                backend.stacks[stack.stack_id] = stack

        def create(stack: models.Stack) -> None:
            with _failing_like_cloudformation(stack, "CREATE"):
                create_resources(stack)

        def update(stack: models.Stack, *args: Any, **kwargs: Any) -> None:
            stack.status = "UPDATE_IN_PROGRESS"
            with _failing_like_cloudformation(stack, "UPDATE"):
                stack_update(stack, *args, **kwargs)

        self._patches.replace(models.Stack, "create_resources", create)
        self._patches.replace(models.Stack, "update", update)
        self._patches.replace(models.CloudFormationBackend, "delete_stack", delete_stack)

    def _record_resource_events(self) -> None:
        for name, status in (
            ("parse_and_create_resource", "CREATE"),
            ("parse_and_update_resource", "UPDATE"),
        ):
            self._patches.replace(parsing, name, _with_events(getattr(parsing, name), status))
        delete = parsing.ResourceMap._delete_resource

        def delete_with_events(resource_map: Any, parsed: Any, body: dict[str, Any]) -> None:
            logical = next(
                (k for k, v in resource_map._parsed_resources.items() if v is parsed), ""
            )
            _event(resource_map, logical, body, parsed, "DELETE_IN_PROGRESS")
            delete(resource_map, parsed, body)
            _event(resource_map, logical, body, parsed, "DELETE_COMPLETE")

        self._patches.replace(parsing.ResourceMap, "_delete_resource", delete_with_events)


def _stack_of(resource_map: Any) -> models.Stack | None:
    backend = models.cloudformation_backends[resource_map._account_id][resource_map._region_name]
    return backend.stacks.get(resource_map.stack_id)


def _event(
    resource_map: Any,
    logical_id: str,
    body: dict[str, Any],
    resource: Any,
    status: str,
    reason: str | None = None,
) -> None:
    stack = _stack_of(resource_map)
    if stack is None:
        return
    stack.events.append(
        models.Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=str(getattr(resource, "physical_resource_id", "") or ""),
            resource_type=body.get("Type", ""),
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


_REPORTED = "_rollout_reported"


def _with_events(parse_resource: Callable[..., Any], action: str) -> Callable[..., Any]:
    def parse_with_events(
        logical_id: str, body: dict[str, Any], resource_map: Any, *args: Any, **kwargs: Any
    ) -> Any:
        try:
            resource = parse_resource(logical_id, body, resource_map, *args, **kwargs)
        except Exception as error:
            # moto creates what a resource references from inside its creation; when that
            # failed, this resource never started, as on AWS: only the failed one is named.
            if not getattr(error, _REPORTED, False):
                _event(resource_map, logical_id, body, None, f"{action}_IN_PROGRESS")
                _event(resource_map, logical_id, body, None, f"{action}_FAILED", _reason(error))
                setattr(error, _REPORTED, True)
            raise
        if resource is not None:
            _event(resource_map, logical_id, body, resource, f"{action}_IN_PROGRESS")
            _event(resource_map, logical_id, body, resource, f"{action}_COMPLETE")
        return resource

    return parse_with_events


def _reason(error: BaseException) -> str:
    return str(getattr(error, "message", None) or error) or type(error).__name__


class _StackFailed(Exception):
    """Raised inside a stack operation; the stack's status and events already say why."""


@contextmanager
def _failing_like_cloudformation(stack: models.Stack, kind: str) -> Iterator[None]:
    """A resource that fails ends the operation as CloudFormation ends it, not the request."""
    try:
        yield
    except Exception as error:
        reason = f"The following resource(s) failed to {kind.lower()}: {_reason(error)}"
        logger.warning("stack %s: %s", stack.name, reason)
        stack.status_reason = reason
        if kind == "CREATE":
            _delete_created(stack)
            stack.status = "ROLLBACK_COMPLETE"
            stack._add_stack_event("ROLLBACK_COMPLETE", resource_status_reason=reason)
        else:
            stack.status = "UPDATE_ROLLBACK_FAILED"
            stack._add_stack_event("UPDATE_ROLLBACK_FAILED", resource_status_reason=reason)


def _delete_created(stack: models.Stack) -> None:
    resource_map = stack.resource_map
    created = [
        (name, resource)
        for name, resource in resource_map._parsed_resources.items()
        if name in resource_map._resource_json_map and resource is not None
    ]
    for name, resource in reversed(created):
        try:
            resource_map._delete_resource(resource, resource_map._resource_json_map[name])
        except Exception:  # best effort, as a rollback that can't delete leaves it
            logger.warning("could not delete %s while rolling back %s", name, stack.name)
        resource_map._parsed_resources.pop(name, None)


def _read_template_url(module: Any) -> Callable[..., str]:
    """Path-style for any host that is not an S3 virtual-hosted name (127.0.0.1:4566)."""
    read_s3_url = module.get_stack_from_s3_url

    def get_stack_from_s3_url(template_url: str, account_id: str, partition: str) -> str:
        from moto.s3.models import s3_backends

        url = urlparse(template_url)
        host = url.hostname or ""
        if host.endswith("amazonaws.com") or host.endswith("amazonaws.com.cn"):
            return str(read_s3_url(template_url, account_id=account_id, partition=partition))
        bucket, _, key = url.path.lstrip("/").partition("/")
        found = s3_backends[account_id][partition].get_object(bucket, key)
        if found is None:
            raise ValidationError(message=f"TemplateURL {template_url} names no object")
        return found.value.decode("utf-8")  # type: ignore[no-any-return]

    return get_stack_from_s3_url
