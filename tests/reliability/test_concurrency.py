"""Many rollouts at once: 50 different functions all succeed; 10 starts on one alias →
exactly one proceeds and the other nine are refused by the lock, touching nothing."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from rollout_core.models import Plan

from tests.reliability.rollouts import (
    alias_of,
    approve,
    code_zip,
    lock_holder,
    rollout_input,
    sample_function,
    start,
    wait_for_end,
    wait_until,
)

pytestmark = [pytest.mark.cloud, pytest.mark.slow]

MANY = 50
# On a 2-CPU machine, 50 simultaneous cold starts of each task Lambda (one process each)
# starve one another past Lambda's 10 s INIT limit; AWS gives every environment its own
# CPU. Spreading the starts lets warm environments be reused, as they would be on AWS.
STAGGER_SECONDS = 0.05
SAME_ALIAS = 10
# All 50 end within this (a quiet machine: ~100 s; one loaded by other test processes: more).
ALL_END_SECONDS = 480


def minimal(name: str, target: str) -> dict:
    """The smallest real rollout: all at once, no pre-traffic check, one health check."""
    document = rollout_input(name, target)
    return document | {"strategy": "AllAtOnce", "preTraffic": False}


def test_fifty_rollouts_of_different_functions_at_once_all_succeed(cloud, faults):
    names = [f"many-{index:02d}" for index in range(MANY)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = dict(
            zip(names, pool.map(lambda n: sample_function(cloud, n), names), strict=True)
        )
    arns = []
    for name in names:  # all 50 in flight together; the starts 50 ms apart (see below)
        arns.append(start(cloud, minimal(name, versions[name][1])))
        time.sleep(STAGGER_SECONDS)

    deadline = time.monotonic() + ALL_END_SECONDS
    ended = [wait_for_end(cloud, arn, timeout=deadline - time.monotonic()) for arn in arns]

    assert [e["status"] for e in ended] == ["SUCCEEDED"] * MANY, [
        (e["name"], e.get("error"), e.get("cause")) for e in ended if e["status"] != "SUCCEEDED"
    ]
    for name in names:
        assert alias_of(cloud, name) == (versions[name][1], {}), name
        assert lock_holder(cloud, name) is None, name


def test_ten_starts_of_one_version_roll_it_out_once(cloud, faults):
    """The same release started ten times (EventBridge retries, CI and the rule both
    firing): one execution rolls it out, the nine others end quietly naming it. The winner
    waits at an approval gate until the nine have ended: a start whose Prepare ran after the
    rollout had ended would rightly find the version already live, and a loaded machine
    must not turn the test into that other case."""
    name = "contended"
    stable, target = sample_function(cloud, name)
    document = rollout_input(name, target, (2,), approval={"before": "promote"})
    with ThreadPoolExecutor(max_workers=SAME_ALIAS) as pool:
        arns = list(pool.map(lambda _: start(cloud, document), range(SAME_ALIAS)))

    winner = wait_until(lambda: lock_holder(cloud, name), 120, "a start to take the lock")
    others = {arn: wait_for_end(cloud, arn, timeout=120) for arn in arns if arn != winner}
    approve(cloud, name, winner)
    ended = others | {winner: wait_for_end(cloud, winner, timeout=120)}

    assert [e["status"] for e in ended.values()] == ["SUCCEEDED"] * SAME_ALIAS
    plans = {arn: Plan.model_validate(json.loads(e["output"])["plan"]) for arn, e in ended.items()}
    assert [arn for arn, plan in plans.items() if plan.action == "rollout"] == [winner]
    duplicates = [plan for arn, plan in plans.items() if arn != winner]
    assert [(p.action, p.rolledOutBy) for p in duplicates] == [("duplicate", winner)] * (
        SAME_ALIAS - 1
    )
    assert alias_of(cloud, name) == (target, {})
    assert lock_holder(cloud, name) is None
    assert stable != target


def test_starts_of_different_versions_on_one_alias_let_exactly_one_through(cloud, faults):
    name = "contended-versions"
    sample_function(cloud, name)
    lam = cloud.client("lambda")
    targets = []
    for label in ("v3", "v4", "v5", "v6"):
        lam.update_function_code(FunctionName=name, ZipFile=code_zip(label))
        targets.append(str(lam.publish_version(FunctionName=name)["Version"]))
    gated = {"approval": {"before": "promote"}}  # held until the others end (see above)
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        arns = list(
            pool.map(lambda t: start(cloud, rollout_input(name, t, (2,), **gated)), targets)
        )

    winner = wait_until(lambda: lock_holder(cloud, name), 120, "a start to take the lock")
    ended = {arn: wait_for_end(cloud, arn, timeout=120) for arn in arns if arn != winner}
    approve(cloud, name, winner)
    ended[winner] = wait_for_end(cloud, winner, timeout=120)

    outcomes = sorted((e["status"], e.get("error")) for e in ended.values())
    assert outcomes == [("FAILED", "RolloutInProgress")] * (len(targets) - 1) + [
        ("SUCCEEDED", None)
    ]
    (won,) = [arn for arn, e in ended.items() if e["status"] == "SUCCEEDED"]
    assert alias_of(cloud, name) == (targets[arns.index(won)], {})
    assert lock_holder(cloud, name) is None
