"""Lambda versions seam: deleting, numbering and counting versions as Lambda does.

What moto 5.2.5 gets wrong or lacks here (measured; recorded by the "moto alone" tests in
tests/local/test_lambda_versions.py):

- `DeleteFunction` with a qualifier deletes a version that an alias references. Lambda
  refuses with ResourceConflictException, "Unable to delete version because the
  following aliases reference it: [live]" — whether the alias points at the version
  (`FunctionVersion`) or gives it a routing weight.
- After a version is deleted, `PublishVersion` numbers the next one `len(versions) + 1`,
  reusing a number. Lambda never reuses a function's version numbers.
- `GetAccountSettings` is not implemented. Here it reports `TotalCodeSize` (every
  function's `$LATEST` and versions, and every layer version) and `FunctionCount` from
  what is stored, with Lambda's default limits (`ACCOUNT_LIMIT`), and
  `UnreservedConcurrentExecutions` as Lambda computes it: "the maximum number of
  simultaneous function executions, minus the capacity that's reserved for individual
  functions with PutFunctionConcurrency" (AccountLimit, Lambda API Reference). What
  enforces them: `ConcurrentExecutions` bounds the reservations (the cloud sets moto's
  `MOTO_LAMBDA_CONCURRENCY_QUOTA`, so PutFunctionConcurrency refuses one that leaves fewer
  than 100 unreserved, as Lambda does) and the runtime seam throttles a function at its
  reserved concurrency. Not enforced: the unreserved pool at invoke time (this cloud runs
  far fewer execution environments than 1,000) and the code sizes.
- Provisioned concurrency configs (Put/Get/List/Delete) are not implemented. Here they
  are stored and reported READY at once; a version's config goes with the version.

moto internals used (checked by tests/local/test_lambda_versions.py):
`LambdaStorage.del_function(self, name_or_arn, qualifier=None)`,
`LambdaStorage.publish_version(self, name_or_arn, description="")` (its body is
replaced: the same steps with Lambda's numbering), `LambdaStorage._functions`,
`._aliases`, `._arns`, `.split_function_arn`, `.get_function_by_name_or_arn_*`,
`LambdaBackend._lambdas`, `._layers._layers`, `.list_functions()`,
`LambdaFunction.reserved_concurrency`, `MOTO_LAMBDA_CONCURRENCY_QUOTA` (read by
`LambdaBackend.put_function_concurrency`; cloud.py sets it), `LambdaAlias.function_version` and
`.routing_config`, `moto.awslambda.urls.url_paths` (two routes added) and
`LambdaResponse` (five methods added, which moto does not have).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from moto.awslambda import urls as lambda_urls
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaBackend, LambdaFunction, LambdaStorage
from moto.awslambda.responses import LambdaResponse
from moto.core.utils import iso_8601_datetime_with_nanoseconds
from moto.utilities.utils import ARN_PARTITION_REGEX

from rollout.local.lambda_aliases import position
from rollout.local.patching import Patches
from rollout.local.seam import Cloud

# Lambda's default quotas, as GetAccountSettings reports them
ACCOUNT_LIMIT = {
    "TotalCodeSize": 80530636800,
    "CodeSizeUnzipped": 262144000,
    "CodeSizeZipped": 52428800,
    "ConcurrentExecutions": 1000,
}
ROUTES = {
    r"{0}/(?P<api_version>[^/]+)/account-settings/?$": LambdaResponse.dispatch,
    r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$": LambdaResponse.dispatch,  # noqa: E501
}
# the highest version number a function ever had, kept in moto's own per-function record
# so it goes away with the function (a re-created function starts again at 1, as on AWS)
_LAST_VERSION = "rollout:lastVersion"


class AliasReferencesVersion(LambdaClientError):
    code = 409

    def __init__(self, aliases: list[str]) -> None:
        super().__init__(
            "ResourceConflictException",
            "Unable to delete version because the following aliases reference it: "
            f"[{', '.join(aliases)}]",
        )


class ProvisionedConcurrencyConfigNotFound(LambdaClientError):
    code = 404

    def __init__(self, arn: str) -> None:
        super().__init__(
            "ProvisionedConcurrencyConfigNotFoundException",
            f"No Provisioned Concurrency Config found for this function: {arn}",
        )


class InvalidParameterValue(LambdaClientError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterValueException", message)


@dataclass
class _Provisioned:
    function_arn: str  # qualified
    requested: int
    last_modified: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "FunctionArn": self.function_arn,
            "RequestedProvisionedConcurrentExecutions": self.requested,
            "AvailableProvisionedConcurrentExecutions": self.requested,
            "AllocatedProvisionedConcurrentExecutions": self.requested,
            "Status": "READY",
            "LastModified": self.last_modified,
        }


def qualifier_of(name_or_arn: str, qualifier: str | None) -> str | None:
    """The qualifier as moto's del_function reads it (from the ARN or name first)."""
    if re.match(ARN_PARTITION_REGEX, name_or_arn):
        tail = name_or_arn.split(":function:")[-1]
        return tail.split(":")[1] if ":" in tail else qualifier
    return name_or_arn.split(":")[1] if ":" in name_or_arn else qualifier


