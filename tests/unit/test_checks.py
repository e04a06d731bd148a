"""Pre/post-traffic checks: readiness, direct invoke of the version, expect, hook."""

import json

import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend
from rollout_core import checks, clients
from rollout_core.errors import PostTrafficCheckFailed, PreTrafficCheckFailed
from rollout_core.models import Plan


@pytest.fixture
def replies(monkeypatch, world):
    """Scripted Lambda replies: {function: (payload, function error or None)}, and the
    Invoke calls as sent (function, Qualifier, payload), read off every boto3 client made
    from the task code's session (the checks invoke through their own client)."""
    script, calls = {}, []

    def record(params, **_):
        body = json.loads(params.get("Payload") or b"null")
        calls.append((params["FunctionName"], params.get("Qualifier"), body))

    clients.reset()  # clients made from here on carry the handler
    session = clients._session()  # the botocore session behind every client
    session.register("provide-client-params.lambda.Invoke", record)

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        payload, error = script.get(function_name.rsplit(":", 1)[-1], ({"ok": True}, None))
        if error:
            response_headers["x-amz-function-error"] = error
        return json.dumps(payload).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
    yield script, calls
    clients.reset()


@pytest.fixture
def plan(load_event):
    def make(phase="postTraffic", **config):
        event = load_event("functions/traffic_check.json")
        event["plan"][phase] = {"readiness": phase == "preTraffic"} | config
        return Plan.model_validate(event["plan"]).rollout_ready()

    return make


def test_invoke_targets_the_version_itself(world, plan, replies):
    _, calls = replies
    result = checks.run(plan(invoke=True, payload={"ping": 1}), "postTraffic")
    assert result.passed is True
    assert calls == [("orders", "4", {"ping": 1})]


def test_function_error_fails_the_check(world, plan, replies):
    script, _ = replies
    script["orders"] = ({"errorMessage": "boom", "errorType": "KeyError"}, "Unhandled")
    with pytest.raises(PostTrafficCheckFailed, match=r"function error \(Unhandled\): boom"):
        checks.run(plan(invoke=True, payload={}), "postTraffic")


def test_expect_is_a_subset_match(world, plan, replies):
    script, _ = replies
    script["orders"] = ({"status": "ok", "items": [1, 2], "extra": True}, None)
    checks.run(plan(invoke=True, expect={"status": "ok", "items": [1, 2]}), "postTraffic")
    with pytest.raises(PostTrafficCheckFailed, match="doesn't contain"):
        checks.run(plan(invoke=True, expect={"status": "degraded"}), "postTraffic")


@pytest.mark.parametrize(
    ("reply", "passed"),
    [({"passed": True}, True), ({"passed": False, "reason": "db down"}, False), ("yes", False)],
)
def test_hook_decides_with_passed(world, plan, replies, reply, passed):
    script, calls = replies
    script["gate"] = (reply, None)
    config = plan("preTraffic", hookFunction="gate")
    if passed:
        assert checks.run(config, "preTraffic").results[-1].name == "hook gate"
    else:
        with pytest.raises(PreTrafficCheckFailed, match="hook gate"):
            checks.run(config, "preTraffic")
    assert calls[-1] == (
        "gate",
        None,
        {
            "functionName": "orders",
            "alias": "live",
            "targetVersion": "4",
            "stableVersion": "3",
            "phase": "preTraffic",
        },
    )


def test_readiness_failure_stops_before_invoking(world, plan, replies):
    _, calls = replies
    broken = plan("preTraffic", invoke=True, payload={}).model_copy(update={"targetVersion": "9"})
    with pytest.raises(PreTrafficCheckFailed, match="readiness: ResourceNotFoundException"):
        checks.run(broken, "preTraffic")
    assert calls == []


def test_no_post_traffic_check_is_a_skipped_pass(world, load_event):
    event = load_event("functions/traffic_check.json")
    event["plan"]["postTraffic"] = None
    result = checks.run(Plan.model_validate(event["plan"]).rollout_ready(), "postTraffic")
    assert result.skipped is True and result.passed is True


@pytest.mark.parametrize(
    ("actual", "expected", "match"),
    [
        ({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 2}}, True),
        ({"a": 1}, {"a": 2}, False),
        ({"a": [1, 2]}, {"a": [1]}, False),
        ("text", "text", True),
        (None, {"a": 1}, False),
    ],
)
def test_contains(actual, expected, match):
    assert checks.contains(actual, expected) is match
