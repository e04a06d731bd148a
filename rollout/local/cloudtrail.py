"""CloudTrail seam: the event history records the Step Functions calls the cloud serves, and
LookupEvents reads it as CloudTrail does.

moto 5.2.5's CloudTrail has trails but no event history: LookupEvents finds no handler and
the server answers an HTML 500, so `aws cloudtrail lookup-events` (the AWS CLI's way to see
who started an execution: Step Functions itself doesn't record the caller) fails.

AWS behaviour:
- "CloudTrail is active in your AWS account when you create it" and the event history
  holds "the past 90 days of recorded management events in an AWS Region" ("Working with
  CloudTrail event history", AWS CloudTrail User Guide,
  https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events.html).
  Step Functions records StartExecution and StopExecution as management events, the
  execution input hidden ("Logging AWS Step Functions API calls using AWS CloudTrail",
  https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cloud-trail.html);
  a failed call is recorded with its `errorCode` and `errorMessage`.
- LookupEvents (AWS CloudTrail API Reference,
  https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html):
  at most one lookup attribute (AccessKeyId, EventId, EventName, EventSource, ReadOnly,
  ResourceName, ResourceType, Username), matched exactly; StartTime and EndTime
  inclusive (start after end: InvalidTimeRangeException); "The default number of results
  returned is 50, with a maximum of 50 possible" (InvalidMaxResultsException), with a
  NextToken (an unknown one: InvalidNextTokenException); newest events first. Each Event
  has EventId, EventName, ReadOnly ("true"/"false"), AccessKeyId, EventTime, EventSource,
  Username, Resources [{ResourceType, ResourceName}] and CloudTrailEvent, the record as a
  JSON string.
- The identity is the caller's as GetCallerIdentity resolves it (an IAM user, a role
  session, the account root); Username is the user's name, the session's name, or "root".

Not emulated: CloudTrail's delivery delay (events are readable at once; AWS delivers them
"within an average of about 5 minutes of an API call"); the other services' calls; calls
made by services on the account's behalf (an EventBridge rule starting an execution goes
to moto's backend, not through the API, so it isn't recorded); Insights events. LookupEvents'
quota (two a second per account and Region) is the quotas middleware's (quota_table.py).

moto internals (pinned by tests/local/test_cloudtrail.py): wraps
`StepFunctionResponse.start_execution(self)` and `.stop_execution(self)` (they return
`ActionResult`s whose `.result` has the response elements); reads `BaseResponse._get_param`,
`.get_access_key()`, `.current_account`, `.region`; `sts_backends[account][partition]
.get_caller_identity(access_key_id, region)`; adds `CloudTrailResponse.lookup_events(self)`
(refused if moto has it), which moto's dispatch calls by the action's name.
"""

from __future__ import annotations

import datetime
import functools
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.exceptions import AWSError, JsonRESTError
from moto.stepfunctions.responses import StepFunctionResponse
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

MAX_RESULTS = 50
LOOKUP_KEYS = (
    "AccessKeyId",
    "EventId",
    "EventName",
    "EventSource",
    "ReadOnly",
    "ResourceName",
    "ResourceType",
    "Username",
)
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"


def _refuse(kind: str, message: str) -> AWSError:
    """A LookupEvents refusal: HTTP 400, its code in `__type`."""
    return AWSError(message, exception_type=kind)


@dataclass(frozen=True)
class Identity:
    """The caller as CloudTrail's `userIdentity` and LookupEvents' Username show it."""

    kind: str  # IAMUser, AssumedRole, Root
    arn: str
    principal_id: str
    account_id: str
    access_key_id: str
    username: str

    @classmethod
    def of(cls, access_key_id: str, account_id: str, region: str) -> Identity:
        backend = sts_backends[account_id][get_partition(region)]
        principal_id, arn, account = backend.get_caller_identity(access_key_id, region)
        resource = arn.split(":", 5)[-1]
        if resource.startswith("assumed-role/"):
            return cls(
                "AssumedRole", arn, principal_id, account, access_key_id, resource.split("/")[-1]
            )
        if resource == "root":
            return cls("Root", arn, principal_id, account, access_key_id, "root")
        return cls("IAMUser", arn, principal_id, account, access_key_id, resource.split("/")[-1])

    def record(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "type": self.kind,
            "principalId": self.principal_id,
            "arn": self.arn,
            "accountId": self.account_id,
            "accessKeyId": self.access_key_id,
        }
        if self.kind == "IAMUser":
            shown["userName"] = self.username
        if self.kind == "AssumedRole":
            role = self.arn.split(":assumed-role/")[1].rsplit("/", 1)[0]
            shown["sessionContext"] = {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": f"arn:{self.arn.split(':')[1]}:iam::{self.account_id}:role/{role}",
                    "accountId": self.account_id,
                    "userName": role,
                }
            }
        return shown


