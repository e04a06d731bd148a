"""Control latency: from an operator's control written to its effect seen on the alias.

Two kinds of trial, each on its own function, in concurrent batches:
- abort during a step: one 50 % step that never ends on its own, checked every
  `check_interval` seconds; a random 0.3 … 2 x interval after the shift, `abort` is written
  exactly as `rollout abort` writes it; the effect is GetAlias on the stable version with
  no routing (through Roll back);
- approve at a gate: the same step ended by `promote --full`, held before Promote by an
  approval gate; once the channel says awaiting-approval, `approve` is written; the effect
  is GetAlias on the new version with no routing (Promote).
The target for both is the issue's: within one check interval + 2 s.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rollout_core.channel import Control
from rollout_core.names import ErrorName

from benchmarks import cloudrun
from benchmarks.cloudrun import Deadline
from benchmarks.reaction import Settings, wait_until
from benchmarks.stats import summary
from benchmarks.targets import ALIAS, Fleet, Target, alias_state
from rollout.commands.control import send

STEP_SECONDS = 300  # the step never ends during a trial: only the control ends it
BY = "arn:aws:iam::123456789012:user/benchmark"


def request(target: Target, check_interval: int, gated: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "functionName": target.name,
        "alias": ALIAS,
        "targetVersion": target.new,
        "strategy": {"steps": [{"percentage": 50, "waitSeconds": STEP_SECONDS}]},
        "checkIntervalSeconds": check_interval,
        "preTraffic": False,
    }
    if gated:
        document["approval"] = {"before": "promote", "timeoutSeconds": 3600}
    return document


def _lock(dynamodb: Any, table: str, target: Target) -> dict[str, str]:
    item = dynamodb.get_item(
        TableName=table, Key={"lockKey": {"S": f"{target.name}:{ALIAS}"}}, ConsistentRead=True
    ).get("Item")
    return {k: str(next(iter(v.values()))) for k, v in (item or {}).items()}


def trial(
    clients: dict[str, Any], arn: str, table: str, target: Target, kind: str, settings: Settings
) -> dict[str, Any]:
    lam, sfn, ddb = clients["lambda"], clients["stepfunctions"], clients["dynamodb"]
    document = request(target, settings.check_interval, gated=kind == "approve")
    execution = cloudrun.start(sfn, arn, document)
    deadline = Deadline(60, f"{kind} trial on {target.name}")
    wait_until(lambda: _lock(ddb, table, target).get("phase") == "step", 0.05, deadline)
    key = f"{target.name}:{ALIAS}"
    if kind == "abort":
        time.sleep(random.uniform(0.3, 2 * settings.check_interval))
        expected = (target.stable, {})
    else:
        send(ddb, table, key, execution, Control.new("promote-full", "benchmark", BY))
        wait_until(
            lambda: _lock(ddb, table, target).get("state") == "awaiting-approval", 0.05, deadline
        )
        expected = (target.new, {})
    send(ddb, table, key, execution, Control.new(kind, "benchmark", BY))
    sent = time.monotonic()
    wait_until(lambda: alias_state(lam, target) == expected, settings.poll, deadline)
    seconds = time.monotonic() - sent
    described = cloudrun.wait_for_end(sfn, execution, timeout=30)
    return {
        "function": target.name,
        "seconds": round(seconds, 3),
        "status": described["status"],
        "error": described.get("error"),
    }


def run(
    clients: dict[str, Any], fleet: Fleet, arn: str, table: str, trials: int, settings: Settings
) -> dict[str, Any]:
    results: dict[str, Any] = {
        "checkIntervalSeconds": settings.check_interval,
        "pollSeconds": settings.poll,
    }
    for kind in ("abort", "approve"):
        targets = fleet.create(trials)
        outcomes: list[dict[str, Any]] = []
        for start in range(0, trials, settings.batch):
            group = targets[start : start + settings.batch]
            with ThreadPoolExecutor(max_workers=len(group)) as pool:
                futures = [
                    pool.submit(trial, clients, arn, table, t, kind, settings) for t in group
                ]
                outcomes += [future.result() for future in futures]
        expected = ("FAILED", ErrorName.ROLLOUT_ABORTED) if kind == "abort" else ("SUCCEEDED", None)
        results[kind] = {
            "trials": outcomes,
            "summary": summary([o["seconds"] for o in outcomes]),
            "asExpected": sum((o["status"], o["error"]) == expected for o in outcomes),
        }
    return results
