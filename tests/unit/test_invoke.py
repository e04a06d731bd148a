"""Synchronous invokes of checks and hooks (issue 10, item 3): the client waits longer than
the invoked function may run, and a request that may have reached the function is never
sent again; only a connection never made, or throttling, is."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
from moto.awslambda_simple.models import LambdaSimpleBackend
from rollout_core import checks, clients, invoke
from rollout_core.errors import PostTrafficCheckFailed
from rollout_core.models import Plan
from rollout_core.results import CheckStep

from rollout.local.lambda_runtime import TooManyRequestsException
from tests.unit.conftest import zipped

HOOK = "smoke-test"
HOOK_TIMEOUT = 600  # well past botocore's 60 s default read timeout


@pytest.fixture
def hook(world):
    world.lam.create_function(
        FunctionName=HOOK,
        Runtime="python3.12",
        Role=world.role,
        Handler="app.handler",
        Code={"ZipFile": zipped("def handler(event, context):\n    return 0\n")},
        Timeout=HOOK_TIMEOUT,
    )
    return HOOK


@pytest.fixture
def sends(world, monkeypatch):
    """Every Invoke request the task code sends (DryRun left out); a fault queued in
    `faults` is raised by the next send, as the HTTP layer would raise it."""
    sent, faults = [], []

    def before_send(request, **_):
        kind = request.headers.get("X-Amz-Invocation-Type", b"")
        if (kind.decode() if isinstance(kind, bytes) else kind) == "DryRun":
            return None
        sent.append(json.loads(request.body or b"null"))
        if faults:
            raise faults.pop(0)
        return None

    clients.reset()  # clients made from here on carry the handler
    session = clients._session()  # the botocore session behind every client
    session.get_component("event_emitter").register_first("before-send.lambda.Invoke", before_send)
    monkeypatch.setattr(invoke, "backoff", lambda attempt: None)
    yield sent, faults
    clients.reset()


@pytest.fixture
def replies(monkeypatch):
    """What the hook answers: a queue of replies (a dict, or an exception Lambda raises)."""
    queue: list = []

    def answer(self, function_name, qualifier, body, headers, response_headers):
        reply = queue.pop(0) if queue else {"passed": True, "reason": "smoke test passed"}
        if isinstance(reply, Exception):
            raise reply
        return json.dumps(reply).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", answer)
    return queue


@pytest.fixture
def plan(load_event):
    event = load_event("functions/traffic_check.json")
    event["plan"]["postTraffic"] = {"readiness": False, "hookFunction": HOOK}
    return Plan.model_validate(event["plan"]).rollout_ready()


def test_the_invoke_client_waits_longer_than_the_function_and_never_resends(world, hook):
    wait = invoke.waiting(hook, None, None)
    assert wait.function_timeout == HOOK_TIMEOUT
    assert wait.read_timeout > HOOK_TIMEOUT
    config = clients.invoker(wait.read_timeout).meta.config
    assert config.read_timeout == wait.read_timeout
    assert config.retries["total_max_attempts"] == 1  # botocore sends each request once
    assert config.connect_timeout <= 10


def test_an_unreadable_timeout_waits_for_lambdas_longest(world):
    wait = invoke.waiting("no-such-function", None, None)
    assert wait.function_timeout == 900 and wait.read_timeout > 900


def test_the_wait_stays_within_what_the_task_has_left(world, hook):
    wait = invoke.waiting(hook, None, time_left=300.0)
    assert wait.read_timeout == 300.0 - invoke.RESERVE_SECONDS and wait.capped


def test_a_hook_past_the_read_timeout_is_invoked_once(world, hook, plan, sends, replies):
    sent, faults = sends
    faults.append(ReadTimeoutError(endpoint_url="https://lambda"))
    with pytest.raises(PostTrafficCheckFailed, match=r"no answer within 630 s .*not invoked again"):
        checks.run(plan, "postTraffic")
    assert len(sent) == 1


def test_a_connection_never_made_is_sent_again_and_the_verdict_counts(
    world, hook, plan, sends, replies
):
    sent, faults = sends
    faults.append(ConnectTimeoutError(endpoint_url="https://lambda"))
    replies.append({"passed": False, "reason": "smoke test found 3 bad rows"})
    with pytest.raises(PostTrafficCheckFailed, match="smoke test found 3 bad rows"):
        checks.run(plan, "postTraffic")
    assert len(sent) == 2


def test_throttling_is_sent_again(world, hook, plan, sends, replies):
    sent, _ = sends
    replies.extend([TooManyRequestsException(), TooManyRequestsException()])
    result = checks.run(plan, "postTraffic")
    assert result.passed is True and len(sent) == 3
    assert result.results == [
        CheckStep(name=f"hook {HOOK}", passed=True, detail="smoke test passed")
    ]


def test_a_server_error_is_not_sent_again(world, hook, plan, sends, replies):
    """A 5xx may come after the function started: the check fails, nothing runs twice."""
    sent, _ = sends
    error = TooManyRequestsException()
    error.code, error.error_type = 500, "ServiceException"  # type: ignore[misc]
    replies.append(error)
    with pytest.raises(PostTrafficCheckFailed, match="ServiceException"):
        checks.run(plan, "postTraffic")
    assert len(sent) == 1
