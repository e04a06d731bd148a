"""`rollout local sample`: the sample function for trying the commands by hand."""

import pytest

from rollout.cli import main


def test_sample_creates_orders_v1_behind_live_tagged_for_rollouts(isolated_cloud, capsys):
    # The variables are undone inside the cloud's lifetime: it puts back its own on stop.
    with isolated_cloud(seams=[]) as cloud, pytest.MonkeyPatch.context() as patch:
        for key, value in cloud.client_env().items():
            patch.setenv(key, value)
        assert main(["local", "sample", "--tagged"]) == 0
        lam = cloud.client("lambda")
        alias = lam.get_alias(FunctionName="orders", Name="live")
        arn = lam.get_function(FunctionName="orders")["Configuration"]["FunctionArn"]
        tags = lam.list_tags(Resource=arn)["Tags"]
    assert alias["FunctionVersion"] == "1"
    assert tags["rollout:alias"] == "live"
    out = capsys.readouterr().out
    assert "created orders version 1 behind alias live (tagged for rollouts)" in out


def test_sample_refuses_without_a_local_endpoint(monkeypatch, capsys):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert main(["local", "sample"]) == 1
    assert "AWS_ENDPOINT_URL is not set" in capsys.readouterr().err