@dataclass(frozen=True)
class TrailEvent:
    """One recorded management event: what LookupEvents filters on, and the record."""

    event_id: str
    name: str
    source: str
    time: datetime.datetime
    read_only: bool
    identity: Identity
    resources: tuple[tuple[str, str], ...]  # (type, name)
    record: dict[str, Any]

    def matches(self, key: str, value: str) -> bool:
        values = {
            "AccessKeyId": [self.identity.access_key_id],
            "EventId": [self.event_id],
            "EventName": [self.name],
            "EventSource": [self.source],
            "ReadOnly": [str(self.read_only).lower()],
            "Username": [self.identity.username],
            "ResourceType": [kind for kind, _ in self.resources],
            "ResourceName": [name for _, name in self.resources],
        }
        return value in values[key]

    def as_lookup_event(self) -> dict[str, Any]:
        return {
            "EventId": self.event_id,
            "EventName": self.name,
            "ReadOnly": str(self.read_only).lower(),
            "AccessKeyId": self.identity.access_key_id,
            "EventTime": self.time.timestamp(),
            "EventSource": self.source,
            "Username": self.identity.username,
            "Resources": [{"ResourceType": t, "ResourceName": n} for t, n in self.resources],
            "CloudTrailEvent": json.dumps(self.record),
        }


class EventHistory:
    """The event history of every account and Region, newest last."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, str], list[TrailEvent]] = {}
        self._lock = threading.Lock()

    def add(self, account_id: str, region: str, event: TrailEvent) -> None:
        with self._lock:
            self._events.setdefault((account_id, region), []).append(event)

    def lookup(self, account_id: str, region: str, request: dict[str, Any]) -> dict[str, Any]:
        """LookupEvents' answer to `request` (its JSON body)."""
        attributes = request.get("LookupAttributes") or []
        limit = _max_results(request.get("MaxResults"))
        start, end = _time_range(request.get("StartTime"), request.get("EndTime"))
        if len(attributes) > 1:
            raise _refuse(
                "InvalidLookupAttributesException", "You can only specify one lookup attribute."
            )
        for attribute in attributes:
            if attribute.get("AttributeKey") not in LOOKUP_KEYS:
                raise _refuse(
                    "InvalidLookupAttributesException",
                    f"Invalid attribute key: {attribute.get('AttributeKey')}",
                )
        with self._lock:
            events = list(reversed(self._events.get((account_id, region), [])))
        found = [
            event
            for event in events
            if (start is None or event.time >= start)
            and (end is None or event.time <= end)
            and all(
                event.matches(a["AttributeKey"], str(a.get("AttributeValue"))) for a in attributes
            )
        ]
        offset = _offset(request.get("NextToken"), found)
        page = found[offset : offset + limit]
        answer: dict[str, Any] = {"Events": [event.as_lookup_event() for event in page]}
        if offset + limit < len(found):
            answer["NextToken"] = found[offset + limit].event_id
        return answer


def _max_results(value: Any) -> int:
    if value is None:
        return MAX_RESULTS
    if not 1 <= int(value) <= MAX_RESULTS:
        raise _refuse(
            "InvalidMaxResultsException", f"MaxResults must be between 1 and {MAX_RESULTS}."
        )
    return int(value)


def _moment(value: Any) -> datetime.datetime | None:
    if value is None:
        return None
    return datetime.datetime.fromtimestamp(float(value), datetime.UTC)


