"""Which AWS API calls a task Lambda's code can make, read from the code itself.

Static analysis of a handler module and the `rollout_core` modules it reaches:

- Clients come only from `rollout_core.clients` (STYLE: created lazily there). Its
  functions that create a client for a constant service name (`client("lambda")`) are
  the factories; `clients.client("sts")` names the service at the call site.
- A call graph of functions: a function reaches every function or class it names
  (called or passed as a value, so `[readiness, invoke, hook]` counts), across
  `from . import x` / `from .x import y` / `from .. import z` imports, subpackages
  included. Import-time code of every module reached counts as well.
- A class reached reaches its dunder methods (`__init__`, …) and every method whose name
  is an attribute anywhere in the reached code (`items.update(…)`, `self._put(…)`): a
  method is counted as soon as anything could call it by name, so a role is charged with
  the methods its code can call, not with every method of a class it uses.
- In each function reached, a client is followed from its factory call through local
  names (`lam = clients.lambda_()`), through arguments to other functions of the core
  (`_history(sfn, arn)` binds `sfn` in `_history`) or to a class's constructor, and from
  there through `self.<name> = <client>` to that attribute in the class's methods, to
  `<client>.<operation>(…)` and `<client>.get_paginator("<operation>")`.
- Anything else done with a client (returned, stored, passed somewhere the analysis
  can't follow, a waiter, a client made with boto3 or botocore directly) raises
  `CannotFollow`: the analysis never silently misses a call, it refuses to answer.

`iam_action` turns a boto3 operation into the IAM action it needs, from botocore's
service model (`method_to_api_mapping` and the signing name).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import botocore.session

PACKAGE = "rollout_core"
CLIENTS = f"{PACKAGE}.clients"
# Clients that act in a pipeline target's account as its TargetRole (rollout_core.remote):
# their calls are charged to that role, not to the function's own.
REMOTE = f"{PACKAGE}.remote"
TARGET_ROLE = "target:"
FACTORY_MODULES = {CLIENTS: "", REMOTE: TARGET_ROLE}
# What makes a client: boto3's session.client(), botocore's session.create_client()
MAKERS = {"client", "create_client"}
HANDLER = "<handler>"
MODULE_CODE = "<module>"  # a module's import-time statements, as a node of the graph
CLASS_REACHED = ".<reached>"  # "Class.<reached>": the class is used; its methods by name

# IAM service prefixes that differ from botocore's signing name (Service Authorization
# Reference: "Amazon CloudWatch (service prefix: cloudwatch)"; its API endpoint and
# signing name are "monitoring").
IAM_PREFIX = {"monitoring": "cloudwatch"}
# Operations authorised by an IAM action of another name (Lambda's Invoke API is
# authorised by lambda:InvokeFunction, DryRun included).
# A transaction is authorised by its actions' own permissions ("Using IAM with DynamoDB
# transactions": Put is governed by dynamodb:PutItem); rollout_core.lock only puts.
# API Gateway's management API is authorised by its HTTP verb ("Control access to the API
# Gateway management API": apigateway:GET on the resource path read).
IAM_ACTION = {
    "lambda:Invoke": "lambda:InvokeFunction",
    "lambda:InvokeWithResponseStream": "lambda:InvokeFunction",
    "dynamodb:TransactWriteItems": "dynamodb:PutItem",
    "apigateway:GetIntegrations": "apigateway:GET",
    "apigateway:GetRoutes": "apigateway:GET",
    "apigateway:GetResources": "apigateway:GET",
}
# Attributes of a client that are not API calls.
CLIENT_ATTRIBUTES = {"meta", "exceptions", "can_paginate"}


class CannotFollow(Exception):
    """The code uses a client in a way this analysis can't see through."""


