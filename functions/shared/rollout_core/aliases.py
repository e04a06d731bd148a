"""Alias reads and weight changes, only from where this rollout left the alias.

Weights are compared with a tolerance (Lambda stores doubles; never compare floats for
equality). Updates carry the RevisionId read for the drift check, so a change made
between the read and the write is refused by Lambda too, and the result is read back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from . import clients, scope
from .errors import AliasDrift

WEIGHT_TOLERANCE = 1e-5  # plan weights differ by at least 1e-4 (two-decimal percentages)


@dataclass(frozen=True)
class Position:
    """Where an alias routes: its version plus at most one extra weighted version."""

    version: str
    extra: dict[str, float] = field(default_factory=dict)

    def same_as(self, other: Position) -> bool:
        return (
            self.version == other.version
            and self.extra.keys() == other.extra.keys()
            and all(
                math.isclose(w, other.extra[v], abs_tol=WEIGHT_TOLERANCE)
                for v, w in self.extra.items()
            )
        )

    def describe(self) -> str:
        shares = ", ".join(f"{w * 100:g}% on version {v}" for v, w in self.extra.items())
        return f"version {self.version}" + (f" with {shares}" if shares else "")


@dataclass(frozen=True)
class AliasState:
    position: Position
    revision_id: str | None


def split(stable: str, target: str, weight: float) -> Position:
    return Position(stable, {target: weight}) if weight > 0 else Position(stable)


def read(function: str, alias: str) -> AliasState:
    found = clients.lambda_().get_alias(FunctionName=function, Name=alias)
    weights = (found.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    position = Position(found["FunctionVersion"], {v: float(w) for v, w in weights.items()})
    return AliasState(position, found.get("RevisionId"))


def move(
    function: str, alias: str, expected: list[Position], new: Position, *, verify: bool = True
) -> Position:
    """Set the alias to `new` if it is at one of `expected`; AliasDrift otherwise.

    Returns where the alias was found. Already at `new` counts as done (a retried task).
    """
    scope.recheck("functionName", function)  # the only place an alias is written
    current = read(function, alias)
    if current.position.same_as(new):
        return current.position
    if not any(current.position.same_as(position) for position in expected):
        raise AliasDrift(_drift_message(function, alias, current.position, expected))
    _update(function, alias, new, current.revision_id)
    if verify:
        after = read(function, alias).position
        if not after.same_as(new):
            raise AliasDrift(
                f"{function}:{alias} reads {after.describe()} after setting {new.describe()}"
            )
    return current.position


def _update(function: str, alias: str, new: Position, revision_id: str | None) -> None:
    args = {
        "FunctionName": function,
        "Name": alias,
        "FunctionVersion": new.version,
        "RoutingConfig": {"AdditionalVersionWeights": dict(new.extra)},
    }
    if revision_id:
        args["RevisionId"] = revision_id
    try:
        clients.lambda_().update_alias(**args)
    except ClientError as error:
        if error.response["Error"]["Code"] == "PreconditionFailedException":
            raise AliasDrift(
                f"{function}:{alias} changed while this rollout was updating it"
            ) from None
        raise


def _drift_message(function: str, alias: str, found: Position, expected: list[Position]) -> str:
    wanted = " or ".join(position.describe() for position in expected)
    return (
        f"{function}:{alias} is at {found.describe()}, expected {wanted}; "
        "someone else changed it, so this rollout leaves it alone"
    )
