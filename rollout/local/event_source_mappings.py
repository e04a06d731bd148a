"""Event source mapping seam: mappings keep the qualifier they were given, are listed by
function name, and SQS is polled and batched as Lambda's pollers do it (sqs_poller.py).

AWS behaviour (AWS Lambda Developer Guide and API Reference):
- "Using Lambda aliases in event sources": "If you specify a Lambda function alias in the
  mapping configuration, you don't need to update the mapping when the function version
  changes." The mapping's FunctionArn is the alias (or version) ARN it was created with, and
  every batch invokes through it, so an alias's weights decide the version of each batch.
- ListEventSourceMappings' FunctionName takes a function name, a function ARN, "Version or
  Alias ARN" or a partial ARN. A qualified name lists that qualifier's mappings. For an
  unqualified one the reference is silent on whether mappings on the function's aliases and
  versions are included; this seam includes them (a function name names the function with
  every qualifier; LocalStack's emulation does the same). rollout_core.traffic doesn't rely
  on either reading: it lists the account's mappings and matches them itself. At most 100
  mappings per page ("MaxItems ... returns a maximum of 100 items in each response"), with
  NextMarker.
- CreateEventSourceMapping on a function, version or alias that doesn't exist fails
  ResourceNotFoundException; for SQS, "Your function's timeout must be less than or equal to
  the queue's visibility timeout. Lambda validates this requirement when you create or update
  an event source mapping and will return an error" (Creating and configuring an Amazon SQS
  event source mapping).
- SQS messages are read by pollers, asynchronously from SendMessage (sqs_poller.py).

moto 5.2.5 instead resolves an alias to its version at creation (FunctionArn `fn:1` for
ever), lists only mappings whose FunctionName string equals the one given, and invokes the
function inside SendMessage itself, one message per call.

moto internals (pinned by tests/local/test_event_source_mappings.py):
- replaced: `LambdaBackend.create_event_source_mapping(self, spec)` (moto's own runs, then
  FunctionArn is set to the qualified ARN and an SQS mapping is taken off
  `Queue.lambda_event_source_mappings`, which SendMessage reads), `.update_event_source_
  mapping(self, uuid, spec)`, `.delete_event_source_mapping(self, uuid)`,
  `.list_event_source_mappings(self, event_source_arn, function_name)`, and
  `LambdaResponse.list_event_source_mappings(self)` (pagination);
- read: `LambdaBackend._event_source_mappings`, `EventSourceMapping.function_arn`,
  `event_source_arn`, `enabled`, `batch_size`, `max_batch_window`,
  `function_response_types`; `sqs_backends[...].get_queue`, `Queue.visibility_timeout`,
  `Queue.lambda_event_source_mappings`, `receive_message`, `delete_message`.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from moto.awslambda.exceptions import InvalidParameterValueException
from moto.awslambda.models import EventSourceMapping, LambdaBackend
from moto.awslambda.responses import LambdaResponse
from moto.sqs.models import sqs_backends
from moto.utilities.arns import parse_arn

from rollout.local.patching import Patches
from rollout.local.seam import Cloud
from rollout.local.sqs_poller import SqsPoller, mapping_of

PAGE_SIZE = 100  # ListEventSourceMappings' most items per response


def qualified_arn(backend: LambdaBackend, function_name: str) -> str:
    """The FunctionArn a mapping keeps: the function's ARN with the qualifier it was named
    with (alias or version), after checking that function and qualifier exist."""
    name, qualifier = _split(function_name)
    function = backend.get_function(name)  # UnknownFunctionException, as Lambda answers
    base = function.function_arn.split(f":function:{name}")[0] + f":function:{name}"
    if qualifier is None or qualifier == "$LATEST":
        return base if qualifier is None else f"{base}:$LATEST"
    if qualifier.isdigit():
        backend.get_function(name, qualifier)  # the version must exist
    else:
        backend.get_alias(qualifier, name)  # UnknownAliasException
    return f"{base}:{qualifier}"


def _split(function_name: str) -> tuple[str, str | None]:
    """Name and qualifier of a name, `name:qualifier`, a (partial) ARN, qualified or not."""
    rest = (
        function_name.split(":function:", 1)[1] if ":function:" in function_name else function_name
    )
    name, _, qualifier = rest.partition(":")
    return name, qualifier or None


def matches(esm_function_arn: str, wanted: str) -> bool:
    """Does a mapping on `esm_function_arn` answer ListEventSourceMappings(FunctionName=
    wanted)? A qualified name: that qualifier only; an unqualified one: every qualifier."""
    name, qualifier = _split(wanted)
    esm_name, esm_qualifier = _split(esm_function_arn)
    if name != esm_name:
        return False
    return qualifier is None or qualifier == esm_qualifier


class EventSourceMappings:
    """The seam: qualified FunctionArns, listing by function name, SQS pollers."""

    def __init__(self) -> None:
        self._patches = Patches()
        self._pollers: dict[str, SqsPoller] = {}
        self._lock = threading.Lock()

    def install(self, cloud: Cloud) -> None:
        seam = self
        create = LambdaBackend.create_event_source_mapping
        update = LambdaBackend.update_event_source_mapping
        delete = LambdaBackend.delete_event_source_mapping

        def create_event_source_mapping(
            backend: LambdaBackend, spec: dict[str, Any]
        ) -> EventSourceMapping:
            function_arn = qualified_arn(backend, str(spec.get("FunctionName") or ""))
            _check_visibility(backend, spec.get("EventSourceArn"), function_arn)
            esm = create(backend, spec)
            esm.function_arn = function_arn
            seam._take_over(backend, esm)
            return esm

        def update_event_source_mapping(
            backend: LambdaBackend, uuid: str, spec: dict[str, Any]
        ) -> EventSourceMapping | None:
            function_arn = None
            if spec.get("FunctionName"):
                function_arn = qualified_arn(backend, str(spec["FunctionName"]))
            esm = update(backend, uuid, spec)
            if esm is not None:
                if function_arn is not None:
                    esm.function_arn = function_arn
                seam._take_over(backend, esm)
            return esm

        def delete_event_source_mapping(
            backend: LambdaBackend, uuid: str
        ) -> EventSourceMapping | None:
            seam._stop(uuid)
            return delete(backend, uuid)

        def list_event_source_mappings(
            backend: LambdaBackend, event_source_arn: str | None, function_name: str | None
        ) -> list[EventSourceMapping]:
            found = list(backend._event_source_mappings.values())
            if event_source_arn:
                found = [esm for esm in found if esm.event_source_arn == event_source_arn]
            if function_name:
                found = [esm for esm in found if matches(esm.function_arn, function_name)]
            return found

        self._patches.replace(
            LambdaBackend, "create_event_source_mapping", create_event_source_mapping
        )
        self._patches.replace(
            LambdaBackend, "update_event_source_mapping", update_event_source_mapping
        )
        self._patches.replace(
            LambdaBackend, "delete_event_source_mapping", delete_event_source_mapping
        )
        self._patches.replace(
            LambdaBackend, "list_event_source_mappings", list_event_source_mappings
        )
        self._patches.replace(LambdaResponse, "list_event_source_mappings", _paginated_list)

    def uninstall(self) -> None:
        self._patches.undo()
        with self._lock:
            pollers, self._pollers = list(self._pollers.values()), {}
        for poller in pollers:
            poller.stop()

    # -- pollers -------------------------------------------------------------------------

    def _take_over(self, backend: LambdaBackend, esm: EventSourceMapping) -> None:
        """An SQS mapping is polled by the seam, never by SendMessage; enabled or not, its
        poller follows the mapping's state."""
        if esm.event_source_arn.split(":")[2] != "sqs":
            return
        queue = _queue(esm.event_source_arn)
        for key, mapped in list(queue.lambda_event_source_mappings.items()):
            if mapped is esm:
                del queue.lambda_event_source_mappings[key]
        if esm.enabled:
            self._start(backend, esm.uuid)
        else:
            self._stop(esm.uuid)

    def _start(self, backend: LambdaBackend, uuid: str) -> None:
        with self._lock:
            if uuid in self._pollers:
                return

            def read() -> Any:
                esm = backend._event_source_mappings.get(uuid)
                return mapping_of(esm) if esm is not None and esm.enabled else None

            poller = self._pollers[uuid] = SqsPoller(read)
        poller.start()

    def _stop(self, uuid: str) -> None:
        with self._lock:
            poller = self._pollers.pop(uuid, None)
        if poller is not None:
            poller.stop()


