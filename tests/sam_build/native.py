"""Checks a `sam build` output: every native module matches where its code will run.

Lambda loads a layer's and a function's native modules (`*.so`) on the function's
architecture and Python. A module built for another machine (ELF `e_machine`) or another
CPython (the `cpython-3XY` tag in an extension's file name) fails at import, on AWS only.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samtranslator.yaml_helper import yaml_parse

# ELF e_machine values (System V ABI) and the platform triplet in CPython extension names.
MACHINES = {"x86_64": 62, "arm64": 183}
TRIPLETS = {"x86_64": "x86_64", "arm64": "aarch64"}
EXTENSION = re.compile(r"\.cpython-(?P<version>\d{2,3})-(?P<triplet>[a-z0-9_]+)-linux-gnu\.so$")
NATIVE = re.compile(r"\.so(\.\d+)*$")
FUNCTION, LAYER = "AWS::Serverless::Function", "AWS::Serverless::LayerVersion"


@dataclass(frozen=True)
class Target:
    """Where a built resource's code runs: its architectures and Python runtimes."""

    name: str
    folder: Path
    architectures: frozenset[str]
    runtimes: frozenset[str]


def elf_machine(path: Path) -> int | None:
    """The ELF header's e_machine, or None when the file is not ELF."""
    with path.open("rb") as file:
        header = file.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    endian = "<" if header[5] == 1 else ">"
    return int(struct.unpack(endian + "H", header[18:20])[0])


def load_template(path: Path) -> dict[str, Any]:
    return yaml_parse(path.read_text())


def targets(build_dir: Path) -> list[Target]:
    """Every function and layer in the built template, with the folder sam build made."""
    template = load_template(build_dir / "template.yaml")
    globals_ = template.get("Globals", {}).get("Function", {})
    found = []
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == FUNCTION:
            archs = properties.get("Architectures", globals_.get("Architectures", ["x86_64"]))
            runtimes = [properties.get("Runtime", globals_.get("Runtime"))]
            folder = properties["CodeUri"]
        elif resource["Type"] == LAYER:
            archs = properties.get("CompatibleArchitectures", ["x86_64"])
            runtimes = properties.get("CompatibleRuntimes", [])
            folder = properties["ContentUri"]
        else:
            continue
        found.append(
            Target(name, build_dir / folder, frozenset(archs), frozenset(filter(None, runtimes)))
        )
    return found


def native_problems(target: Target) -> tuple[list[str], int]:
    """What in the target's folder can't load where it runs, and how many modules were read.

    A module must suit every architecture and runtime the target declares: a layer that
    says arm64 and x86_64 can't hold native code, since one file is built for one."""
    problems: list[str] = []
    checked = 0
    for path in sorted(target.folder.rglob("*")):
        if not path.is_file() or not NATIVE.search(path.name):
            continue
        checked += 1
        where = f"{target.name}: {path.relative_to(target.folder)}"
        machine = elf_machine(path)
        for arch in sorted(target.architectures):
            if machine != MACHINES.get(arch):
                problems.append(f"{where} is ELF machine {machine}, not {arch} ({MACHINES[arch]})")
        tag = EXTENSION.search(path.name)
        if tag is None:
            continue  # abi3 extensions and plain shared libraries carry no version
        for runtime in sorted(target.runtimes):
            wanted = runtime.removeprefix("python").replace(".", "")
            if tag["version"] != wanted:
                problems.append(f"{where} is for CPython {tag['version']}, not {runtime}")
        for arch in sorted(target.architectures):
            if tag["triplet"] != TRIPLETS[arch]:
                problems.append(f"{where} is named for {tag['triplet']}, not {arch}")
    return problems, checked


def layer_problems(build_dir: Path) -> list[str]:
    """A function's layers must declare the function's architecture and runtime."""
    template = load_template(build_dir / "template.yaml")
    by_name = {target.name: target for target in targets(build_dir)}
    globals_ = template.get("Globals", {}).get("Function", {})
    problems = []
    for name, resource in template["Resources"].items():
        if resource["Type"] != FUNCTION:
            continue
        layers = resource["Properties"].get("Layers", globals_.get("Layers", []))
        for layer in layers:
            if not (isinstance(layer, dict) and layer.get("Ref") in by_name):
                continue
            built, own = by_name[layer["Ref"]], by_name[name]
            if not own.architectures <= built.architectures:
                problems.append(
                    f"{name} runs on {sorted(own.architectures)}, {built.name} is "
                    f"for {sorted(built.architectures)}"
                )
            if not own.runtimes <= built.runtimes:
                problems.append(
                    f"{name} runs {sorted(own.runtimes)}, {built.name} is for "
                    f"{sorted(built.runtimes)}"
                )
    return problems
