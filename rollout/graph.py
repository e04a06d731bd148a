"""The workflow drawn as a Mermaid flowchart, generated from the ASL itself so it can't drift."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DEFINITION = Path(__file__).resolve().parents[1] / "statemachine" / "rollout.asl.json"

# Mermaid node shapes per state type: ( text ) is rounded, { } a decision, (( )) a terminal.
_SHAPES = {
    "Choice": ("{", "}"),
    "Wait": ("([", "])"),
    "Succeed": ("((", "))"),
    "Fail": ("((", "))"),
    "Pass": ("[/", "/]"),
}
_CLASSES = {"Succeed": "succeed", "Fail": "fail"}


def load_definition(path: Path = DEFINITION) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def node_id(name: str) -> str:
    return re.sub(r"\W+", "_", name).strip("_") or "state"


def mermaid(definition: dict[str, Any]) -> str:
    """Flowchart lines: states, their transitions, and Catch edges dashed with the errors."""
    states: dict[str, dict[str, Any]] = definition["States"]
    lines = ["flowchart TD", f"  start((Start)) --> {node_id(definition['StartAt'])}"]
    for name, state in states.items():
        opening, closing = _SHAPES.get(state["Type"], ("[", "]"))
        lines.append(f'  {node_id(name)}{opening}"{name}"{closing}')
    for name, state in states.items():
        lines.extend(_edges(name, state))
    lines.append("  classDef succeed fill:#d4edda,stroke:#2e7d32")
    lines.append("  classDef fail fill:#f8d7da,stroke:#c62828")
    for name, state in states.items():
        if state["Type"] in _CLASSES:
            lines.append(f"  class {node_id(name)} {_CLASSES[state['Type']]}")
    return "\n".join(lines) + "\n"


def _edges(name: str, state: dict[str, Any]) -> list[str]:
    source = node_id(name)
    edges = []
    for choice in state.get("Choices", []):
        label = choice.get("Comment") or "match"
        edges.append(f'  {source} -->|"{_quote(label)}"| {node_id(choice["Next"])}')
    if "Default" in state:
        edges.append(f'  {source} -->|"otherwise"| {node_id(state["Default"])}')
    if "Next" in state:
        edges.append(f"  {source} --> {node_id(state['Next'])}")
    for catcher in state.get("Catch", []):
        label = ", ".join(catcher["ErrorEquals"])
        edges.append(f'  {source} -.->|"{_quote(label)}"| {node_id(catcher["Next"])}')
    return edges


def _quote(text: str) -> str:
    return text.replace('"', "'")
