"""Which functions this deployment may touch, checked in code as well as in IAM.

IAM scopes every alias change, read and invoke to the template parameter
`TargetFunctionNamePattern`; the same pattern reaches the code as
TARGET_FUNCTION_NAME_PATTERN, so a function outside it is refused with a clear
message even where IAM is wider than the template (a hand-edited role, moto, an
admin running the code). `*` and `?` mean what they mean in an IAM resource ARN
(any run of characters, one character); nothing else is special, unlike fnmatch's
`[...]`.

The rollout's own functions are never targets, whatever the pattern: the running
task itself (AWS_LAMBDA_FUNCTION_NAME, which Lambda sets) and every function
tagged with this stack's id (ROLLOUT_STACK_ID), either by CloudFormation
(`aws:cloudformation:stack-id`) or by the template's Globals (STACK_TAG).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from functools import cache

from .errors import InvalidRolloutRequest

PATTERN_ENV = "TARGET_FUNCTION_NAME_PATTERN"
STACK_ENV = "ROLLOUT_STACK_ID"
STACK_TAG = "lambda-rollout:stack-id"
CLOUDFORMATION_STACK_TAG = "aws:cloudformation:stack-id"
# Lambda's own rule for a function name (the part after `function:` in an ARN).
FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def matches(name: str, pattern: str) -> bool:
    """IAM wildcard semantics, case-sensitive like ARN matching."""
    return _compiled(pattern).fullmatch(name) is not None


def pattern() -> str:
    return os.environ.get(PATTERN_ENV) or "*"


def in_scope(name: str) -> bool:
    return FUNCTION_NAME.fullmatch(name) is not None and matches(name, pattern())


def check_name(field: str, name: str) -> None:
    """A valid function name, inside the pattern, and not the running task itself."""
    if not FUNCTION_NAME.fullmatch(name):
        raise InvalidRolloutRequest(
            f"{field}: {name!r} is not a Lambda function name "
            "(1-64 letters, digits, hyphens or underscores)"
        )
    if not matches(name, pattern()):
        raise InvalidRolloutRequest(
            f"{field}: {name} is outside this deployment's scope: "
            f"TargetFunctionNamePattern is {pattern()!r}"
        )
    if name == os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise InvalidRolloutRequest(f"{field}: {name} is a function of the rollout itself")


def check_stack(field: str, name: str, read_tags: Callable[[], Mapping[str, str]]) -> None:
    """Refuse the functions of this rollout stack (they carry its id in a tag)."""
    stack = os.environ.get(STACK_ENV)
    if not stack:
        return  # outside a deployed stack (unit tests): nothing of ours to protect
    tags = read_tags()
    if stack in (tags.get(STACK_TAG), tags.get(CLOUDFORMATION_STACK_TAG)):
        raise InvalidRolloutRequest(
            f"{field}: {name} is a function of the rollout itself (stack {stack})"
        )


def recheck(field: str, name_or_arn: str) -> None:
    """The defensive re-check of tasks after Prepare: IAM may be wider than the pattern."""
    parts = name_or_arn.split(":")
    check_name(field, parts[6] if name_or_arn.startswith("arn:") and len(parts) > 6 else parts[0])