@dataclass(frozen=True, order=True)
class ApiCall:
    service: str  # boto3 service name: "lambda", "cloudwatch", ...; "target:lambda" remote
    operation: str  # boto3 method name: "update_alias"
    where: str = field(compare=False, default="")

    @property
    def as_target_role(self) -> bool:
        """Made through rollout_core.remote: as the TargetRole of a pipeline's target."""
        return self.service.startswith(TARGET_ROLE)

    @property
    def action(self) -> str:
        return iam_action(self.service.removeprefix(TARGET_ROLE), self.operation)


@cache
def _model(service: str) -> tuple[dict[str, str], str]:
    client = botocore.session.get_session().create_client(service, region_name="us-east-1")
    return dict(client.meta.method_to_api_mapping), client.meta.service_model.signing_name


def operations(service: str) -> dict[str, str]:
    """boto3 method name → API operation name."""
    return _model(service)[0]


def iam_action(service: str, operation: str) -> str:
    """The IAM action a boto3 call needs, e.g. ("lambda", "update_alias") → lambda:UpdateAlias."""
    mapping, signing_name = _model(service)
    action = f"{IAM_PREFIX.get(signing_name, signing_name)}:{mapping[operation]}"
    return IAM_ACTION.get(action, action)


# -- modules ------------------------------------------------------------------------------


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)  # local name → module imported
    symbols: dict[str, tuple[str, str]] = field(default_factory=dict)  # name → (module, name)
    package: str = ""  # what `from .` names: the package this module is in (or is)

    @classmethod
    def parse(cls, name: str, path: Path, package: set[str]) -> Module:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = cls(name, path, tree)
        module.package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                module.functions[node.name] = node
            elif isinstance(node, ast.ClassDef):
                module.classes[node.name] = node
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                module._import_from(node, package)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in package:
                        module.modules[alias.asname or alias.name] = alias.name
        return module

    def _import_from(self, node: ast.ImportFrom, package: set[str]) -> None:
        if (
            node.level
        ):  # only the core uses relative imports: `from . import x`, `from ..x import y`
            parts = self.package.split(".")
            if node.level > len(parts) or not self.package.startswith(PACKAGE):
                raise CannotFollow(f"{self.path}: relative import beyond {PACKAGE}")
            base = ".".join(parts[: len(parts) - node.level + 1])
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        if source not in package:
            return
        for alias in node.names:
            local = alias.asname or alias.name
            if f"{source}.{alias.name}" in package:
                self.modules[local] = f"{source}.{alias.name}"
            else:
                self.symbols[local] = (source, alias.name)

    def where(self, node: ast.AST) -> str:
        return f"{self.path.name}:{getattr(node, 'lineno', '?')}"


Node = tuple[str, str]  # (module name, "function" | "Class.method" | MODULE_CODE)


