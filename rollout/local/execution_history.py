"""Execution history seam: GetExecutionHistory pages as Step Functions pages it.

AWS behaviour (GetExecutionHistory, AWS Step Functions API Reference,
https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html):
"By default, the results are returned in ascending order of the timeStamp of the events.
Use the reverseOrder parameter to get the latest events first." `maxResults`: "The default
is 100 and the maximum allowed page size is 1000. A value of 0 uses the default" (valid
range 0-1000; above it the request fails ValidationException). "If nextToken is returned,
there are more results available … Make the call again using the returned token to retrieve
the next page. Keep all other arguments unchanged. Each pagination token expires after 24
hours. Using an expired pagination token will return an HTTP 400 InvalidToken error."
ListExecutions documents the same `maxResults` range (API_ListExecutions.html).
`includeExecutionData`: "You can select whether execution data (input or output of a history
event) is returned. The default is true." With false, each event's details lose `input`,
`inputDetails`, `output` and `outputDetails`: moto's own rule for the same switch of a
state machine's CloudWatch Logs (`EventManager._remove_data_from_history_log`), reused here.

moto 5.2.5 reads only `executionArn`: every call returns every event, oldest first, with its
data and no nextToken (457 events for `maxResults=3, reverseOrder=True`). Its ListExecutions pages
(moto's `@paginate`, InvalidToken on a bad token) but accepts any `maxResults`, so the seam
adds only the range check there.

A token here names the execution, the order and the last event id it returned, with the
time it was issued, signed with a key of this seam's own: a token that was altered, came
from another cloud (a restart), is older than 24 hours, or is used with another execution
or order is InvalidToken. Events are appended with increasing ids and never change, so a
page after a given id is stable while the execution runs on.

moto internals (pinned by tests/local/test_execution_history.py): replaced
`StepFunctionResponse.get_execution_history(self)` and `.list_executions(self)` (the check,
then moto's); read `StepFunctionResponse._get_param`, `._get_int_param`,
`.stepfunction_backend.get_execution_history(execution_arn)` (`{"events": [...]}`, each
event with an integer `id` and its details under `…EventDetails`);
`moto.core.responses.ActionResult`; `EventManager._remove_data_from_history_log(details)`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.stepfunctions.exceptions import InvalidToken, ValidationException
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.responses import StepFunctionResponse

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

DEFAULT_PAGE = 100
MAX_PAGE = 1000
TOKEN_LIFETIME_SECONDS = 24 * 3600


def page_size(requested: int | None) -> int:
    """The page size a request asks for: 0 or none is the default; above 1000 is refused."""
    if requested is not None and requested > MAX_PAGE:
        raise ValidationException(
            f"1 validation error detected: Value '{requested}' at 'maxResults' failed to "
            f"satisfy constraint: Member must have value less than or equal to {MAX_PAGE}"
        )
    return requested or DEFAULT_PAGE


class PageTokens:
    """Signed page tokens: what a page ended at, for which request, and when."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock

    def issue(self, execution_arn: str, reverse: bool, last_id: int) -> str:
        body = json.dumps(
            {"e": execution_arn, "r": reverse, "a": last_id, "t": int(self._clock())},
            separators=(",", ":"),
        ).encode()
        return _b64(body) + "." + _b64(self._sign(body))

    def last_id(self, token: str, execution_arn: str, reverse: bool) -> int:
        """The event id the token's page ended at; InvalidToken unless it is this seam's,
        unaltered, under 24 hours old, and for this execution and order."""
        try:
            encoded_body, encoded_signature = token.split(".")
            body = _unb64(encoded_body)
            if not hmac.compare_digest(_unb64(encoded_signature), self._sign(body)):
                raise ValueError("signature")
            fields = json.loads(body)
            issued, after = int(fields["t"]), int(fields["a"])
            same_request = fields["e"] == execution_arn and fields["r"] is reverse
        except (ValueError, KeyError, TypeError):
            raise InvalidToken("Invalid token") from None
        if not same_request:
            raise InvalidToken("Input inconsistent with page token")
        if self._clock() - issued > TOKEN_LIFETIME_SECONDS:
            raise InvalidToken("Token expired")
        return after

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def history_page(
    events: list[dict[str, Any]], limit: int, reverse: bool, after: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of events in the asked order, after the event id `after`; and the id the
    next page starts after, or None when this page is the last."""
    ordered = sorted(events, key=lambda event: int(event["id"]), reverse=reverse)
    if after is not None:
        ordered = [
            e for e in ordered if (int(e["id"]) < after if reverse else int(e["id"]) > after)
        ]
    page = ordered[:limit]
    more = len(ordered) > limit
    return page, int(page[-1]["id"]) if more else None


def without_execution_data(event: dict[str, Any]) -> dict[str, Any]:
    """The event as `includeExecutionData=false` returns it: its details without their
    input and output (moto's event is left as it is)."""
    shown = dict(event)
    for key, details in event.items():
        if key.endswith("EventDetails") and isinstance(details, dict):
            shown[key] = dict(details)
            EventManager._remove_data_from_history_log(details_body=shown[key])
    return shown


class ExecutionHistoryPages:
    """The seam: GetExecutionHistory honours maxResults, reverseOrder, nextToken and
    includeExecutionData; ListExecutions refuses a page size over 1000."""

    def __init__(self) -> None:
        self._patches = Patches()
        self.tokens = PageTokens(secrets.token_bytes(32))

    def install(self, cloud: Cloud) -> None:
        tokens = self.tokens
        list_executions = StepFunctionResponse.list_executions

        def get_execution_history(response: StepFunctionResponse) -> ActionResult:
            arn = str(response._get_param("executionArn"))
            reverse = bool(response._get_param("reverseOrder", False))
            limit = page_size(response._get_int_param("maxResults"))
            token = response._get_param("nextToken")
            after = tokens.last_id(token, arn, reverse) if token else None
            events = list(response.stepfunction_backend.get_execution_history(arn)["events"])
            page, next_after = history_page(events, limit, reverse, after)
            if not response._get_param("includeExecutionData", True):
                page = [without_execution_data(event) for event in page]
            answer: dict[str, Any] = {"events": page}
            if next_after is not None:
                answer["nextToken"] = tokens.issue(arn, reverse, next_after)
            return ActionResult(answer)

        @functools.wraps(list_executions)
        def checked_list_executions(response: StepFunctionResponse) -> Any:
            page_size(response._get_int_param("maxResults"))
            return list_executions(response)

        self._patches.replace(StepFunctionResponse, "get_execution_history", get_execution_history)
        self._patches.replace(StepFunctionResponse, "list_executions", checked_list_executions)

    def uninstall(self) -> None:
        self._patches.undo()
