"""Evaluate the CloudFormation intrinsics a template's Conditions and parameter-driven
properties use (Ref to parameters, Fn::If/Equals/And/Or/Not/Select/Split/Join,
Condition, AWS::NoValue), as CloudFormation does when it creates the stack. Anything
else (Ref to a resource, Fn::GetAtt, Fn::Sub) is left as it is."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]
NO_VALUE = object()  # Ref AWS::NoValue: the key it is the value of disappears


class Intrinsics:
    def __init__(self, template: Json, parameters: dict[str, str] | None = None) -> None:
        declared = template.get("Parameters", {})
        self.parameters = {name: str(p.get("Default", "")) for name, p in declared.items()}
        self.parameters.update(parameters or {})
        self.conditions: Json = template.get("Conditions", {})

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.conditions[name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            function = getattr(self, "_" + key.replace("::", "_").replace("Fn_", ""), None)
            if key == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if function is not None and (key.startswith("Fn::") or key == "Ref"):
                return function(argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _Ref(self, name: str) -> Any:  # named after the intrinsic
        if name == "AWS::NoValue":
            return NO_VALUE
        return self.parameters.get(name, {"Ref": name})

    def _If(self, argument: list[Any]) -> Any:
        condition, when_true, when_false = argument
        return self.resolve(when_true if self.condition(condition) else when_false)

    def _Equals(self, argument: list[Any]) -> bool:
        left, right = (self.resolve(a) for a in argument)
        return bool(left == right)

    def _And(self, argument: list[Any]) -> bool:
        return all(self.resolve(a) for a in argument)

    def _Or(self, argument: list[Any]) -> bool:
        return any(self.resolve(a) for a in argument)

    def _Not(self, argument: list[Any]) -> bool:
        return not self.resolve(argument[0])

    def _Select(self, argument: list[Any]) -> Any:
        index, items = (self.resolve(a) for a in argument)
        if not 0 <= int(index) < len(items):
            raise IndexError(f"Fn::Select index {index} out of range for {items}")
        return items[int(index)]

    def _Split(self, argument: list[Any]) -> list[str]:
        delimiter, text = (self.resolve(a) for a in argument)
        return str(text).split(delimiter)

    def _Join(self, argument: list[Any]) -> str:
        delimiter, items = argument[0], self.resolve(argument[1])
        return str(delimiter).join(str(item) for item in items)
