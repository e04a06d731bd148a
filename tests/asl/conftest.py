"""The rollout state machine definition, raw and with its placeholders filled in.

Fixtures only: pytest loads this file as a plugin, so test modules take what they need
through fixtures instead of importing it (an import would load a second copy).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ASL_PATH = Path(__file__).resolve().parents[2] / "statemachine" / "rollout.asl.json"
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")

# DefinitionSubstitutions key → the task Lambda's folder under functions/.
TASK_FUNCTIONS: dict[str, str] = {
    "PrepareFunctionArn": "prepare",
    "TrafficCheckFunctionArn": "traffic_check",
    "ShiftTrafficFunctionArn": "shift_traffic",
    "CheckHealthFunctionArn": "check_health",
    "PromoteFunctionArn": "promote",
    "RollbackFunctionArn": "rollback",
    "FinalizeFunctionArn": "finalize",
    "CleanUpFunctionArn": "clean_up",
    "WaitForOperatorFunctionArn": "wait_for_operator",
    "StartTelemetryFunctionArn": "start_telemetry",
    "WaitForCheckFunctionArn": "wait_for_check",
}


@pytest.fixture(scope="session")
def asl_text() -> str:
    """statemachine/rollout.asl.json as committed, `${...}` placeholders and all."""
    return ASL_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def asl(asl_text: str) -> dict[str, Any]:
    """The definition parsed as JSON (placeholders only ever sit inside strings)."""
    definition: dict[str, Any] = json.loads(asl_text)
    return definition


@pytest.fixture(scope="session")
def asl_placeholders(asl_text: str) -> set[str]:
    """The DefinitionSubstitutions keys the definition uses."""
    return set(PLACEHOLDER.findall(asl_text))


@pytest.fixture(scope="session")
def task_functions() -> dict[str, str]:
    """DefinitionSubstitutions key → task name, for every task Lambda the workflow calls."""
    return dict(TASK_FUNCTIONS)


@pytest.fixture(scope="session")
def substituted_asl(asl_text: str) -> Callable[[Callable[[str], str]], str]:
    """`substituted_asl(arn_for)`: the definition with each `${XFunctionArn}` → arn_for(task)."""

    def substitute(arn_for: Callable[[str], str]) -> str:
        return PLACEHOLDER.sub(lambda match: arn_for(TASK_FUNCTIONS[match.group(1)]), asl_text)

    return substitute