def referencing_aliases(storage: LambdaStorage, name_or_arn: str, version: str) -> list[str]:
    if re.match(ARN_PARTITION_REGEX, name_or_arn):
        name = storage.split_function_arn(name_or_arn)[1]
    else:
        name = name_or_arn.split(":")[0]
    function = storage.get_function_by_name_or_arn_with_qualifier(name)
    unqualified, _, _ = storage.split_function_arn(function.function_arn)
    names = []
    for alias in storage._aliases.get(unqualified, {}).values():
        current, weights = position(alias)
        if current == version or version in weights:
            names.append(alias.name)
    return sorted(names)


def publish_version(
    storage: LambdaStorage, name_or_arn: str, description: str = ""
) -> LambdaFunction | None:
    """moto's publish_version with Lambda's numbering: one past the highest ever used."""
    function = storage.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
    name = function.function_name
    if name not in storage._functions or not storage._functions[name]["latest"]:
        return None
    record = storage._functions[name]
    versions = record["versions"]
    if versions:
        if not function.code_or_config_updated:
            return versions[-1]  # nothing changed: the last version again, as Lambda does
        function.code_or_config_updated = False
    highest = max([record.get(_LAST_VERSION, 0), *(int(v.version) for v in versions)])
    fn = copy.copy(record["latest"])
    fn.set_version(highest + 1)
    if description:
        fn.description = description
    versions.append(fn)
    record[_LAST_VERSION] = highest + 1
    storage._arns[fn.function_arn] = fn
    return fn


def total_code_size(backend: LambdaBackend) -> tuple[int, int]:
    """(TotalCodeSize, FunctionCount) from what the backend stores."""
    storage = backend._lambdas
    size = 0
    count = 0
    for record in list(storage._functions.values()):
        latest = record.get("latest")
        if latest is not None:
            count += 1
            size += int(latest.code_size or 0)
        size += sum(int(v.code_size or 0) for v in record["versions"])
    for layer in list(backend._layers._layers.values()):
        size += sum(int(v.code_size or 0) for v in layer.layer_versions.values())
    return size, count


def unreserved_concurrency(backend: LambdaBackend) -> int:
    """The account's concurrency less every function's reserved concurrency."""
    reserved = sum(int(f.reserved_concurrency or 0) for f in backend.list_functions())
    return ACCOUNT_LIMIT["ConcurrentExecutions"] - reserved


