"""`rollout demo` end to end: a healthy release rolled out, a faulty one rolled back by the
logs signal (the demo's cloud has AWS's metric delay: no metric is readable that soon)."""

import re

import pytest

from rollout.cli import main

pytestmark = pytest.mark.slow


def test_demo_rolls_out_the_healthy_release_and_rolls_back_the_faulty_one(own_cloud, capsys):
    code = main(["demo", "--time-scale", "0.02", "--check-interval", "1", "--rate", "40"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "✔ Succeeded: version 2 is live on orders:live" in out
    assert re.search(r"✖ Rolled back: HealthCheckFailed: Rolled back orders:live to version 2", out)
    assert "AWS's delays: Lambda metrics readable 60 s after their minute ends" in out
    assert "AWS's API rate quotas enforced per account and Region" in out
    assert re.search(r"AWS's API rate quotas enforced: [1-9]\d* API calls, \d+ throttled", out)
    console = r"Console \(live while the demo runs\): http://127\.0\.0\.1:\d+/\?token=\S{43}"
    assert re.search(console, out), out
    caught = re.search(r"Caught by the (.+?): version 3 failed (\d+)/(\d+) invocations", out)
    assert caught is not None, out
    assert caught[1] == "logs signal" and 0 < int(caught[2]) <= int(caught[3])
    assert "Caught by the metric gate" not in out
    summary = out[out.index("Demo summary") :]
    assert re.search(r"│ 2\s+│ 2\s+│ rolled out\s+│ \d+ s\s+│ v2", summary)
    assert re.search(r"│ 3\s+│ 3\s+│ rolled back by the logs signal\s+│ \d+ s\s+│ v2", summary)
    # it ends with the clean-up: v1 unused and beyond the newest 1, v2 live, v3 the newest
    ending = out[out.index("Old versions cleaned up") :]
    assert re.search(r"^\s+1\s.*\sdeleted\s+older than the newest 1,", ending, re.M)
    assert "Versions kept: v3, v2." in ending
    assert re.search(r"freed [1-9][\d.]* (B|KB)", ending)
