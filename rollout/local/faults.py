"""Fault-injection seam: make the local cloud answer chosen API calls with AWS-shaped errors.

Reliability tests (and anyone running `rollout local up`) add rules such as "throttle the
next two UpdateAlias calls" or "make the Roll back task time out". Every request the moto
server handles — from the task Lambdas' processes, the Step Functions interpreter and
test code alike — passes through `BaseResponse.call_action` once its service, operation
and parameters are known, so that is the one narrow place to patch. No rules, no effect:
the patched method then delegates at once.

A rule answers with an error (serialised by moto's own serializer, so each protocol gets
the error body botocore parses: JSON, query XML, rest-json), with a delay, or — for
Lambda Invoke — with a function error (`Unhandled`, `Sandbox.Timedout`) as Lambda reports
a crashed or timed-out function. `after=True` runs the call first and then answers with
the fault: the side effect happened, the caller never learns it did.

moto internals used (moto 5.2.5; checked by tests/reliability/test_faults.py):
`BaseResponse.call_action(self)`, `.serialized(ActionResult)`, `._get_action()`,
`.boto3_service_name`, `.uri_match`, `.headers`, `.raw_body`, `.querystring`.
`ROLLOUT_LOCAL_FAULTS` (a JSON list of rule objects) preloads rules at install.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
import warnings
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

ENV_RULES = "ROLLOUT_LOCAL_FAULTS"
# botocore adds "exec-env/$AWS_EXECUTION_ENV" to its User-Agent; the Lambda runtime seam
# sets AWS_EXECUTION_ENV=AWS_Lambda_<runtime> in every function's environment.
_LAMBDA_CALLER = "exec-env/AWS_Lambda_"
# Request parameters that name the resource a call is about, per protocol.
_RESOURCE_KEYS = (
    "FunctionName",
    "TableName",
    "TopicArn",
    "EventBusName",
    "stateMachineArn",
    "executionArn",
    "AlarmNames",
    "AlarmNames.member.1",
)


class InjectedFault(ServiceException):
    """Defined outside moto's packages, so moto serialises it with the called service's own
    error model (moto derives a service from a moto exception's module name)."""


@dataclass
class FaultRule:
    """One fault. `service` is the boto3 name ("lambda", "dynamodb", "sns", "events",
    "cloudwatch", "stepfunctions"); `operation` the API name ("UpdateAlias"); None = any.

    Fires on up to `count` matching calls (None: every one), each with `probability`.
    `error_code=None` with a delay makes a slow call that then succeeds.
    """

    service: str
    operation: str | None = None
    error_code: str | None = "ThrottlingException"
    status: int = 400
    message: str = "Rate exceeded"
    count: int | None = 1
    probability: float = 1.0
    delay_seconds: float = 0.0
    resource: str | None = None  # function (no qualifier), table, topic ARN, alarm name ...
    # text (or texts, all required) in the request body, whitespace ignored: '"phase": "bake"'
    body_contains: str | tuple[str, ...] | None = None
    from_lambda: bool | None = None  # True: only calls made inside functions; False: others
    after: bool = False  # run the call, then answer with the fault
    function_error: str | None = None  # Invoke only: answer 200 + FunctionError, this errorType
    fired: int = field(default=0, compare=False)

    @property
    def is_fault(self) -> bool:
        """False for a rule that only delays the call."""
        return self.error_code is not None or self.function_error is not None

    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> FaultRule:
        known = {f.name for f in fields(cls)} - {"fired"}
        unknown = set(document) - known
        if unknown:
            raise ValueError(f"unknown fault rule keys: {', '.join(sorted(unknown))}")
        return cls(**document)


def throttle(service: str, operation: str, count: int | None = 1, **options: Any) -> FaultRule:
    """The throttling error each service really sends for `operation`."""
    codes = {
        "lambda": ("TooManyRequestsException", 429),
        "dynamodb": ("ProvisionedThroughputExceededException", 400),
    }
    code, status = codes.get(service, ("ThrottlingException", 400))
    return FaultRule(service, operation, code, status, "Rate exceeded", count, **options)


def unavailable(
    service: str, operation: str | None = None, count: int | None = 1, **options: Any
) -> FaultRule:
    """A 5xx: ServiceException for Lambda, InternalServerError/ServiceUnavailable elsewhere."""
    code = {"lambda": "ServiceException", "dynamodb": "InternalServerError"}.get(
        service, "ServiceUnavailable"
    )
    status = 503 if code == "ServiceUnavailable" else 500
    return FaultRule(
        service, operation, code, status, "Service unavailable (injected)", count, **options
    )


def crash(
    function_name: str, error_type: str = "Unhandled", count: int | None = 1, **options: Any
) -> FaultRule:
    """The function `function_name` fails when invoked: `Sandbox.Timedout` as a timeout,
    anything else as an uncaught exception of that type."""
    message = (
        "Task timed out after 30.00 seconds"
        if error_type == "Sandbox.Timedout"
        else "injected crash"
    )
    return FaultRule(
        "lambda",
        "Invoke",
        None,
        200,
        message,
        count,
        resource=function_name,
        function_error=error_type,
        **options,
    )


class FaultInjection:
    """The seam; `cloud.faults.add(throttle("lambda", "UpdateAlias", 2))`."""

    def __init__(self) -> None:
        self.random = random.Random(7)  # probabilities are reproducible run to run
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._patches = Patches()
        self.injected = 0  # faults answered since install

    def install(self, cloud: Cloud) -> None:
        original = BaseResponse.call_action
        seam = self

        def call_action(response: BaseResponse) -> Any:
            return seam.handle(response, original)

        self._patches.replace(BaseResponse, "call_action", call_action)
        for document in json.loads(os.environ.get(ENV_RULES) or "[]"):
            self.add(FaultRule.from_dict(document))

    def uninstall(self) -> None:
        self._patches.undo()
        self.clear()

    # -- rules -------------------------------------------------------------------------

    def add(self, *rules: FaultRule) -> FaultRule:
        """Activate rules; returns the first (to read `fired` later)."""
        with self._lock:
            self._rules.extend(rules)
        return rules[0]

    def remove(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules = [r for r in self._rules if r is not rule]

    def clear(self) -> None:
        with self._lock:
            self._rules = []

    @property
    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(rule) for rule in self._rules]

    # -- the patched dispatch ------------------------------------------------------------

    def handle(self, response: BaseResponse, original: Any) -> Any:
        if not self._rules:  # the common case: no lookup at all
            return original(response)
        call = _Call.of(response)
        rule = self._claim(call, after=False)
        if rule is not None:
            time.sleep(rule.delay_seconds)
            if rule.is_fault:
                return _answer(response, rule)
        result = original(response)
        late = self._claim(call, after=True)
        if late is None:
            return result
        time.sleep(late.delay_seconds)
        return _answer(response, late) if late.is_fault else result

    def _claim(self, call: _Call, *, after: bool) -> FaultRule | None:
        """The first live rule matching the call, counted as fired (or None)."""
        with self._lock:
            for rule in self._rules:
                if rule.after != after or rule.exhausted() or not call.matches(rule):
                    continue
                if rule.probability < 1.0 and self.random.random() >= rule.probability:
                    continue
                rule.fired += 1
                self.injected += 1
                return rule
        return None


def _answer(response: BaseResponse, rule: FaultRule) -> Any:
    if rule.function_error:
        return _function_error(rule)
    assert rule.error_code is not None
    with warnings.catch_warnings():  # codes like ThrottlingException are not in every model
        warnings.simplefilter("ignore", UserWarning)
        _, headers, body = response.serialized(
            ActionResult(InjectedFault(rule.error_code, rule.message))
        )
    # AWS sends a request id with every error; Step Functions quotes it in the Cause
    headers = {**headers, "x-amzn-requestid": str(uuid.uuid4())}
    return rule.status, headers, body


def _function_error(rule: FaultRule) -> tuple[int, dict[str, str], str]:
    """What Lambda answers when the function crashed or timed out (HTTP 200)."""
    body = {"errorMessage": rule.message, "errorType": rule.function_error}
    if rule.function_error != "Sandbox.Timedout":
        body["stackTrace"] = []
    headers = {
        "content-type": "application/json",
        "x-amz-function-error": "Unhandled",
        "x-amz-executed-version": "$LATEST",
    }
    return 200, headers, json.dumps(body)


@dataclass(frozen=True)
class _Call:
    """What a rule can match on, read once from moto's parsed request."""

    service: str
    operation: str
    resources: frozenset[str]
    body: str
    from_lambda: bool

    @classmethod
    def of(cls, response: BaseResponse) -> _Call:
        operation = response._get_action() or ""
        # raw_body: DynamoDB's handler swaps `body` for its parsed parameters
        raw = response.raw_body
        body = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw or "")
        if not body and response.querystring:  # a form-encoded (query protocol) request
            body = json.dumps(response.querystring, default=str)
        agent = str(response.headers.get("User-Agent", ""))
        return cls(
            response.boto3_service_name,
            operation,
            _resources(response, body),
            _squeezed(body),
            _LAMBDA_CALLER in agent,
        )

    def matches(self, rule: FaultRule) -> bool:
        return (
            rule.service == self.service
            and rule.operation in (None, self.operation)
            and (rule.resource is None or rule.resource in self.resources)
            and all(_squeezed(text) in self.body for text in _texts(rule.body_contains))
            and (rule.from_lambda is None or rule.from_lambda == self.from_lambda)
        )


def _texts(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _squeezed(text: str) -> str:
    """Without whitespace: JSON bodies differ in spacing between SDKs and the interpreter."""
    return "".join(text.split())


def _resources(response: BaseResponse, body: str) -> frozenset[str]:
    values: list[Any] = list((getattr(response, "uri_match", None) or {}).values())
    try:
        document = json.loads(body) if body.startswith("{") else {}
    except ValueError:
        document = {}
    query = response.querystring or {}
    for key in _RESOURCE_KEYS:
        if isinstance(document, dict) and key in document:
            values.append(document[key])
        if key in query:
            values.extend(query[key])
    names: set[str] = set()
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            names.update(_names_of(str(item)))
    return frozenset(names)


def _names_of(value: str) -> set[str]:
    """A value and, for a Lambda function name/ARN, its bare name without qualifier."""
    names = {value}
    if ":function:" in value:
        value = value.split(":function:", 1)[1]
    names.add(value.split(":", 1)[0])
    return names
