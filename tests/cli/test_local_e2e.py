"""`rollout start --watch`, `watch` and `status` against the embedded local cloud: the real
template, state machine and task Lambdas, and a small Python function with versions and an
alias. Asserts exit codes and where the alias ends up."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from rollout import samples
from rollout.cli import main
from rollout.samples import lambda_role
from tests.conftest import REPO

SEAMS = ("deploy", "lambda_runtime", "eventbridge", "stepfunctions", "alarms")
MISSING = [
    f"rollout.local.{seam}"
    for seam in SEAMS
    if importlib.util.find_spec(f"rollout.local.{seam}") is None
]
if not (REPO / "template.yaml").is_file():
    MISSING.append("template.yaml")

pytestmark = [
    pytest.mark.cloud,
    pytest.mark.skipif(bool(MISSING), reason=f"local cloud not complete yet: no {MISSING}"),
]

FUNCTION = "cli-orders"
ALIAS = "live"
HANDLER = """
def handler(event, context):
    if {fail_always} or (isinstance(event, dict) and event.get("order") == "bad" and {fail_bad}):
        raise RuntimeError("broken build {label}")
    return {{"ok": True, "build": "{label}"}}
"""
FAST = [
    "--strategy",
    "Canary10Percent5Minutes",
    "--time-scale",
    "0.01",  # 3 s at 10 %
    "--check-interval",
    "1",
    "--watch",
    "--interval",
    "0.2",
    "--timeout",
    "90",
]


def code_zip(label: str, fail_always: bool = False, fail_bad: bool = False) -> bytes:
    source = HANDLER.format(label=label, fail_always=fail_always, fail_bad=fail_bad)
    return samples.code_zip({"app.py": source})


@pytest.fixture(scope="module")
def env(cloud: Any) -> Iterator[None]:
    """Point the CLI at the local cloud the way a user would: environment variables only."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in cloud.client_env().items():
            patch.setenv(key, value)
        patch.delenv("ROLLOUT_STATE_MACHINE_ARN", raising=False)
        yield


@pytest.fixture(scope="module")
def lam(cloud: Any, env: None) -> Any:
    """The function with version 1 live behind the alias."""
    role = lambda_role(cloud.client("iam"), "cli-e2e")
    client = cloud.client("lambda")
    client.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code_zip("v1")},
    )
    version = client.publish_version(FunctionName=FUNCTION)["Version"]
    client.create_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=version)
    return client


def publish(lam: Any, label: str, **failures: bool) -> str:
    lam.update_function_code(FunctionName=FUNCTION, ZipFile=code_zip(label, **failures))
    return str(lam.publish_version(FunctionName=FUNCTION)["Version"])


def alias_state(lam: Any) -> tuple[str, dict[str, float]]:
    alias = lam.get_alias(FunctionName=FUNCTION, Name=ALIAS)
    return alias["FunctionVersion"], alias.get("RoutingConfig", {}).get(
        "AdditionalVersionWeights", {}
    )


def start(capsys: Any, *flags: str) -> tuple[int, str, str]:
    code = main(["start", "--function", FUNCTION, "--alias", ALIAS, *flags])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def execution_arn_in(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("arn:aws:states:"))


def test_a_healthy_version_rolls_out_and_exits_0(lam, capsys):
    stable, new = alias_state(lam)[0], publish(lam, "v2")

    code, out, err = start(capsys, "--version", new, *FAST)

    assert code == 0, out + err
    assert alias_state(lam) == (new, {})
    assert "→ Shift traffic" in out and "→ Promote" in out
    assert f"✔ Succeeded: version {new} is live on {FUNCTION}:{ALIAS}" in out
    arn = execution_arn_in(out)

    assert main(["watch", arn, "--once"]) == 0
    assert f"✔ Succeeded: version {new} is live" in capsys.readouterr().out
    assert stable != new


def test_status_lists_the_rollouts_of_the_function(lam, capsys):
    # a rollout of its own: the module's others may run after this test
    code, out, err = start(capsys, "--version", publish(lam, "v-status"), *FAST)
    assert code == 0, out + err

    assert main(["status", "--function", FUNCTION, "--limit", "5"]) == 0

    out = capsys.readouterr().out
    assert FUNCTION in out and "Succeeded" in out


def test_a_version_failing_its_pre_traffic_check_exits_1_and_leaves_the_alias(lam, capsys):
    before = alias_state(lam)
    broken = publish(lam, "v-broken", fail_always=True)

    # the default pre-traffic check is a readiness check; a payload makes it invoke the version
    code, out, err = start(capsys, "--version", broken, "--pre-traffic-payload", "{}", *FAST)

    assert code == 1, out + err
    assert alias_state(lam) == before
    assert "PreTrafficCheckFailed" in out


def test_errors_under_traffic_roll_back_and_exit_1(lam, capsys):
    before = alias_state(lam)
    faulty = publish(lam, "v-faulty", fail_bad=True)  # passes the pre-traffic check
    stop = threading.Event()

    def traffic() -> None:
        while not stop.wait(0.05):
            lam.invoke(FunctionName=f"{FUNCTION}:{ALIAS}", Payload=b'{"order": "bad"}')

    sender = threading.Thread(target=traffic, daemon=True)
    sender.start()
    try:
        code, out, err = start(capsys, "--version", faulty, "--min-invocations", "1", *FAST)
    finally:
        stop.set()
        sender.join(timeout=10)

    assert code == 1, out + err
    assert alias_state(lam) == before
    assert "✖ Rolled back" in out and "HealthCheckFailed" in out


def test_input_the_workflow_rejects_exits_2(lam, capsys):
    code, out, err = start(capsys, "--version", "999", *FAST)

    assert code == 2, out + err
    assert "InvalidRolloutRequest" in out


def test_an_unknown_function_exits_2_before_starting(lam, capsys):
    code = main(["start", "--function", "no-such-function", "--alias", ALIAS, "--watch"])

    assert code == 2
    assert "'no-such-function'" in capsys.readouterr().err
