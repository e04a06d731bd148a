"""The moto internals the multi-account seams rely on (accounts.py, execution_roles.py,
nested_executions.py), pinned: an upgrade of moto that moves them fails here, not in a
pipeline's run. Their behaviour is tested through pipelines in tests/pipeline/."""

from __future__ import annotations

import importlib
import inspect

import pytest
from moto.iam.models import iam_backends
from moto.stepfunctions.parser.asl.component.state.exec.state_task.credentials import (
    StateCredentials,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: E501
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task import StateTask

from rollout.local.accounts import HOME_ACCOUNT, check_accounts, places
from rollout.local.execution_roles import MODULES

_SFN_SERVICE = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn"
)


@pytest.mark.parametrize("module", MODULES)
def test_every_interpreter_module_the_role_seam_patches_has_boto_client_for(module: str) -> None:
    assert callable(importlib.import_module(module).boto_client_for)


def test_the_interpreter_keeps_what_the_role_and_nested_seams_replace(no_cloud: None) -> None:
    # moto's own, not a seam's: no cloud (whose seams replace them) runs meanwhile
    assert list(inspect.signature(StateTask._eval_state_credentials).parameters) == [
        "self",
        "env",
    ]
    assert "role_arn" in inspect.signature(StateCredentials).parameters
    assert list(inspect.signature(StateTaskServiceSfn._eval_service_task).parameters) == [
        "self",
        "env",
        "resource_runtime_part",
        "normalised_parameters",
        "state_credentials",
    ]
    assert list(inspect.signature(StateTaskServiceSfn._normalise_response).parameters) == [
        "self",
        "response",
        "boto_service_name",
        "service_action_name",
    ]
    # what nested_executions.py calls on the integration, and the interval its parent polls at
    assert callable(StateTaskServiceSfn._get_boto_service_name)
    assert callable(StateTaskServiceSfn._get_boto_service_action)
    assert callable(importlib.import_module(_SFN_SERVICE).boto_client_for)
    callback = importlib.import_module(_SFN_SERVICE.replace("_sfn", "_callback"))
    assert callback._DELAY_SECONDS_SYNC_CONDITION_CHECK == 0.5


def test_iam_backends_are_per_account() -> None:
    backend = iam_backends["210987654321"]["aws"]
    assert callable(backend.create_role) and callable(backend.get_role)


def test_accounts_are_checked_and_the_home_comes_first() -> None:
    check_accounts([HOME_ACCOUNT, "210987654321"])
    for bad in (["210987654321"], [HOME_ACCOUNT, HOME_ACCOUNT], [HOME_ACCOUNT, "12"]):
        with pytest.raises(ValueError):
            check_accounts(bad)
    found = places([HOME_ACCOUNT, "210987654321"], ["us-east-1", "eu-west-1"])
    assert str(found[0]) == f"{HOME_ACCOUNT}/us-east-1" and len(found) == 4
