"""Least privilege proved by use: every role is granted exactly the AWS actions its code
or definition can use — no unused grant, no call without a grant.

What is used is read from the code, not from a list that can drift:
- a task Lambda: the AWS calls its handler can reach through `rollout_core`
  (tests/template/aws_calls.py, a static analysis that refuses to answer rather than
  miss a call), mapped to IAM actions by botocore's service model;
- the state machine: the Lambda functions its ASL invokes (`lambda:invoke` tasks) and
  the vended log delivery its `Logging` configuration needs;
- an EventBridge rule's role: what its targets need (StartExecution on a state machine).
What is granted is read from the template after the SAM transform (the roles SAM
generates), inline policies only: the managed policies SAM attaches (basic execution,
X-Ray) are the runtime's, checked by test_security.py.

A new function needs no change here: its CodeUri and Handler name its code. A new call
needs its grant in template.yaml, and a grant needs a call.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from samtranslator.yaml_helper import yaml_parse

from rollout.local.package import transform_template
from tests.conftest import REPO
from tests.template.aws_calls import ApiCall, CannotFollow, CodeCalls, iam_action

Json = dict[str, Any]
TEMPLATE = REPO / "template.yaml"
CORE = REPO / "functions" / "shared" / "rollout_core"

# Calls that need no IAM permission, each with where AWS says so. Listed calls must
# still be made (test_no_grant_needed_list_is_used), so the list can't rot.
NO_GRANT_NEEDED = {
    "sts:GetCallerIdentity": "STS API reference: no permissions are required to perform it",
}
# Step Functions developer guide, "IAM policies for logging to CloudWatch Logs": the
# actions a state machine role needs for vended log delivery (all on Resource "*").
LOG_DELIVERY = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
# Integrations other than lambda:invoke, checked by the tests of the machine that uses them.
START_EXECUTION = "arn:aws:states:::states:startExecution"
NESTED_SYNC_2 = "arn:aws:states:::states:startExecution.sync:2"
OTHER_INTEGRATIONS = {START_EXECUTION, NESTED_SYNC_2}


@cache
def raw_template() -> Json:
    parsed: Json = yaml_parse(TEMPLATE.read_text(encoding="utf-8"))
    return parsed


@cache
def transformed() -> Json:
    resources: Json = transform_template(TEMPLATE)["Resources"]
    return resources


@cache
def code_calls() -> CodeCalls:
    return CodeCalls(CORE)


def function_code() -> dict[str, tuple[Path, str]]:
    """Function logical id → (handler file, handler function), from CodeUri and Handler."""
    template = raw_template()
    default = template.get("Globals", {}).get("Function", {}).get("Handler")
    found = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        module, _, entry = (properties.get("Handler") or default).rpartition(".")
        found[name] = (REPO / properties["CodeUri"] / f"{module}.py", entry)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def inline_statements(role: Json) -> Iterator[Json]:
    for policy in role["Properties"].get("Policies", []):
        yield from as_list(policy["PolicyDocument"]["Statement"])


def granted_actions(role: Json) -> set[str]:
    return {a for s in inline_statements(role) for a in as_list(s["Action"])}


def role_of(resource: Json) -> str:
    role = resource["Properties"]["Role"]
    assert set(role) == {"Fn::GetAtt"}, role
    return str(role["Fn::GetAtt"][0])


def used_by_code(function: str, as_target_role: bool = False) -> dict[str, list[ApiCall]]:
    """IAM action → the calls that need it, for one function's code: its own calls, or
    (`as_target_role`) those it makes through a pipeline target's TargetRole."""
    handler, entry = function_code()[function]
    used: dict[str, list[ApiCall]] = {}
    for call in code_calls().calls_from(handler, entry):
        if call.as_target_role == as_target_role:
            used.setdefault(call.action, []).append(call)
    return used


def sites_of(used: dict[str, list[ApiCall]]) -> str:
    return "\n".join(
        f"  {action}: {', '.join(sorted({c.where for c in calls}))}"
        for action, calls in sorted(used.items())
    )


