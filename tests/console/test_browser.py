"""The console in headless Chromium: `rollout console` against `rollout local up`, each in
its own process, as a user runs them. Every wait has a deadline; nothing is timed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from rollout.samples import code_zip, lambda_role
from rollout.view.fetch import fetch_history
from tests.console.served import CHROMIUM, REPO, chromium, served_console
from tests.local.served import client, served_cloud

pytestmark = [
    pytest.mark.browser,
    pytest.mark.cloud,
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)"),
]

ALIAS = "live"
WAIT = 60_000  # ms: the longest any page is given to show what the execution did
HANDLER = "def handler(event, context):\n    return {'ok': True, 'build': '%s'}\n"
HOLD_CHECK = 2  # s: the pause test's margin past its step's end (two check intervals)


def two_steps(first: int) -> dict[str, Any]:
    """A step that moves on by itself after `first` seconds, then one that lasts until the
    test stops the execution."""
    return {
        "steps": [{"percentage": 10, "waitSeconds": first}, {"percentage": 50, "waitSeconds": 900}]
    }


MARKUP = '<img src=x onerror="window.__pwned=1"><b>orders</b>'


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    with served_cloud() as served:
        yield served


@pytest.fixture(scope="module")
def url(env: dict[str, str]) -> Iterator[str]:
    with served_console(env) as printed:
        yield printed


@pytest.fixture(scope="module")
def browser(url: str) -> Iterator[Any]:
    with chromium() as context:
        yield context


@pytest.fixture
def page(browser: Any, url: str) -> Iterator[Any]:
    page = browser.new_page()
    page.goto(url)  # the printed URL: its token becomes the page's cookie
    yield page
    page.close()


def machine(env: dict[str, str]) -> str:
    outputs = client(env, "cloudformation").describe_stacks(StackName="rollout")["Stacks"][0]
    return next(
        o["OutputValue"] for o in outputs["Outputs"] if o["OutputKey"] == "RolloutStateMachineArn"
    )


def new_version(env: dict[str, str], function: str) -> str:
    """`function` v1 behind the alias, and a version 2 to roll out."""
    lam = client(env, "lambda")
    lam.create_function(
        FunctionName=function,
        Runtime="python3.12",
        Role=lambda_role(client(env, "iam"), "console-tests"),
        Handler="app.handler",
        Code={"ZipFile": code_zip({"app.py": HANDLER % "v1"})},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=function)
    first = lam.publish_version(FunctionName=function)["Version"]
    lam.create_alias(FunctionName=function, Name=ALIAS, FunctionVersion=first)
    lam.update_function_code(FunctionName=function, ZipFile=code_zip({"app.py": HANDLER % "v2"}))
    lam.get_waiter("function_updated_v2").wait(FunctionName=function)
    return str(lam.publish_version(FunctionName=function)["Version"])


def start(env: dict[str, str], document: dict[str, Any]) -> str:
    sfn = client(env, "stepfunctions")
    return str(
        sfn.start_execution(stateMachineArn=machine(env), input=json.dumps(document))[
            "executionArn"
        ]
    )


@pytest.fixture
def roll_out(env: dict[str, str], request: Any) -> Iterator[Any]:
    """`roll_out(first_wait)`: a running two-step rollout of a function of the test's own;
    stopped afterwards (the guard puts the alias back)."""
    started: list[str] = []

    def start_one(first_wait: int) -> str:
        function = f"console-{request.node.name.removeprefix('test_')[:30].replace('_', '-')}"
        version = new_version(env, function)
        document = {
            "functionName": function,
            "alias": ALIAS,
            "targetVersion": version,
            "strategy": two_steps(first_wait),
            "checkIntervalSeconds": 1,
        }
        started.append(start(env, document))
        return started[-1]

    yield start_one
    sfn = client(env, "stepfunctions")
    for arn in started:
        if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
            sfn.stop_execution(executionArn=arn)


def open_run(page: Any, url: str, arn: str) -> None:
    base = url.split("?", 1)[0]
    page.goto(f"{base}#/run/{quote(arn, safe='')}")
    page.wait_for_selector("#summary", timeout=WAIT)


def seconds_left(env: dict[str, str], arn: str, first_wait: int) -> float:
    """Until the first step's wait would end, from when Step Functions says it started."""
    history = fetch_history(client(env, "stepfunctions"), arn)
    shifted = next(
        e["timestamp"]
        for e in history
        if (e.get("stateExitedEventDetails") or {}).get("name") == "Shift traffic"
    )
    return max(shifted.timestamp() + first_wait - time.time(), 0.0)


def field(page: Any, name: str) -> Any:
    return page.locator(f'#summary dd[data-field="{name}"]')


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rollout.cli", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def send(page: Any, action: str, reason: str) -> str:
    """Click a control, give the reason, confirm; the message the page then shows."""
    result = page.locator("#control-result")
    page.click(f'#controls button[data-action="{action}"]')
    page.fill("#confirm textarea", reason)
    page.click('#confirm button[value="confirm"]')
    page.wait_for_function(
        "() => { const t = document.querySelector('#control-result').textContent;"
        " return t && !t.startsWith('Sending'); }",
        timeout=WAIT,
    )
    return str(result.text_content())


