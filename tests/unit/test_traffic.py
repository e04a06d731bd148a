"""Traffic sources (rollout_core/traffic): what Prepare reads about how a function is
invoked, on moto (with the local cloud's per-qualifier policies and function URLs), and
what the plan's `bypass` makes of it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rollout_core import clients
from rollout_core.errors import InvalidRolloutRequest
from rollout_core.models import FunctionTraffic, TrafficSource
from rollout_core.plan import prepare
from rollout_core.traffic import apis, discover, policies, rules
from rollout_core.traffic.discover import notes, refusal
from rollout_core.traffic.subject import Subject

from tests.unit.conftest import ACCOUNT, EXECUTION, REGION, World

ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
SUBJECT = Subject("orders", ARN, "live", ("3", "4"))


def request(**extra: Any) -> dict[str, Any]:
    return {"functionName": "orders", "alias": "live", "targetVersion": "4", **extra}


def permission(world: World, qualifier: str, principal: str, source: str | None = None) -> None:
    args = {"SourceArn": source} if source else {}
    world.lam.add_permission(
        FunctionName="orders",
        Qualifier=qualifier,
        StatementId=f"{principal.split('.')[0]}-{qualifier}",
        Action="lambda:InvokeFunction",
        Principal=principal,
        **args,
    )


# -- naming: which qualifier an ARN invokes ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "qualifier"),
    [
        (ARN, "$LATEST"),
        (f"{ARN}:live", "live"),
        (f"{ARN}:3", "3"),
        ("orders", "$LATEST"),
        ("orders:released", "released"),
        (f"{ACCOUNT}:function:orders:live", "live"),
        (f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:orders:live", None),  # another Region
        (f"{ARN}-worker:live", None),
        ("other", None),
    ],
)
def test_the_qualifier_a_name_invokes(name: str, qualifier: str | None) -> None:
    assert SUBJECT.qualifier_in(name) == qualifier


def test_qualifiers_read_are_latest_every_alias_and_both_versions() -> None:
    subject = Subject("orders", ARN, "live", ("3", "4"), ("released", "live"))
    assert subject.qualifiers == ["$LATEST", "live", "released", "3", "4"]


def test_sources_named_in_arns() -> None:
    assert apis.api_of(f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123/*/GET/orders") == "abc123"
    assert apis.api_of("arn:aws:sns:us-east-1:1:topic") is None
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{ARN}:live/invocations"
    assert apis.function_in(uri) == f"{ARN}:live"
    assert rules.bus_of(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly") == "default"
    assert rules.bus_of(f"arn:aws:events:{REGION}:{ACCOUNT}:rule/orders-bus/placed") == "orders-bus"
    assert rules.rule_arn(SUBJECT, "orders-bus", "placed").endswith(":rule/orders-bus/placed")


def test_a_statement_becomes_a_grant() -> None:
    grant = policies._grant(
        "live",
        {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:sns:us-east-1:1:t"}},
        },
    )
    assert (grant.service, grant.source_arn, grant.function_url) == (
        "sns",
        "arn:aws:sns:us-east-1:1:t",
        False,
    )
    url = policies._grant(
        "$LATEST",
        {
            "Principal": "*",
            "Action": "lambda:InvokeFunctionUrl",
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
        },
    )
    assert url.function_url and url.principal == "*"


# -- discovery on moto ----------------------------------------------------------------------


def test_a_function_with_no_source_has_none_and_nothing_unread(world: World) -> None:
    (found,) = discover.discover([SUBJECT])
    assert found.sources == [] and found.unread == []


def test_each_kind_of_source_is_found_with_its_qualifier(world: World) -> None:
    lam = world.lam
    lam.create_alias(FunctionName="orders", Name="released", FunctionVersion="4")
    sqs = clients.client("sqs")
    queue = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName="orders")["QueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    lam.create_event_source_mapping(EventSourceArn=queue, FunctionName=f"{ARN}:4")
    events = clients.events()
    rule = events.put_rule(Name="nightly", ScheduleExpression="rate(1 day)")["RuleArn"]
    events.put_targets(Rule="nightly", Targets=[{"Id": "fn", "Arn": f"{ARN}:released"}])
    permission(world, "released", "events.amazonaws.com", rule)
    topic = clients.sns().create_topic(Name="orders")["TopicArn"]
    clients.sns().subscribe(TopicArn=topic, Protocol="lambda", Endpoint=f"{ARN}:live")
    permission(world, "live", "sns.amazonaws.com", topic)
    permission(world, "3", "s3.amazonaws.com", "arn:aws:s3:::orders-uploads")
    lam.create_function_url_config(FunctionName="orders", AuthType="NONE")
    clients.client("scheduler").create_schedule(
        Name="hourly",
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": f"{ARN}:live", "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/scheduler"},
    )

    (found,) = discover.discover([SUBJECT])
    by_kind = {(s.kind, s.qualifier) for s in found.sources}
    assert by_kind == {
        ("event source mapping", "4"),
        ("EventBridge rule", "released"),
        ("SNS subscription", "live"),
        ("permission", "3"),
        ("function URL", "$LATEST"),
        ("Scheduler schedule", "live"),
    }
    assert {(s.kind, s.qualifier) for s in found.bypasses} == by_kind - {
        ("SNS subscription", "live"),
        ("Scheduler schedule", "live"),
    }
    assert found.unread == []


def test_rest_and_http_api_integrations_are_found_with_their_routes(world: World) -> None:
    """The APIs the function's permissions name are read: an HTTP API's routes
    (apigatewayv2), a REST API's methods (apigateway); a stage variable is a note."""
    lam = world.lam
    lam.create_alias(FunctionName="orders", Name="released", FunctionVersion="4")
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{{}}/invocations"
    http = clients.client("apigatewayv2")
    http_api = http.create_api(Name="orders-http", ProtocolType="HTTP")["ApiId"]
    integration = http.create_integration(
        ApiId=http_api,
        IntegrationType="AWS_PROXY",
        IntegrationUri=f"{ARN}:released",
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    for route in ("POST /orders", "GET /orders"):  # one source, every route named
        http.create_route(ApiId=http_api, RouteKey=route, Target=f"integrations/{integration}")
    other = http.create_integration(
        ApiId=http_api,
        IntegrationType="AWS_PROXY",
        IntegrationUri=f"{ARN}:released",
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    http.create_route(ApiId=http_api, RouteKey="DELETE /orders", Target=f"integrations/{other}")
    rest = clients.client("apigateway")
    rest_api = rest.create_rest_api(name="orders-rest")["id"]
    root = rest.get_resources(restApiId=rest_api)["items"][0]["id"]
    for path, function in (("orders", f"{ARN}:live"), ("legacy", f"{ARN}:${{stageVariables.fn}}")):
        resource = rest.create_resource(restApiId=rest_api, parentId=root, pathPart=path)["id"]
        rest.put_method(
            restApiId=rest_api, resourceId=resource, httpMethod="GET", authorizationType="NONE"
        )
        rest.put_integration(
            restApiId=rest_api,
            resourceId=resource,
            httpMethod="GET",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=uri.format(function),
        )
    for qualifier, api in (("released", http_api), ("live", rest_api)):
        permission(
            world,
            qualifier,
            "apigateway.amazonaws.com",
            f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*/*/*",
        )

    (found,) = discover.discover([SUBJECT])
    assert {(s.kind, s.source, s.detail, s.qualifier) for s in found.sources} == {
        ("API Gateway", http_api, "DELETE /orders, GET /orders, POST /orders", "released"),
        ("API Gateway", rest_api, "GET /orders", "live"),
    }
    assert [(s.source, s.qualifier) for s in found.bypasses] == [(http_api, "released")]
    assert found.unread == [f"API {rest_api} GET /legacy: its integration names a stage variable"]


def test_a_bypass_refuses_prepare_naming_each_source_and_warn_lists_them(world: World) -> None:
    permission(world, "4", "s3.amazonaws.com", "arn:aws:s3:::orders-uploads")
    with pytest.raises(InvalidRolloutRequest) as refused:
        prepare(request(), EXECUTION)
    message = str(refused.value)
    assert message.startswith("bypass: traffic reaches orders:live around the alias: ")
    assert (
        "permission arn:aws:s3:::orders-uploads (principal s3.amazonaws.com) invokes orders:4"
        in (message)
    )
    assert 'or set bypass to "warn"' in message
    assert world.lock_owner() is None  # refused before the lock

    plan = prepare(request(bypass="warn"), EXECUTION)["plan"]
    assert plan["bypass"] == "warn"
    (traffic,) = plan["traffic"]
    assert traffic["sources"][0]["qualifier"] == "4"
    assert any("doesn't follow the rollout" in note for note in plan["notes"])


def test_a_read_the_role_cant_make_is_a_note_never_a_pass(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    def denied(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "ListSchedules"
        )

    scheduler = clients.client("scheduler")
    monkeypatch.setattr(scheduler, "list_schedules", denied)
    monkeypatch.setattr(scheduler, "get_paginator", lambda name: _Pages(denied))
    plan = prepare(request(), EXECUTION)["plan"]
    (traffic,) = plan["traffic"]
    assert traffic["unread"] == [
        "EventBridge Scheduler schedules (ListSchedules): not read (AccessDeniedException: "
        "not allowed)"
    ]
    assert f"traffic: {traffic['unread'][0]}" in plan["notes"]


class _Pages:
    def __init__(self, call: Any) -> None:
        self._call = call

    def paginate(self, **kwargs: Any) -> Any:
        self._call(**kwargs)


def test_the_refusal_and_the_notes_say_what_bypass_decides() -> None:
    found = FunctionTraffic(
        functionName="orders",
        alias="live",
        sources=[
            TrafficSource(kind="event source mapping", source="q", qualifier="released"),
            TrafficSource(kind="EventBridge rule", source="r", qualifier="live"),
            TrafficSource(kind="Scheduler schedule", source="s", qualifier="1", enabled=False),
        ],
        unread=["SNS: a topic not read"],
    )
    text = refusal([found])
    assert text is not None and "event source mapping q invokes orders:released" in text
    assert "rule r" not in text and "schedule s" not in text  # through the alias; disabled
    assert notes([found], "fail") == ["traffic: SNS: a topic not read"]
    assert len(notes([found], "warn")) == 2
    assert refusal([found.model_copy(update={"sources": found.sources[1:]})]) is None
    json.dumps(found.model_dump(mode="json"))


def test_an_account_wide_listing_says_when_its_bound_left_items_unread():
    from rollout_core.traffic.reading import bounded

    pages = [{"Items": [1, 2], "Next": "a"}, {"Items": [3], "Next": "b"}]
    assert bounded(pages, "Items", "Next", 3) == ([1, 2, 3], True)
    assert bounded([pages[0], {"Items": [3]}], "Items", "Next", 3) == ([1, 2, 3], False)
    assert bounded(pages[:1], "Items", "Next", 3) == ([1, 2], False)
