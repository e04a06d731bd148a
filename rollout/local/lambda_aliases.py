"""Alias revision seam: an alias's RevisionId changes on every update, and UpdateAlias with
a stale RevisionId fails, so the rollout's drift protection can be exercised locally.

AWS behaviour (Lambda API Reference, UpdateAlias): "RevisionId: Only update the alias if
the revision ID matches the ID that's specified. Use this option to avoid modifying an alias
that has changed since you last read it." A mismatch answers HTTP 412
PreconditionFailedException ("The RevisionId provided does not match the latest RevisionId
for the Lambda function or alias. Call the GetFunction or the GetAlias API operation to
retrieve the latest RevisionId for your resource."). Every successful update gives the
alias a new RevisionId (GetAlias: "A unique identifier that changes when you update the
alias"), and UpdateAlias answers 200.

moto 5.2.5 keeps the RevisionId an alias was created with for ever and ignores the
parameter ("The RevisionId parameter is not yet implemented").

moto internals (pinned by tests/local/test_lambda_aliases.py):
- replaced: `LambdaAlias.update(self, description, function_version, routing_config)`
  (moto's own runs, then a new `revision_id`), `LambdaResponse.update_alias(self)` (the
  RevisionId check, under one lock with the update, then moto's own; status 200);
- read: `LambdaResponse.path`, `.body`, `.backend.get_alias(name, function_name)`,
  `LambdaAlias.revision_id`, `.function_version`, `.routing_config` (`weights`, `position`:
  the one reading of an alias's routing for the runtime, the version store and the tests).
"""

from __future__ import annotations

import functools
import json
import threading
import uuid
from typing import Any
from urllib.parse import unquote

from moto.awslambda.exceptions import PreconditionFailedException
from moto.awslambda.models import LambdaAlias
from moto.awslambda.responses import LambdaResponse

from rollout.local.patching import Patches
from rollout.local.seam import Cloud

STALE_REVISION = (
    "The RevisionId provided does not match the latest RevisionId for the Lambda function or "
    "alias. Call the GetFunction or the GetAlias API to retrieve the latest RevisionId "
    "for your resource."
)


def weights(alias: LambdaAlias) -> dict[str, float]:
    """The alias's additional versions and their weights, as moto holds them."""
    found = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
    return {str(version): float(weight) for version, weight in found.items()}


def position(alias: LambdaAlias) -> tuple[str, dict[str, float]]:
    """(its version, {additional version: weight}): where the alias stands, as applied."""
    return str(alias.function_version), weights(alias)


class AliasRevisions:
    """The seam: RevisionId per alias update, checked by UpdateAlias."""

    def __init__(self) -> None:
        self._patches = Patches()
        self._lock = threading.Lock()  # a check and its update are one step, as on AWS

    def install(self, cloud: Cloud) -> None:
        update, respond = LambdaAlias.update, LambdaResponse.update_alias
        self._patches.replace(LambdaAlias, "update", _new_revision(update))
        self._patches.replace(LambdaResponse, "update_alias", self._checked(respond))

    def uninstall(self) -> None:
        self._patches.undo()

    def _checked(self, original: Any) -> Any:
        lock = self._lock

        @functools.wraps(original)
        def update_alias(response: LambdaResponse) -> Any:
            function_name = unquote(response.path.rsplit("/")[-3])
            alias_name = unquote(response.path.rsplit("/", 2)[-1])
            wanted = (json.loads(response.body or "{}") or {}).get("RevisionId")
            with lock:
                if wanted is not None:
                    alias = response.backend.get_alias(alias_name, function_name)
                    if wanted != alias.revision_id:
                        raise PreconditionFailedException(STALE_REVISION)
                _status, headers, body = original(response)
            return 200, {**headers, "status": 200}, body

        return update_alias


def _new_revision(original: Any) -> Any:
    @functools.wraps(original)
    def update(
        alias: LambdaAlias,
        description: str | None,
        function_version: str | None,
        routing_config: str | None,
    ) -> None:
        original(alias, description, function_version, routing_config)
        alias.revision_id = str(uuid.uuid4())

    return update
