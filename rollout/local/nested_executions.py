"""The nested-execution seam: a Task starts another state machine's execution with
`arn:aws:states:::states:startExecution`, `.sync` or `.sync:2`, as Step Functions does.

AWS ("Start a new AWS Step Functions state machine execution from a running execution":
https://docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html): the
Parameters are StartExecution's (`StateMachineArn`, `Input`, `Name`); the plain form
returns `{ExecutionArn, StartDate}` at once; `.sync` and `.sync:2` wait for the child and
return its DescribeExecution with PascalCase keys and dates in epoch milliseconds (`.sync`
with `Input` and `Output` as JSON strings, `.sync:2` as JSON values); a child that fails,
times out or is aborted fails the task with `States.TaskFailed`, its Cause the child's
DescribeExecution as JSON (as LocalStack's implementation, tested against AWS snapshots,
returns it).

moto 5.2.5 copies LocalStack's interpreter but stubs out the parameter and response case
conversion (`StateTaskService._normalise_parameters` and `_normalise_response` are `pass`
in state_task_service.py), so every form failed with `States.Runtime` 'StateMachineArn'
(tests/local/test_accounts.py pins them). This seam converts: parameters to the API's camelCase
for the call, responses to PascalCase with dates as epoch milliseconds (moto's own
DescribeExecution would otherwise store datetimes the history can't serialise). The parent
polls the child every 0.5 s (moto's `_DELAY_SECONDS_SYNC_CONDITION_CHECK`); for a child in
another account Step Functions polls too ("Accessing resources in other AWS accounts").

moto internals: replaces `StateTaskServiceSfn._eval_service_task(self, env,
resource_runtime_part, normalised_parameters, state_credentials)` and
`StateTaskServiceSfn._normalise_response(self, response, boto_service_name,
service_action_name)`; uses `boto_client_for` (made role-aware by execution_roles.py),
`env.stack` and `_get_boto_service_name` / `_get_boto_service_action`. Pinned by
tests/local/test_accounts.py; the behaviour by tests/pipeline/.
"""

from __future__ import annotations

import datetime
from typing import Any

from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_sfn,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: E501
    StateTaskServiceSfn,
)

from rollout.local.patching import Patches
from rollout.local.seam import Cloud


def api_case(parameters: dict[str, Any]) -> dict[str, Any]:
    """`StateMachineArn` → `stateMachineArn`: the ASL's names as the API's."""
    return {key[:1].lower() + key[1:]: value for key, value in parameters.items()}


def sfn_case(response: dict[str, Any]) -> dict[str, Any]:
    """`executionArn` → `ExecutionArn`, dates as epoch milliseconds: as a task returns it."""
    return {key[:1].upper() + key[1:]: _epoch_ms(value) for key, value in response.items()}


def _epoch_ms(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        return int(moment.timestamp() * 1000)
    return value


class NestedExecutions:
    """`states:startExecution` (request-response, `.sync`, `.sync:2`) works."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: Cloud) -> None:
        def eval_service_task(
            task: StateTaskServiceSfn,
            env: Any,
            resource_runtime_part: Any,
            normalised_parameters: dict[str, Any],
            state_credentials: Any,
        ) -> None:
            # the module's name, looked up at call time: execution_roles.py replaces it
            client = state_task_service_sfn.boto_client_for(
                region=resource_runtime_part.region,
                service=task._get_boto_service_name(),
                state_credentials=state_credentials,
            )
            call = getattr(client, task._get_boto_service_action())
            response = dict(call(**api_case(normalised_parameters)))
            response.pop("ResponseMetadata", None)
            env.stack.append(sfn_case(response))

        def normalise_response(
            task: StateTaskServiceSfn,
            response: Any,
            boto_service_name: str | None = None,
            service_action_name: str | None = None,
        ) -> None:
            converted = sfn_case(dict(response))  # in place: the caller keeps its reference
            response.clear()
            response.update(converted)

        self._patches.replace(StateTaskServiceSfn, "_eval_service_task", eval_service_task)
        self._patches.replace(StateTaskServiceSfn, "_normalise_response", normalise_response)

    def uninstall(self) -> None:
        self._patches.undo()