def _time_range(start: Any, end: Any) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    first, last = _moment(start), _moment(end)
    if first is not None and last is not None and first > last:
        raise _refuse("InvalidTimeRangeException", "Start time must be before end time.")
    return first, last


def _offset(token: Any, found: list[TrailEvent]) -> int:
    """Where the page a NextToken names starts (the token is that page's first event id)."""
    if token is None:
        return 0
    for index, event in enumerate(found):
        if event.event_id == token:
            return index
    raise _refuse("InvalidNextTokenException", "Invalid NextToken.")


# -- what is recorded ------------------------------------------------------------------

Resources = Callable[[dict[str, Any]], list[tuple[str, str]]]  # from the request


@dataclass(frozen=True)
class Recorded:
    """One API whose calls are recorded: how its request and response show in the record."""

    method: str  # the moto response method
    name: str
    parameters: tuple[str, ...]
    hidden: tuple[str, ...]
    resources: Resources


STATES = "states.amazonaws.com"
STEP_FUNCTIONS_CALLS = (
    Recorded(
        "start_execution",
        "StartExecution",
        ("stateMachineArn", "name", "input", "traceHeader"),
        ("input",),
        lambda request: [("AWS::StepFunctions::StateMachine", request["stateMachineArn"])],
    ),
    Recorded(
        "stop_execution",
        "StopExecution",
        ("executionArn", "error", "cause"),
        ("cause",),
        lambda request: [("AWS::StepFunctions::Execution", request["executionArn"])],
    ),
)


def _response_elements(result: Any) -> dict[str, Any] | None:
    elements = getattr(result, "result", None)
    if not isinstance(elements, dict):
        return None
    return {
        key: value.isoformat() if isinstance(value, datetime.datetime) else value
        for key, value in elements.items()
    }


def trail_event(
    call: Recorded,
    response: StepFunctionResponse,
    result: Any,
    error: JsonRESTError | None,
) -> TrailEvent:
    """The management event of one call, as CloudTrail records it."""
    now = datetime.datetime.now(datetime.UTC)
    identity = Identity.of(response.get_access_key(), response.current_account, response.region)
    request = {name: response._get_param(name) for name in call.parameters}
    request = {name: value for name, value in request.items() if value is not None}
    shown = {name: HIDDEN if name in call.hidden else value for name, value in request.items()}
    event_id = str(uuid.uuid4())
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": identity.record(),
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": STATES,
        "eventName": call.name,
        "awsRegion": response.region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": str(response.headers.get("User-Agent", "")),
        "requestParameters": shown,
        "responseElements": _response_elements(result),
        "requestID": str(uuid.uuid4()),
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": response.current_account,
        "eventCategory": "Management",
    }
    resources: list[tuple[str, str]] = []
    if error is not None:
        record["errorCode"], record["errorMessage"] = error.error_type, error.message
    else:
        resources = call.resources(request)
    return TrailEvent(event_id, call.name, STATES, now, False, identity, tuple(resources), record)


class CloudTrailEvents:
    """The seam: records Step Functions management events; answers LookupEvents."""

    def __init__(self) -> None:
        self._patches = Patches()
        self.history = EventHistory()

    def install(self, cloud: Cloud) -> None:
        history = self.history
        for call in STEP_FUNCTIONS_CALLS:
            original = getattr(StepFunctionResponse, call.method)
            self._patches.replace(
                StepFunctionResponse, call.method, _recording(call, original, history)
            )

        def lookup_events(response: CloudTrailResponse) -> str:
            answer = history.lookup(
                response.current_account, response.region, json.loads(response.body or "{}")
            )
            return json.dumps(answer)

        self._patches.add(CloudTrailResponse, "lookup_events", lookup_events)

    def uninstall(self) -> None:
        self._patches.undo()


def _recording(call: Recorded, original: Any, history: EventHistory) -> Any:
    @functools.wraps(original)
    def recorded(response: StepFunctionResponse) -> Any:
        try:
            result = original(response)
        except JsonRESTError as error:
            history.add(
                response.current_account, response.region, trail_event(call, response, None, error)
            )
            raise
        history.add(
            response.current_account, response.region, trail_event(call, response, result, None)
        )
        return result

    return recorded