def _walk_code(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Every AST node of these statements. Nested functions and lambdas count as part of
    the function that defines them (they run when called: counting them is the safe side)."""
    for statement in body:
        yield from ast.walk(statement)


class CodeCalls:
    """The AWS calls reachable from a handler, through the core package."""

    def __init__(self, core: Path) -> None:
        self.modules: dict[str, Module] = {}
        paths = {_module_name(core, path): path for path in sorted(core.rglob("*.py"))}
        package = set(paths)
        for name, path in paths.items():
            self.modules[name] = Module.parse(name, path, package)
        self._package = package
        self.factories = self._factories()
        # (module, class) → {attribute: service}: clients an object holds (`self._ddb = ddb`)
        self.held: dict[tuple[str, str], dict[str, str]] = {}

    # -- the clients module ------------------------------------------------------------

    def _factories(self) -> dict[tuple[str, str], str | None]:
        """(module, factory name) → service (None: the service is the call's first
        argument); a remote factory's service is prefixed TARGET_ROLE."""
        found: dict[tuple[str, str], str | None] = {}
        for source, prefix in FACTORY_MODULES.items():
            if source not in self.modules:
                continue
            for name, function in self.modules[source].functions.items():
                params = [a.arg for a in function.args.args]
                for node in ast.walk(function):
                    if not (isinstance(node, ast.Call) and _called_name(node) in MAKERS):
                        continue
                    first = node.args[0] if node.args else None
                    if isinstance(first, ast.Constant) and isinstance(first.value, str):
                        found[(source, name)] = prefix + first.value
                    elif isinstance(first, ast.Name) and params and first.id == params[0]:
                        found[(source, name)] = None
        if not any(source == CLIENTS for source, _ in found):
            raise CannotFollow(f"no client factories found in {CLIENTS}")
        return found

    # -- the graph ---------------------------------------------------------------------

    def calls_from(self, handler: Path, entry: str = "lambda_handler") -> set[ApiCall]:
        """Every AWS call the handler's `entry` can reach."""
        module = Module.parse(HANDLER, handler, self._package)
        self.modules[HANDLER] = module
        try:
            if entry not in module.functions:
                raise CannotFollow(f"{handler}: no function {entry}")
            reached = self._reach({(HANDLER, MODULE_CODE), (HANDLER, entry)})
            return self._calls(reached)
        finally:
            del self.modules[HANDLER]

    def _body(self, node: Node) -> list[ast.stmt]:
        module = self.modules[node[0]]
        if node[1].endswith(CLASS_REACHED):
            return []
        if node[1] == MODULE_CODE:
            return [
                s
                for s in module.tree.body
                if not isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            ] + [
                d
                for s in module.tree.body
                if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                for d in s.decorator_list
            ]
        owner, _, method = node[1].partition(".")
        if method:
            for item in module.classes[owner].body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == method:
                    return [item]
            raise KeyError(node)
        return [module.functions[owner]]

    def _resolve(
        self, module_name: str, name: str, seen: frozenset[str] = frozenset()
    ) -> set[Node]:
        """Graph nodes a name in a module stands for (a function, or a class's methods)."""
        module = self.modules[module_name]
        if name in module.functions:
            return {(module_name, name)}
        if name in module.classes:  # its methods: by name, in _reach
            return {(module_name, MODULE_CODE), (module_name, f"{name}{CLASS_REACHED}")} | {
                (module_name, f"{name}.{method}")
                for method in _methods(module.classes[name])
                if method == "__init__"
            }
        if name in module.symbols and name not in seen:
            target, symbol = module.symbols[name]
            return {(target, MODULE_CODE)} | self._resolve(target, symbol, seen | {name})
        return set()

    def _references(self, node: Node) -> set[Node]:
        module = self.modules[node[0]]
        found: set[Node] = set()
        owner = node[1].partition(".")[0] if "." in node[1] else None
        for item in _walk_code(self._body(node)):
            if isinstance(item, ast.Name):
                found |= self._resolve(node[0], item.id)
                if item.id in module.modules:
                    found.add((module.modules[item.id], MODULE_CODE))
            elif isinstance(item, ast.Attribute):
                if isinstance(item.value, ast.Name) and item.value.id in module.modules:
                    found |= self._resolve(module.modules[item.value.id], item.attr)
                elif owner and item.attr in _methods(module.classes[owner]):  # self.method
                    found.add((node[0], f"{owner}.{item.attr}"))
        for imported in set(module.modules.values()) | {m for m, _ in module.symbols.values()}:
            found.add((imported, MODULE_CODE))
        return found

    def _reach(self, start: set[Node]) -> set[Node]:
        reached, todo = set(start), list(start)
        attributes: set[str] = set()  # every attribute name the reached code uses
        while todo:
            while todo:
                node = todo.pop()
                attributes |= {
                    item.attr
                    for item in _walk_code(self._body(node))
                    if isinstance(item, ast.Attribute)
                }
                for found in self._references(node) - reached:
                    reached.add(found)
                    todo.append(found)
            for module_name, marker in [n for n in reached if n[1].endswith(CLASS_REACHED)]:
                cls = marker.removesuffix(CLASS_REACHED)
                for method in _methods(self.modules[module_name].classes[cls]):
                    node = (module_name, f"{cls}.{method}")
                    called = method in attributes or (
                        method.startswith("__") and method.endswith("__")
                    )
                    if called and node not in reached:
                        reached.add(node)
                        todo.append(node)
        return reached

    # -- clients inside the reached code -----------------------------------------------

    def _calls(self, reached: set[Node]) -> set[ApiCall]:
        bound: dict[Node, dict[str, str]] = {node: {} for node in reached}  # param → service
        self.held = {}
        while True:
            calls: set[ApiCall] = set()
            before = {node: dict(names) for node, names in bound.items()}
            held_before = {cls: dict(names) for cls, names in self.held.items()}
            for node in sorted(reached):
                calls |= self._calls_in(node, bound)
            if bound == before and self.held == held_before:
                return calls

    def _calls_in(self, node: Node, bound: dict[Node, dict[str, str]]) -> set[ApiCall]:
        module = self.modules[node[0]]
        body = self._body(node)
        names = dict(bound[node])  # local name → service, parameters bound by callers first
        owner = node[1].partition(".")[0] if "." in node[1] else None
        if owner:  # a method: the clients its object holds, as `self.<attribute>`
            held = self.held.get((node[0], owner), {})
            names |= {f"self.{attribute}": service for attribute, service in held.items()}
        parents: dict[ast.AST, ast.AST] = {}
        for item in _walk_code(body):
            for child in ast.iter_child_nodes(item):
                parents[child] = item
        # local names assigned a client (any assignment in the function counts)
        for item in _walk_code(body):
            if isinstance(item, ast.Assign | ast.AnnAssign) and item.value is not None:
                service = self._service_of(module, item.value, names)
                targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                if service and len(targets) == 1 and isinstance(targets[0], ast.Name):
                    names[targets[0].id] = service
        calls: set[ApiCall] = set()
        for item in _walk_code(body):
            if not isinstance(item, ast.expr):
                continue
            service = self._service_of(module, item, names)
            if service is None:
                continue
            calls |= self._use(module, node, item, service, parents, bound)
        return calls

    def _service_of(self, module: Module, expr: ast.AST, names: dict[str, str]) -> str | None:
        """The service of the client this expression evaluates to, if it is one."""
        if isinstance(expr, ast.Name) and isinstance(expr.ctx, ast.Load):
            return names.get(expr.id)
        if (
            isinstance(expr, ast.Attribute)
            and isinstance(expr.ctx, ast.Load)
            and isinstance(expr.value, ast.Name)
            and expr.value.id == "self"
        ):
            return names.get(f"self.{expr.attr}")
        if not isinstance(expr, ast.Call):
            return None
        factory: tuple[str, str] | None = None
        if (
            isinstance(expr.func, ast.Attribute)
            and isinstance(expr.func.value, ast.Name)
            and module.modules.get(expr.func.value.id) in FACTORY_MODULES
        ):
            factory = (module.modules[expr.func.value.id], expr.func.attr)
        elif isinstance(expr.func, ast.Name) and (
            module.symbols.get(expr.func.id, ("", ""))[0] in FACTORY_MODULES
        ):
            factory = module.symbols[expr.func.id]
        elif isinstance(expr.func, ast.Name) and module.name in FACTORY_MODULES:
            factory = (module.name, expr.func.id)
        if factory is None or factory not in self.factories:
            makes_client = _called_name(expr) in MAKERS | {"resource"}
            if makes_client and module.name not in FACTORY_MODULES:
                raise CannotFollow(
                    f"{module.where(expr)}: a boto3 client made outside {CLIENTS} or "
                    f"{REMOTE}; make it there so this analysis (and moto) can see it"
                )
            return None
        service = self.factories[factory]
        if service is None:
            first = expr.args[0] if expr.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                raise CannotFollow(f"{module.where(expr)}: client() of a service not named")
            service = FACTORY_MODULES[factory[0]] + first.value
        return service

    def _use(
        self,
        module: Module,
        node: Node,
        expr: ast.expr,
        service: str,
        parents: dict[ast.AST, ast.AST],
        bound: dict[Node, dict[str, str]],
    ) -> set[ApiCall]:
        parent = parents.get(expr)
        where = module.where(expr)
        if isinstance(parent, ast.Attribute) and parent.value is expr:
            call = parents.get(parent)
            if parent.attr in CLIENT_ATTRIBUTES:
                return set()
            if not (isinstance(call, ast.Call) and call.func is parent):
                raise CannotFollow(f"{where}: {service} client .{parent.attr} not called")
            if parent.attr == "get_paginator":
                first = call.args[0] if call.args else None
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    raise CannotFollow(f"{where}: get_paginator of an operation not named")
                return {self._api_call(service, first.value, where)}
            return {self._api_call(service, parent.attr, where)}
        if isinstance(parent, ast.Assign | ast.AnnAssign) and (
            isinstance(parent, ast.AnnAssign) or len(parent.targets) == 1
        ):
            target = parent.targets[0] if isinstance(parent, ast.Assign) else parent.target
            if isinstance(target, ast.Name):
                return set()  # followed through the name
            owner = node[1].partition(".")[0] if "." in node[1] else None
            if (
                owner
                and isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
            ):  # held by the object: followed in its methods
                self.held.setdefault((node[0], owner), {})[target.attr] = service
                return set()
        if isinstance(parent, ast.Return) and module.name in FACTORY_MODULES:
            return set()  # a factory handing out its client
        if isinstance(parent, ast.Call) and expr is not parent.func:
            self._bind(module, node, parent, expr, service, bound, where)
            return set()
        raise CannotFollow(f"{where}: can't follow a {service} client used here")

    def _bind(
        self,
        module: Module,
        node: Node,
        call: ast.Call,
        argument: ast.expr,
        service: str,
        bound: dict[Node, dict[str, str]],
        where: str,
    ) -> None:
        """A client passed to a function of the core: its parameter holds that client."""
        if isinstance(call.func, ast.Name):
            targets = self._resolve(module.name, call.func.id)
        elif (
            isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id in module.modules
        ):
            targets = self._resolve(module.modules[call.func.value.id], call.func.attr)
        else:
            targets = set()
        targets = {n for n in targets if n[1] != MODULE_CODE and not n[1].endswith(CLASS_REACHED)}
        if len(targets) != 1:
            raise CannotFollow(f"{where}: a {service} client passed to something not followed")
        (target,) = targets
        (function,) = self._body(target)
        assert isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        params = [a.arg for a in function.args.posonlyargs + function.args.args]
        if target[1].endswith(".__init__"):
            params = params[1:]  # a constructor: `self` is not passed
        if argument in call.args:
            index = call.args.index(argument)
            name = params[index] if index < len(params) else None
        else:
            name = next((k.arg for k in call.keywords if k.value is argument), None)
        if name is None:
            raise CannotFollow(f"{where}: a {service} client passed as *args or **kwargs")
        bound.setdefault(target, {})[name] = service

    def _api_call(self, service: str, operation: str, where: str) -> ApiCall:
        if operation == "get_waiter" or operation not in operations(
            service.removeprefix(TARGET_ROLE)
        ):
            raise CannotFollow(f"{where}: {service}.{operation} is not an operation followed")
        return ApiCall(service, operation, where)


def _module_name(core: Path, path: Path) -> str:
    """rollout_core.health.judge for <core>/health/judge.py; a package by its __init__."""
    parts = [PACKAGE, *path.relative_to(core).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _methods(cls: ast.ClassDef) -> list[str]:
    return [
        item.name for item in cls.body if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None