# -- the tests --------------------------------------------------------------------------------


def test_the_list_shows_a_running_rollout_and_its_page_follows_it_to_the_next_step(
    page, url, roll_out
):
    rollout = roll_out(8)
    row = page.locator(f'#rollouts tr.rollout[data-arn="{rollout}"]')
    row.locator(".pill", has_text="Progressing").wait_for(timeout=WAIT)
    assert "console-the-list" in str(row.text_content())

    row.locator("a").click()
    page.wait_for_selector("#summary", timeout=WAIT)
    field(page, "Step").filter(has_text="1/2").wait_for(timeout=WAIT)
    page.evaluate("window.__samePage = true")

    field(page, "Step").filter(has_text="2/2").wait_for(timeout=WAIT)

    assert page.evaluate("window.__samePage") is True  # updated in place, no reload
    assert "50%" in str(field(page, "Weight").text_content())
    assert page.locator("#events li", has_text="→ Shift traffic").count() == 2
    assert page.locator('svg.graph g.state[data-state="Shift traffic"]').get_attribute(
        "class"
    ).split()[1] in ("succeeded", "running")


def test_pause_from_the_page_holds_the_rollout_and_resume_continues_it(page, url, env, roll_out):
    first_wait = 25
    rollout = roll_out(first_wait)
    open_run(page, url, rollout)
    field(page, "Step").filter(has_text="1/2").wait_for(timeout=WAIT)

    refused = send(page, "approve", "nothing to approve yet")
    by_cli = cli(env, "approve", rollout, "--reason", "nothing to approve yet")
    assert by_cli.returncode == 2
    assert refused == by_cli.stderr.strip().removeprefix("rollout: ")

    sent = send(page, "pause", "hold for a look")
    assert sent.startswith(f"pause sent to {rollout}") and sent.endswith(": hold for a look")
    page.locator("#reason", has_text="paused by arn:aws:sts::").wait_for(timeout=WAIT)
    page.locator("#events li", has_text="→ Wait for operator").first.wait_for(timeout=WAIT)
    # held: past the moment its step would have ended, it is still at step 1
    page.wait_for_timeout(1000 * (seconds_left(env, rollout, first_wait) + HOLD_CHECK))
    assert field(page, "Step").text_content() == "1/2"
    assert "Paused" in str(page.locator(".run-header .pill").text_content())
    assert "10%" in str(field(page, "Weight").text_content())
    actions = page.locator("#operator-actions")
    actions.filter(has_text="pause").wait_for(timeout=WAIT)
    assert "by arn:aws:sts::123456789012:user/moto" in str(actions.text_content())
    assert "hold for a look" in str(actions.text_content())

    assert send(page, "resume", "seen enough").startswith(f"resume sent to {rollout}")

    field(page, "Step").filter(has_text="2/2").wait_for(timeout=WAIT)
    assert "50%" in str(field(page, "Weight").text_content())


def test_the_start_form_refuses_invalid_input_with_the_plans_message(page, env, tmp_path):
    document = {
        "functionName": "orders",
        "alias": ALIAS,
        "strategy": "Linear10PercentEvery7Minutes",
    }
    by_cli = tmp_path / "invalid.json"
    by_cli.write_text(json.dumps(document))
    planned = cli(env, "plan", "--input", str(by_cli))
    assert planned.returncode == 2

    page.click("text=Start a rollout")
    page.fill("#input", json.dumps(document, indent=2))
    page.click("#plan")
    page.locator("#start-result.bad").wait_for(timeout=WAIT)

    assert page.locator("#start-result").text_content() == " ".join(
        planned.stderr.split()
    ).removeprefix("rollout: ")
    assert page.locator("#start").is_disabled()
    assert page.locator("#plan-text").is_hidden()


def test_the_start_form_shows_the_plan_before_start_is_enabled(page, env):
    version = new_version(env, "console-start-form")
    document = {
        "functionName": "console-start-form",
        "alias": ALIAS,
        "targetVersion": version,
        "strategy": two_steps(8),
        "checkIntervalSeconds": 1,
    }
    page.click("text=Start a rollout")
    page.fill("#input", json.dumps(document))
    assert page.locator("#start").is_disabled()

    page.click("#plan")
    page.locator("#plan-text").wait_for(timeout=WAIT)
    assert f"console-start-form:live: version 1 → {version}" in str(
        page.locator("#plan-text").text_content()
    )
    assert page.locator("#start").is_enabled()
    page.fill("#input", json.dumps({**document, "checkIntervalSeconds": 2}))
    assert page.locator("#start").is_disabled()  # an edit asks for a new plan

    page.click("#plan")
    page.locator("#plan-text").wait_for(timeout=WAIT)
    page.click("#start")
    page.wait_for_url("**#/run/*", timeout=WAIT)
    field(page, "Function").filter(has_text="console-start-form").wait_for(timeout=WAIT)
    arn = page.evaluate("decodeURIComponent(location.hash.slice(6))")
    client(env, "stepfunctions").stop_execution(executionArn=arn)