class LambdaVersions:
    """The seam: `LocalCloud(seams=[LambdaVersions])`; also usable under `mock_aws`
    (`install(None)`), so unit tests of the clean-up rules see Lambda's behaviour."""

    def __init__(self) -> None:
        self._patches = Patches()
        self._lock = threading.Lock()
        self._provisioned: dict[tuple[str, str, str], _Provisioned] = {}  # (acct, region, arn)
        self._routes: list[str] = []

    def install(self, cloud: Cloud | None) -> None:
        seam = self
        original_delete = LambdaStorage.del_function

        def del_function(
            storage: LambdaStorage, name_or_arn: str, qualifier: str | None = None
        ) -> None:
            version = qualifier_of(name_or_arn, qualifier)
            if version and version.isdigit():
                aliases = referencing_aliases(storage, name_or_arn, version)
                if aliases:
                    raise AliasReferencesVersion(aliases)
            original_delete(storage, name_or_arn, qualifier)
            seam._forget_provisioned(storage, name_or_arn, version)

        self._patches.replace(LambdaStorage, "del_function", del_function)
        self._patches.replace(LambdaStorage, "publish_version", publish_version)
        for name in (
            "get_account_settings",
            "put_provisioned_concurrency_config",
            "get_provisioned_concurrency_config",
            "list_provisioned_concurrency_configs",
            "delete_provisioned_concurrency_config",
        ):
            self._patches.add(LambdaResponse, name, _as_method(getattr(self, f"_{name}")))
        for route, handler in ROUTES.items():
            if route in lambda_urls.url_paths:
                raise RuntimeError(f"moto changed: Lambda already routes {route}")
            lambda_urls.url_paths[route] = handler
            self._routes.append(route)

    def uninstall(self) -> None:
        self._patches.undo()
        for route in self._routes:
            lambda_urls.url_paths.pop(route, None)
        self._routes = []
        with self._lock:
            self._provisioned.clear()

    # -- the added LambdaResponse methods (`response` is the LambdaResponse) -----------------

    def _get_account_settings(self, response: LambdaResponse) -> Any:
        size, count = total_code_size(response.backend)
        body = {
            "AccountLimit": {
                **ACCOUNT_LIMIT,
                "UnreservedConcurrentExecutions": unreserved_concurrency(response.backend),
            },
            "AccountUsage": {"TotalCodeSize": size, "FunctionCount": count},
        }
        return 200, {}, json.dumps(body)

    def _target(self, response: LambdaResponse) -> tuple[tuple[str, str, str], str]:
        name = unquote(response.path.rsplit("/", 2)[-2])
        qualifier = response.querystring.get("Qualifier", [None])[0]
        if not qualifier or qualifier == "$LATEST":
            raise InvalidParameterValue(
                "Provisioned Concurrency Configs cannot be applied to unpublished function "
                "versions."
            )
        function = response.backend.get_function(name, qualifier)  # 404 when it is missing
        unqualified = function.function_arn.rsplit(":", 1)[0]
        arn = f"{unqualified}:{qualifier}"
        return (response.current_account, response.region, arn), arn

    def _put_provisioned_concurrency_config(self, response: LambdaResponse) -> Any:
        key, arn = self._target(response)
        requested = int(json.loads(response.body or "{}")["ProvisionedConcurrentExecutions"])
        now = iso_8601_datetime_with_nanoseconds()
        config = _Provisioned(arn, requested, now)
        with self._lock:
            self._provisioned[key] = config
        body = {k: v for k, v in config.as_dict().items() if k != "FunctionArn"}
        return 202, {}, json.dumps(body)

    def _get_provisioned_concurrency_config(self, response: LambdaResponse) -> Any:
        if response.querystring.get("List"):
            return self._list_provisioned_concurrency_configs(response)
        key, arn = self._target(response)
        with self._lock:
            config = self._provisioned.get(key)
        if config is None:
            raise ProvisionedConcurrencyConfigNotFound(arn)
        body = {k: v for k, v in config.as_dict().items() if k != "FunctionArn"}
        return 200, {}, json.dumps(body)

    def _list_provisioned_concurrency_configs(self, response: LambdaResponse) -> Any:
        name = unquote(response.path.rsplit("/", 2)[-2])
        prefix = response.backend.get_function(name).function_arn + ":"
        with self._lock:
            found = [
                config.as_dict()
                for (account, region, arn), config in self._provisioned.items()
                if (account, region) == (response.current_account, response.region)
                and arn.startswith(prefix)
            ]
        return 200, {}, json.dumps({"ProvisionedConcurrencyConfigs": found})

    def _delete_provisioned_concurrency_config(self, response: LambdaResponse) -> Any:
        key, _ = self._target(response)
        with self._lock:
            self._provisioned.pop(key, None)
        return 204, {}, ""

    def _forget_provisioned(
        self, storage: LambdaStorage, name_or_arn: str, version: str | None
    ) -> None:
        """A deleted version (or function) takes its provisioned concurrency with it."""
        name = (
            storage.split_function_arn(name_or_arn)[1]
            if ":function:" in name_or_arn
            else (name_or_arn.split(":")[0])
        )
        place = (storage.account_id, storage.region_name)
        with self._lock:
            for key in list(self._provisioned):
                function, _, qualifier = key[2].split(":function:")[-1].partition(":")
                if key[:2] == place and function == name and version in (None, qualifier):
                    del self._provisioned[key]


def _as_method(handler: Callable[[LambdaResponse], Any]) -> Callable[[LambdaResponse], Any]:
    """A plain function, so `response.name()` passes the response in."""

    def method(response: LambdaResponse) -> Any:
        return handler(response)

    return method