def compare(role: str, used: set[str], granted: set[str], sites: str = "") -> None:
    unused, missing = sorted(granted - used), sorted(used - granted)
    assert not unused, f"{role} grants {unused}, which nothing calls: drop them"
    assert not missing, f"{role} lacks {missing}, which its code calls:\n{sites}"


# -- the task Lambdas -------------------------------------------------------------------


def test_every_function_has_its_code_found() -> None:
    functions = {name for name, r in transformed().items() if r["Type"] == "AWS::Lambda::Function"}
    assert functions == set(function_code()) and len(functions) >= 8
    for handler, _ in function_code().values():
        assert handler.is_file(), handler


@pytest.mark.parametrize("function", sorted(function_code()))
def test_the_function_role_grants_exactly_what_its_code_calls(function: str) -> None:
    used = used_by_code(function)
    assert used, f"{function}: no AWS call found; is the analysis still seeing its code?"
    needed = set(used) - set(NO_GRANT_NEEDED)
    role = role_of(transformed()[function])
    compare(role, needed, granted_actions(transformed()[role]), sites_of(used))


# Step Functions Developer Guide, "IAM policies for AWS Step Functions" (synchronous
# startExecution, .sync:2): what the role that makes the calls needs. With `Credentials`
# that is the role named there: Run target's is TargetRole.
NESTED_SYNC = {
    "states:StartExecution",
    "states:DescribeExecution",
    "states:StopExecution",
    "events:PutTargets",
    "events:PutRule",
    "events:DescribeRule",
}


def test_the_target_role_grants_exactly_what_pipelines_do_through_it() -> None:
    """TargetRole: the calls the pipeline's functions make through rollout_core.remote,
    plus the nested-execution integration Run target runs with its Credentials."""
    used: dict[str, list[ApiCall]] = {}
    for function in function_code():
        for action, calls in used_by_code(function, as_target_role=True).items():
            used.setdefault(action, []).extend(calls)
    assert {"lambda:InvokeFunction", "states:StartExecution", "lambda:UpdateAlias"} <= set(used)
    definition = json.loads((REPO / "statemachine" / "pipeline.asl.json").read_text("utf-8"))
    nested = [t for t in task_resources(definition["States"]) if "Credentials" in t]
    assert {t["Resource"] for t in nested} == {"arn:aws:states:::states:startExecution.sync:2"}
    compare("TargetRole", set(used) | NESTED_SYNC, granted_actions(transformed()["TargetRole"]))


def test_no_grant_needed_list_is_used() -> None:
    used = {action for function in function_code() for action in used_by_code(function)}
    assert set(NO_GRANT_NEEDED) <= used


def test_prepare_reads_only_what_it_uses() -> None:
    """Issue 10: Prepare was granted lambda:GetFunction and lambda:ListAliases unused. Since
    issue 23 its traffic discovery calls ListAliases (traffic/discover.py), which the test
    above holds to its grant; GetFunction is still called by nothing."""
    granted = granted_actions(transformed()["PrepareFunctionRole"])
    assert "lambda:GetFunction" not in granted
    assert "lambda:ListAliases" in granted
    assert "lambda:ListAliases" in used_by_code("PrepareFunction")


# -- the state machine ------------------------------------------------------------------


