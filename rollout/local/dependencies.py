"""Python distributions as a build puts them in a Lambda package, taken from this interpreter.

`sam build` (functions/Makefile: `pip install --target … -r requirements.txt`) puts a
requirements file's whole dependency closure into the function's or layer's package, and
nothing else. The local cloud builds offline, so it takes the same closure from the
distributions installed where it runs (the project's virtualenv) and gives a package
links to exactly those, never the rest of the environment. A requirement that isn't
installed here fails the build, as pip would.

`runtime_included` names what the Lambda Python runtime itself provides: "The Lambda
Python runtimes include the AWS SDK for Python (Boto3) and its dependencies" ("Working
with .zip file archives for Python Lambda functions", Lambda Developer Guide,
https://docs.aws.amazon.com/lambda/latest/dg/python-package.html), that is boto3, botocore,
s3transfer, jmespath, python-dateutil, six and urllib3; and the runtime interface client
that runs the handler (awslambdaric with its own dependencies, in /var/runtime).
"""

from __future__ import annotations

import importlib.metadata as metadata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

SDK = ("boto3",)  # with its dependencies: botocore, s3transfer, jmespath, dateutil, six, urllib3
RUNTIME_CLIENT = ("awslambdaric",)  # with simplejson and snapshot-restore-py


class MissingDependency(Exception):
    """A requirement this interpreter doesn't have installed (pip would fail to build)."""


@dataclass(frozen=True)
class Entry:
    """One top-level file or folder a distribution installed, and where it lives here."""

    name: str
    path: Path


def read_requirements(text: str) -> list[str]:
    """The requirement lines of a requirements.txt (comments and blank lines dropped)."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def closure(requirements: Iterable[str]) -> list[metadata.Distribution]:
    """The installed distributions the requirements need, their dependencies included,
    each once, in name order; extras and environment markers as pip evaluates them."""
    found: dict[str, metadata.Distribution] = {}
    extras_seen: dict[str, set[str]] = {}
    pending = [_parse(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        key = canonicalize_name(requirement.name)
        if key in found and set(requirement.extras) <= extras_seen[key]:
            continue
        found[key] = found.get(key) or _installed(requirement)
        extras_seen.setdefault(key, set()).update(requirement.extras)
        pending += _needs(found[key], extras_seen[key])
    return [found[key] for key in sorted(found)]


def entries(distributions: Iterable[metadata.Distribution]) -> list[Entry]:
    """Each distribution's top-level packages, modules and metadata folder, as pip's
    `--target` lays them out; scripts and byte-code caches are left out."""
    collected: dict[str, Entry] = {}
    for distribution in distributions:
        for file in distribution.files or []:
            top = Path(str(file)).parts[0]
            if top in ("..", "__pycache__") or top in collected:
                continue
            collected[top] = Entry(top, Path(str(distribution.locate_file(top))))
    return [collected[name] for name in sorted(collected)]


def runtime_included() -> tuple[list[Entry], list[Entry]]:
    """(the runtime's SDK, the runtime interface client), each with its dependencies."""
    return entries(closure(SDK)), entries(closure(RUNTIME_CLIENT))


def _parse(text: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as error:
        raise MissingDependency(f"can't read requirement {text!r}: {error}") from None


def _installed(requirement: Requirement) -> metadata.Distribution:
    try:
        distribution = metadata.distribution(requirement.name)
    except metadata.PackageNotFoundError:
        raise MissingDependency(
            f"{requirement} is not installed where the local cloud runs, so it can't be put "
            "in the package (install it into the project's virtualenv)"
        ) from None
    if requirement.specifier and not requirement.specifier.contains(
        distribution.version, prereleases=True
    ):
        raise MissingDependency(
            f"{requirement} is required but {distribution.version} is installed here"
        )
    return distribution


def _needs(distribution: metadata.Distribution, extras: set[str]) -> list[Requirement]:
    """The distribution's own requirements that apply here, with `extras` asked of it."""
    needed = []
    for text in distribution.requires or []:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None:
            applies = True
        else:
            applies = any(marker.evaluate({"extra": extra}) for extra in extras | {""})
        if applies:
            needed.append(requirement)
    return needed