def test_a_request_without_the_token_is_refused(url):
    parts = urlsplit(url)
    base, token = f"{parts.scheme}://{parts.netloc}", parts.query.removeprefix("token=")

    def status(path: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> int:
        request = urllib.request.Request(base + path, data=body, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    assert status("/api/list") == 401
    assert status("/") == 401
    assert status("/static/app.js") == 401
    assert status("/api/list?token=not-the-token") == 401
    assert status("/api/samples", {"Authorization": f"Bearer {token}"}) == 200
    # the token but another name for the host (DNS rebinding), or another origin's POST
    assert (
        status(
            "/api/samples",
            {"Authorization": f"Bearer {token}", "Host": f"evil.example:{parts.port}"},
        )
        == 403
    )
    control = json.dumps(
        {"execution": "arn:aws:states:x", "action": "abort", "reason": "x"}
    ).encode()
    for origin in ({}, {"Origin": "http://evil.example"}):
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **origin}
        assert status("/api/control", headers, control) == 403


def test_a_cause_containing_markup_is_shown_as_text(page, url, env):
    arn = start(env, {"functionName": MARKUP, "alias": ALIAS})  # Prepare refuses the name

    open_run(page, url, arn)
    page.locator("#cause").wait_for(timeout=WAIT)

    assert MARKUP in str(page.locator("#cause").text_content())
    assert MARKUP in str(page.locator("#reason").text_content())
    assert page.locator("main img, main b").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_a_pipeline_is_one_row_with_its_targets_and_a_page_of_its_own(page, env):
    """A pipeline of waves (README, Waves) in the list as one row, its target as a member
    row; its page shows the waves and targets as `rollout watch` does, leads into the
    target's own rollout, draws when it moved, and aborts the whole pipeline."""
    version = new_version(env, "console-pipeline")
    home = {"region": "us-east-1", "account": "123456789012"}
    document = {
        "functionName": "console-pipeline",
        "alias": ALIAS,
        "targetVersion": version,
        "strategy": "AllAtOnce",
        "waves": [{"name": "one-box", "targets": [home], "bakeSeconds": 900}],
    }
    name = start(env, document).rsplit(":", 1)[-1]
    outputs = client(env, "cloudformation").describe_stacks(StackName="rollout")["Stacks"][0]
    machine = next(
        o["OutputValue"] for o in outputs["Outputs"] if o["OutputKey"] == "PipelineStateMachineArn"
    )
    pipeline = f"{machine.replace(':stateMachine:', ':execution:')}:{name}"
    try:
        row = page.locator(f'#rollouts tr.rollout.pipeline[data-arn="{pipeline}"]')
        # its one target's rollout ends, then the wave bakes (four minutes on a loaded machine)
        row.locator(".pill", has_text="Baking wave 1/1").wait_for(timeout=4 * WAIT)
        assert f"pipeline {name}" in str(row.text_content())
        member = page.locator("#rollouts tr.member", has_text="one-box: us-east-1 in 123456789012")
        assert "healthy" in str(member.text_content())
        assert f"console-pipeline:live 1→{version}" in str(member.text_content())

        row.locator("a").click()
        page.wait_for_url("**#/pipeline/*", timeout=WAIT)
        target = page.locator('#waves tr.target[data-target="us-east-1 in 123456789012"]')
        target.filter(has_text="succeeded").wait_for(timeout=WAIT)
        assert "healthy" in str(target.text_content())
        child = f"{name}-"  # its own rollout, on the rollout state machine here
        link = target.locator("a", has_text="open its rollout")
        assert child in str(link.get_attribute("href"))
        assert page.locator("#axis rect.moved").count() == 1
        watched = cli(env, "watch", name, "--once")
        shown = str(page.locator("#lines").text_content()).splitlines()
        assert shown and all(line in watched.stdout for line in shown), (shown, watched.stdout)

        sent = send(page, "abort", "wrong build")
        assert sent.startswith(f"abort sent to {pipeline}"), sent
        page.locator(".run-header .pill", has_text="Failed").wait_for(timeout=4 * WAIT)
        target.filter(has_text="restored").wait_for(timeout=WAIT)
        assert "PipelineAborted" in str(page.locator("#reason").text_content())
    finally:
        sfn = client(env, "stepfunctions")
        if sfn.describe_execution(executionArn=pipeline)["status"] == "RUNNING":
            sfn.stop_execution(executionArn=pipeline)
    alias = client(env, "lambda").get_alias(FunctionName="console-pipeline", Name=ALIAS)
    assert alias["FunctionVersion"] == "1"
