"""The functions rolled out: `bench-<n>`, version 1 live behind `live`, version 2 to roll out.

The handler reads a flag item from a DynamoDB table in the local cloud on every call,
so a published version (whose code and configuration can't change) starts failing on
demand, as a version that breaks under real traffic does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from rollout import samples
from rollout.samples import lambda_role

ALIAS = "live"
HANDLER = '''\
import os

import boto3

_dynamodb = None


def handler(event, context):
    """Fails while the flag item for this function version says so."""
    global _dynamodb
    if _dynamodb is None:
        _dynamodb = boto3.client("dynamodb")
    key = f"{context.function_name}:{context.function_version}"
    item = _dynamodb.get_item(TableName=os.environ["FLAG_TABLE"],
                              Key={"flag": {"S": key}}).get("Item", {})
    if item.get("fail", {}).get("BOOL"):
        raise RuntimeError(f"injected failure in {key}")
    return {"ok": True, "version": context.function_version}
'''


@dataclass(frozen=True)
class Target:
    name: str
    stable: str
    new: str
    flag_table: str


def code_zip() -> bytes:
    return samples.code_zip({"app.py": HANDLER})


def prepare_account(cloud: Any, prefix: str) -> tuple[str, str]:
    """The flag table and the functions' role; returns their names (table, role ARN)."""
    table = f"{prefix}-failure-flags"
    cloud.client("dynamodb").create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "flag", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "flag", "KeyType": "HASH"}],
    )
    role = lambda_role(cloud.client("iam"), f"{prefix}-target-role")
    return table, role


def create(lam: Any, role_arn: str, table: str, name: str) -> Target:
    """Version 1 behind the alias, version 2 published next to it (a configuration change)."""
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": code_zip()},
        Timeout=10,
        Environment={"Variables": {"FLAG_TABLE": table, "RELEASE": "1"}},
    )
    stable = str(lam.publish_version(FunctionName=name)["Version"])
    lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion=stable)
    lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"FLAG_TABLE": table, "RELEASE": "2"}}
    )
    new = str(lam.publish_version(FunctionName=name)["Version"])
    return Target(name, stable, new, table)


class Fleet:
    """Hands out fresh target functions; each rollout gets its own (the lock is per alias)."""

    def __init__(self, cloud: Any, prefix: str = "bench") -> None:
        self._prefix = prefix
        # many functions created at once on Lambda's control-plane quota (15 a second)
        self._lam = cloud.client("lambda", max_pool_connections=50)
        self._table, self._role = prepare_account(cloud, prefix)
        self._count = 0
        self._lock = threading.Lock()

    def create(self, count: int) -> list[Target]:
        with self._lock:
            names = [f"{self._prefix}-{self._count + i:03d}" for i in range(count)]
            self._count += count
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(
                pool.map(lambda name: create(self._lam, self._role, self._table, name), names)
            )


def set_failing(dynamodb: Any, target: Target, failing: bool) -> None:
    dynamodb.put_item(
        TableName=target.flag_table,
        Item={"flag": {"S": f"{target.name}:{target.new}"}, "fail": {"BOOL": failing}},
    )


def alias_state(lam: Any, target: Target) -> tuple[str, dict[str, float]]:
    alias = lam.get_alias(FunctionName=target.name, Name=ALIAS)
    weights = alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})
    return str(alias["FunctionVersion"]), weights


class Traffic:
    """Steady calls to each target's alias, one thread per target (a slow call to one
    function never holds back the others), as users would send them."""

    def __init__(self, lam: Any, targets: list[Target], per_second: float) -> None:
        self._lam = lam
        self._interval = 1.0 / per_second
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(t,), name=f"traffic-{t.name}", daemon=True)
            for t in targets
        ]

    def _run(self, target: Target) -> None:
        while not self._stop.wait(self._interval):
            self._lam.invoke(FunctionName=target.name, Qualifier=ALIAS, Payload=b"{}")

    @contextmanager
    def running(self) -> Iterator[Traffic]:
        for thread in self._threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in self._threads:
                thread.join(timeout=15)


def warm(lam: Any, targets: list[Target]) -> None:
    """Start each new version's environment before its rollout: a cold start under the
    first shifted request would delay the failure the trial injects, not the reaction."""
    samples.warm_versions(lam, {target.name: target.new for target in targets})