def task_resources(states: Json) -> Iterator[Json]:
    """Every Task state of a definition, Parallel branches and Map processors included."""
    for state in states.values():
        if state["Type"] == "Task":
            yield state
        for branch in state.get("Branches", []):
            yield from task_resources(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from task_resources(state[key]["States"])


def invoked_by_definition(machine: Json) -> set[str]:
    """Logical ids of the functions the ASL invokes (through its substitutions)."""
    properties = machine["Properties"]
    definition = json.loads((REPO / properties["DefinitionUri"]).read_text(encoding="utf-8"))
    substitutions = properties["DefinitionSubstitutions"]
    invoked = set()
    for task in task_resources(definition["States"]):
        resource = task["Resource"]
        if resource in OTHER_INTEGRATIONS:
            continue
        if resource.split(".")[0] != LAMBDA_INVOKE:
            pytest.fail(f"no IAM mapping here for the {resource} integration: add it")
        target = task.get("Parameters", {}).get("FunctionName", "")
        placeholder = target.removeprefix("${").removesuffix("}")
        substitution = substitutions.get(placeholder, {})
        assert "Fn::GetAtt" in substitution, f"FunctionName {target!r} is not one of ours"
        invoked.add(substitution["Fn::GetAtt"][0])
    return invoked


def other_integration_actions(machine: Json) -> set[str]:
    """What the definition's other integrations need from the machine's own role: Start
    pipeline's StartExecution (request-response); a task with `Credentials` needs only
    AssumeRole of that role, which makes the calls (test_the_target_role_…)."""
    definition = json.loads(
        (REPO / machine["Properties"]["DefinitionUri"]).read_text(encoding="utf-8")
    )
    needed = set()
    for task in task_resources(definition["States"]):
        if "Credentials" in task:
            needed.add("sts:AssumeRole")
        elif task["Resource"] == START_EXECUTION:
            needed.add("states:StartExecution")
        elif task["Resource"] in OTHER_INTEGRATIONS:
            pytest.fail(f"no IAM mapping here for {task['Resource']} without Credentials")
    return needed


@pytest.mark.parametrize(
    ("machine_name", "least"), [("RolloutStateMachine", 7), ("PipelineStateMachine", 5)]
)
def test_the_state_machine_role_grants_exactly_what_the_definition_uses(
    machine_name: str, least: int
) -> None:
    machine = raw_template()["Resources"][machine_name]
    role_name = f"{machine_name}Role"
    role = transformed()[role_name]
    invoked: set[str] = set()
    others: set[str] = set()
    for statement in inline_statements(role):
        for action in as_list(statement["Action"]):
            if action != "lambda:InvokeFunction":
                others.add(action)
                continue
            for resource in as_list(statement["Resource"]):
                # SAM's LambdaInvokePolicy: Fn::Sub [".../function:${functionName}*", {...}]
                invoked.add(resource["Fn::Sub"][1]["functionName"]["Ref"])
    used = invoked_by_definition(machine)
    assert len(used) >= least
    compare(role_name, used, invoked)
    logging = machine["Properties"].get("Logging", {}).get("Destinations")
    needed = (LOG_DELIVERY if logging else set()) | other_integration_actions(machine)
    compare(role_name, needed, others)


# -- EventBridge rule roles -------------------------------------------------------------


def test_rule_roles_grant_exactly_what_their_targets_need() -> None:
    resources = transformed()
    checked = 0
    for rule in (r for r in resources.values() if r["Type"] == "AWS::Events::Rule"):
        for target in rule["Properties"]["Targets"]:
            if "RoleArn" not in target:
                continue  # Lambda targets: the function's resource policy, no role
            role = target["RoleArn"]["Fn::GetAtt"][0]
            machine = target["Arn"].get("Ref")
            assert resources.get(machine, {}).get("Type") == "AWS::StepFunctions::StateMachine", (
                f"no IAM mapping here for a {target['Arn']} target: add it"
            )
            granted = {
                (action, json.dumps(resource, sort_keys=True))
                for statement in inline_statements(resources[role])
                for action in as_list(statement["Action"])
                for resource in as_list(statement["Resource"])
            }
            used = {("states:StartExecution", json.dumps({"Ref": machine}))}
            compare(role, {str(u) for u in used}, {str(g) for g in granted})
            checked += 1
    assert checked >= 1


def test_every_role_is_checked_here() -> None:
    """A new role can't escape: it must belong to a function, the machine or a rule."""
    resources = transformed()
    roles = {n for n, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    functions = {role_of(resources[f]) for f in function_code()}
    rules = {
        t["RoleArn"]["Fn::GetAtt"][0]
        for r in resources.values()
        if r["Type"] == "AWS::Events::Rule"
        for t in r["Properties"]["Targets"]
        if "RoleArn" in t
    }
    machines = {"RolloutStateMachineRole", "PipelineStateMachineRole"}
    assert roles == functions | rules | machines | {"TargetRole"}
    assert not [r for r in resources.values() if r["Type"] in ("AWS::IAM::Policy",)]


# -- the analysis itself: it sees calls, and refuses what it can't follow ---------------


CLIENTS_PY = """
from functools import cache
import botocore.session

@cache
def client(service):
    return botocore.session.get_session().create_client(service)

def lambda_():
    return client("lambda")

def stepfunctions():
    return client("stepfunctions")
"""


def analyse(tmp_path: Path, modules: dict[str, str], handler: str) -> set[str]:
    core = tmp_path / "rollout_core"
    core.mkdir()
    (core / "__init__.py").write_text("")
    (core / "clients.py").write_text(CLIENTS_PY)
    for name, text in modules.items():
        path = core / f"{name}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    app = tmp_path / "app.py"
    app.write_text(textwrap.dedent(handler))
    return {call.action for call in CodeCalls(core).calls_from(app)}


def test_the_analysis_follows_clients_through_names_arguments_and_paginators(
    tmp_path: Path,
) -> None:
    core = {
        "work": """
            from . import clients
            from .clients import stepfunctions

            def read(arn):
                sfn = stepfunctions()
                return _page(sfn, arn)

            def _page(sfn, arn):
                return sfn.get_execution_history(executionArn=arn)

            def versions(name):
                return clients.lambda_().get_paginator("list_versions_by_function")

            def checks():
                return [versions]

            def unused():
                clients.lambda_().delete_function(FunctionName="x")
        """,
    }
    handler = """
        from rollout_core import work

        def lambda_handler(event, context):
            work.read(event["arn"])
            for check in work.checks():
                check("f")
            return {}
    """
    assert analyse(tmp_path, core, handler) == {
        "states:GetExecutionHistory",
        "lambda:ListVersionsByFunction",
    }


def test_the_analysis_follows_a_client_an_object_holds_to_the_methods_called(
    tmp_path: Path,
) -> None:
    """A class that owns its client (rollout_core.channel): the client passed to its
    constructor is followed to `self._sfn` in its methods, and a role is charged only with
    the methods its code calls by name, here from a subpackage."""
    core = {
        "table": """
            from . import clients

            class Table:
                def __init__(self, name, sfn):
                    self.name = name
                    self._sfn = sfn

                def read(self, arn):
                    return self._describe(arn)

                def _describe(self, arn):
                    return self._sfn.describe_execution(executionArn=arn)

                def stop(self, arn):
                    return self._sfn.stop_execution(executionArn=arn)

            def of(name):
                return Table(name, clients.stepfunctions())
        """,
        "sub/__init__": "",
        "sub/work": """
            from .. import table

            def go(arn):
                return table.of("t").read(arn)
        """,
    }
    handler = "from rollout_core.sub import work\n\ndef lambda_handler(e, c):\n    work.go(e)\n"
    assert analyse(tmp_path, core, handler) == {"states:DescribeExecution"}


@pytest.mark.parametrize(
    "body",
    [
        "return clients.lambda_()",  # handed out: calls made elsewhere can't be seen
        "holder.client = clients.lambda_()",
        "print(clients.lambda_())",
        "return boto3.client('lambda').invoke(FunctionName='x')",
        "return botocore.session.get_session().create_client('lambda').invoke(FunctionName='x')",
        "return clients.lambda_().get_waiter('function_active')",
    ],
)
def test_the_analysis_refuses_what_it_cannot_follow(tmp_path: Path, body: str) -> None:
    imports = "import boto3\nimport botocore.session\nfrom . import clients\n"
    core = {"work": f"{imports}\ndef go(holder):\n    {body}\n"}
    handler = "from rollout_core import work\n\ndef lambda_handler(e, c):\n    work.go(e)\n"
    with pytest.raises(CannotFollow):
        analyse(tmp_path, core, handler)


@pytest.mark.parametrize(
    ("service", "operation", "action"),
    [
        ("lambda", "update_alias", "lambda:UpdateAlias"),
        ("lambda", "invoke", "lambda:InvokeFunction"),
        ("cloudwatch", "get_metric_data", "cloudwatch:GetMetricData"),
        ("stepfunctions", "describe_execution", "states:DescribeExecution"),
        ("dynamodb", "put_item", "dynamodb:PutItem"),
    ],
)
def test_boto3_operations_map_to_iam_actions(service: str, operation: str, action: str) -> None:
    assert iam_action(service, operation) == action
