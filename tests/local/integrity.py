"""Stack integrity, read through the public APIs only: one physical resource per logical id,
and every reference inside the stack pointing at the stack's own resources.

`stack_problems` returns what is wrong (an empty list when nothing is), so a failing test
says exactly which count or which reference is off.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from rollout.local.cloud import ACCOUNT_ID, DEFAULT_REGION

Client = Callable[[str], Any]

# Resource kinds whose number a fresh cloud must hold exactly, and how to count them.
COUNTED: dict[str, Callable[[Client], int]] = {
    "AWS::Lambda::Function": lambda c: len(c("lambda").list_functions()["Functions"]),
    "AWS::StepFunctions::StateMachine": lambda c: len(
        c("stepfunctions").list_state_machines()["stateMachines"]
    ),
    "AWS::Events::Rule": lambda c: len(c("events").list_rules()["Rules"]),
    "AWS::DynamoDB::Table": lambda c: len(c("dynamodb").list_tables()["TableNames"]),
    "AWS::SNS::Topic": lambda c: len(c("sns").list_topics()["Topics"]),
}
# ARNs of these kinds, wherever they appear, must be the stack's own.
_OWNED_ARN = re.compile(
    r"arn:aws:(?:lambda:[^:]+:\d+:function:[A-Za-z0-9_-]+"
    r"|states:[^:]+:\d+:stateMachine:[A-Za-z0-9_-]+"
    r"|dynamodb:[^:]+:\d+:table/[A-Za-z0-9_.-]+"
    r"|sns:[^:]+:\d+:[A-Za-z0-9_-]+"
    r"|events:[^:]+:\d+:rule/[A-Za-z0-9_.-]+)"
)


def declared_counts(template: dict[str, Any]) -> Counter[str]:
    kinds = Counter(resource["Type"] for resource in template["Resources"].values())
    return Counter({kind: kinds[kind] for kind in COUNTED})


def own_identifiers(client: Client, stack_name: str) -> tuple[set[str], list[str]]:
    """Physical ids and ARNs of the stack's resources; problems with the resource list."""
    resources = client("cloudformation").describe_stack_resources(StackName=stack_name)[
        "StackResources"
    ]
    problems = [
        f"logical id {logical} listed {count} times"
        for logical, count in Counter(r["LogicalResourceId"] for r in resources).items()
        if count > 1
    ]
    own: set[str] = set()
    prefix = f"{DEFAULT_REGION}:{ACCOUNT_ID}"
    for resource in resources:
        physical = str(resource.get("PhysicalResourceId"))
        own.add(physical)
        own.add(
            {
                "AWS::Lambda::Function": f"arn:aws:lambda:{prefix}:function:{physical}",
                "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{prefix}:table/{physical}",
                "AWS::Events::Rule": f"arn:aws:events:{prefix}:rule/{physical}",
            }.get(resource["ResourceType"], physical)
        )
    return own, problems


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
        try:
            parsed = json.loads(node)
        except ValueError:
            return
        if isinstance(parsed, dict | list):
            yield from strings(parsed)
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def foreign_arns(where: str, node: Any, own: set[str]) -> list[str]:
    found = {arn for text in strings(node) for arn in _OWNED_ARN.findall(text)}
    return [f"{where} names {arn}, not a resource of the stack" for arn in sorted(found - own)]


def references(client: Client, own: set[str]) -> Iterator[tuple[str, Any]]:
    """Every place inside the stack that names another resource, with what it names."""
    events = client("events")
    for rule in events.list_rules()["Rules"]:
        yield f"rule {rule['Name']} pattern", rule.get("EventPattern", "")
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        yield f"rule {rule['Name']} targets", [target["Arn"] for target in targets]
    sfn = client("stepfunctions")
    for machine in sfn.list_state_machines()["stateMachines"]:
        definition = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
        yield f"state machine {machine['name']} definition", definition["definition"]
    lam = client("lambda")
    for function in lam.list_functions()["Functions"]:
        name = function["FunctionName"]
        yield f"function {name} environment", function.get("Environment", {})
        try:
            policy = lam.get_policy(FunctionName=name)["Policy"]
        except lam.exceptions.ResourceNotFoundException:
            continue
        yield f"function {name} resource policy", policy


def stack_problems(client: Client, template: dict[str, Any], stack_name: str) -> list[str]:
    """Counts against the template, and every reference against the stack's own resources.
    Counts assume a cloud with nothing but the stack in it."""
    problems = [
        f"{kind}: {COUNTED[kind](client)} in the cloud, {expected} declared"
        for kind, expected in declared_counts(template).items()
        if COUNTED[kind](client) != expected
    ]
    own, listing = own_identifiers(client, stack_name)
    problems += listing
    outputs = client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    problems += foreign_arns("stack outputs", outputs.get("Outputs", []), own)
    for where, node in references(client, own):
        problems += foreign_arns(where, node, own)
    return problems
