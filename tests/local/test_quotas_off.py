"""Quotas on by default; off only when asked: `LocalCloud(quotas=False)` and `rollout local
up --quotas off` count every call and throttle none, and the command says that this is
kinder than AWS."""

from __future__ import annotations

import argparse
import threading
from typing import Any

import pytest

from rollout.commands import local
from rollout.local.cloud import LocalCloud


def test_every_cloud_the_suite_benchmarks_and_demo_start_enforces_quotas(cloud: Any) -> None:
    """On by default: the shared cloud of the tests, as `LocalCloud()` everywhere else
    (`rollout local up`, make demo, the benchmarks) builds it."""
    assert cloud.quotas.enforced is True
    assert LocalCloud(template=None).quotas.enforced is True


def test_a_cloud_with_quotas_off_only_counts(isolated_cloud: Any) -> None:
    with isolated_cloud(seams=[], quotas=False) as cloud:
        logs = cloud.client("logs", retries={"mode": "standard", "total_max_attempts": 1})
        for _ in range(30):
            logs.describe_log_groups()
        (row,) = cloud.quotas.stats()["buckets"]
        assert (row["allowed"], row["throttled"]) == (30, 0)


def test_local_up_quotas_off_warns_that_it_is_kinder_than_aws(
    own_cloud: None, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    local.register(parser.add_subparsers())
    assert parser.parse_args(["local", "up"]).quotas == "on"
    args = parser.parse_args(["local", "up", "--no-deploy", "--port", "0", "--quotas", "off"])
    stop = threading.Event()
    stop.set()
    outcome: list[int] = []
    # on a thread, as its tests run it: the command leaves signal handlers alone there
    runner = threading.Thread(target=lambda: outcome.append(local.run_up(args, stop)))
    runner.start()
    runner.join(timeout=120)
    assert outcome == [0]
    captured = capsys.readouterr()
    assert "kinder than AWS" in " ".join(captured.err.split())
    assert "AWS's API rate quotas: off" in captured.out