def _queue(queue_arn: str) -> Any:
    arn = parse_arn(queue_arn)
    return sqs_backends[arn.account][arn.region].get_queue(arn.resource_id)


def _check_visibility(backend: LambdaBackend, source_arn: Any, function_arn: str) -> None:
    """Lambda refuses an SQS mapping whose function may run longer than the queue hides a
    message (the batch would be delivered twice)."""
    if not isinstance(source_arn, str) or source_arn.split(":")[2:3] != ["sqs"]:
        return
    try:
        queue = _queue(source_arn)
    except Exception:  # moto's own create answers an unknown queue
        return
    name, qualifier = _split(function_arn)
    version = qualifier if qualifier and qualifier.isdigit() else None
    timeout = int(backend.get_function(name, version).timeout or 3)
    visibility = int(queue.visibility_timeout)
    if timeout > visibility:
        raise InvalidParameterValueException(
            f"Queue visibility timeout: {visibility} seconds is less than Function timeout: "
            f"{timeout} seconds"
        )


def _paginated_list(response: LambdaResponse) -> str:
    """ListEventSourceMappings with Marker and MaxItems (at most 100 per page)."""
    query = response.querystring
    source = query.get("EventSourceArn", [None])[0]
    function = query.get("FunctionName", [None])[0]
    marker = query.get("Marker", [None])[0]
    wanted = int(query.get("MaxItems", [PAGE_SIZE])[0])
    found = sorted(response.backend.list_event_source_mappings(source, function), key=_uuid)
    start = next((i for i, esm in enumerate(found) if esm.uuid == marker), 0) if marker else 0
    page = found[start : start + min(max(wanted, 1), PAGE_SIZE)]
    result: dict[str, Any] = {"EventSourceMappings": [esm.get_configuration() for esm in page]}
    if start + len(page) < len(found):
        result["NextMarker"] = found[start + len(page)].uuid
    return json.dumps(result)


def _uuid(esm: EventSourceMapping) -> str:
    return str(esm.uuid)
