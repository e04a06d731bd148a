"""Offline `sam build` + `sam package` + the SAM transform, with no AWS account and no Docker.

Every local code folder a template points at (`CodeUri` of functions, `ContentUri` of
layers, `DefinitionUri` of state machines, and the plain CloudFormation equivalents) is
turned into an artifact whose S3 key is the SHA-256 of its bytes, and the property is
rewritten to that `s3://` location, as `sam package` does. Content-addressed keys are
what make a redeploy work: changed code gets a new key, so SAM gives the function a new
`AWS::Lambda::Version` logical id and the layer a new `AWS::Lambda::LayerVersion`.

Zips are deterministic (sorted entries, fixed timestamps and modes, no `__pycache__` or
`*.pyc`), so the same tree always yields the same key. A layer with
`Metadata: BuildMethod: python3.x` (or `makefile` with only Python `CompatibleRuntimes`, as
functions/Makefile builds CoreLayer) is zipped under `python/`, as `sam build` does, so it
lands on `/opt/python`.

A function's or layer's `requirements.txt` is built as `sam build` builds it (pip's
`--target` into the package, under `python/` for a layer): its whole dependency closure goes
in the package, taken offline from the distributions installed where the cloud runs
(dependencies.py), as symbolic links to them, so the zip stays small. The function then
imports exactly what its package, its layers and the runtime hold (python_runtime.py).
A requirement not installed here fails the build, as pip would.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import os
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samtranslator.metrics.method_decorator import MetricsMethodWrapperSingleton
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from rollout.local.dependencies import Entry, MissingDependency, closure, entries, read_requirements

ARTIFACT_BUCKET = "rollout-local-artifacts"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold
_SKIPPED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


class TemplateError(Exception):
    """The template can't be packaged or transformed; the message says why."""


@dataclass
class PackagedTemplate:
    """A SAM template whose local paths now name S3 objects, and those objects' bytes."""

    template: dict[str, Any]
    bucket: str
    artifacts: dict[str, bytes] = field(default_factory=dict)

    def add(self, body: bytes, suffix: str) -> str:
        key = hashlib.sha256(body).hexdigest() + suffix
        self.artifacts[key] = body
        return key


# -- zipping -------------------------------------------------------------------------


def _files(folder: Path) -> Iterator[Path]:
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(names):
            if not name.endswith(_SKIPPED_SUFFIXES):
                yield Path(root, name)


def zip_folder(folder: Path, prefix: str = "", links: list[Entry] | None = None) -> bytes:
    """The folder as a zip whose bytes depend only on file names, contents and modes, and
    on the `links` added after its files (symbolic links, Unix mode 0o120777)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(folder):
            info = zipfile.ZipInfo(prefix + path.relative_to(folder).as_posix(), _ZIP_DATE)
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
        for link in links or []:
            info = zipfile.ZipInfo(prefix + link.name, _ZIP_DATE)
            info.create_system = 3  # Unix, so the mode says "symbolic link"
            info.external_attr = 0o120777 << 16
            archive.writestr(info, str(link.path))
    return buffer.getvalue()


def build_zip(folder: Path, prefix: str = "") -> bytes:
    """What `sam build` makes of a code folder: its files, and its requirements.txt's
    dependency closure installed beside them (as links to this interpreter's copies)."""
    requirements_file = folder / "requirements.txt"
    requirements = (
        read_requirements(requirements_file.read_text()) if requirements_file.is_file() else []
    )
    try:
        links = entries(closure(requirements))
    except MissingDependency as error:
        raise TemplateError(f"{folder}: {error}") from None
    return zip_folder(folder, prefix, links)


# -- packaging -----------------------------------------------------------------------


def _is_local(value: Any) -> bool:
    return isinstance(value, str) and not value.startswith("s3://")


def _local_path(base: Path, value: str) -> Path:
    path = (base / value).resolve()
    if not path.exists():
        raise TemplateError(f"{value} does not exist (relative to {base})")
    return path


def _code_bytes(path: Path, prefix: str = "") -> bytes:
    return build_zip(path, prefix) if path.is_dir() else path.read_bytes()


def _layer_prefix(resource: dict[str, Any]) -> str:
    build_method = str(resource.get("Metadata", {}).get("BuildMethod", ""))
    runtimes = resource.get("Properties", {}).get("CompatibleRuntimes") or []
    python_only = bool(runtimes) and all(str(r).startswith("python") for r in runtimes)
    # A makefile-built Python layer installs under python/ too (functions/Makefile).
    built_for_python = build_method == "makefile" and python_only
    return "python/" if build_method.startswith("python") or built_for_python else ""


def _s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def _code(bucket: str, key: str) -> dict[str, str]:
    return {"S3Bucket": bucket, "S3Key": key}


def _location(bucket: str, key: str) -> dict[str, str]:
    return {"Bucket": bucket, "Key": key}


def _no_prefix(resource: dict[str, Any]) -> str:
    return ""


# (resource type, property, zip prefix, key suffix, how the S3 location is written back)
_Prefix = Callable[[dict[str, Any]], str]
_Writer = Callable[[str, str], Any]
_PACKAGED_PROPERTIES: list[tuple[str, str, _Prefix, str, _Writer]] = [
    ("AWS::Serverless::Function", "CodeUri", _no_prefix, ".zip", _s3_uri),
    ("AWS::Serverless::LayerVersion", "ContentUri", _layer_prefix, ".zip", _s3_uri),
    ("AWS::Serverless::StateMachine", "DefinitionUri", _no_prefix, ".json", _s3_uri),
    ("AWS::Lambda::Function", "Code", _no_prefix, ".zip", _code),
    ("AWS::Lambda::LayerVersion", "Content", _layer_prefix, ".zip", _code),
    ("AWS::StepFunctions::StateMachine", "DefinitionS3Location", _no_prefix, ".json", _location),
]


def _package_resource(package: PackagedTemplate, base: Path, resource: dict[str, Any]) -> None:
    properties = resource.get("Properties") or {}
    for kind, prop, prefix_of, suffix, write in _PACKAGED_PROPERTIES:
        if resource.get("Type") == kind and _is_local(properties.get(prop)):
            body = _code_bytes(_local_path(base, properties[prop]), prefix_of(resource))
            properties[prop] = write(package.bucket, package.add(body, suffix))


def load_template(template_path: Path) -> dict[str, Any]:
    """The template as a dict; YAML short forms (`!Ref`, `!GetAtt`) become long forms."""
    try:
        template = yaml_parse(template_path.read_text())
    except (OSError, ValueError) as error:
        raise TemplateError(f"can't read {template_path}: {error}") from error
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise TemplateError(f"{template_path} has no Resources")
    return template


def package_template(template_path: Path, bucket: str = ARTIFACT_BUCKET) -> PackagedTemplate:
    """`sam build` + `sam package` offline: artifacts are collected, not uploaded."""
    package = PackagedTemplate(copy.deepcopy(load_template(template_path)), bucket)
    base = template_path.resolve().parent
    for resource in package.template["Resources"].values():
        _package_resource(package, base, resource)
    function_globals = package.template.get("Globals", {}).get("Function", {})
    if _is_local(function_globals.get("CodeUri")):
        body = _code_bytes(_local_path(base, function_globals["CodeUri"]))
        function_globals["CodeUri"] = _s3_uri(bucket, package.add(body, ".zip"))
    return package


def upload(package: PackagedTemplate, s3: Any) -> int:
    """Put the artifacts the bucket doesn't have yet; returns how many were uploaded."""
    existing = _existing_keys(package.bucket, s3)
    missing = sorted(set(package.artifacts) - existing)
    for key in missing:
        s3.put_object(Bucket=package.bucket, Key=key, Body=package.artifacts[key])
    return len(missing)


def _existing_keys(bucket: str, s3: Any) -> set[str]:
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        region = s3.meta.region_name
        # S3 wants the Region named outside us-east-1 (CreateBucket, LocationConstraint)
        where = {} if region == "us-east-1" else {"LocationConstraint": region}
        s3.create_bucket(Bucket=bucket, **({"CreateBucketConfiguration": where} if where else {}))
        return set()
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"] for page in pages for item in page.get("Contents", [])}


# -- the SAM transform ---------------------------------------------------------------


class _NoManagedPolicies:
    """SAM asks IAM for managed policy ARNs; its bundled map is enough offline."""

    def load(self) -> dict[str, str]:
        return {}


def sam_transform(
    template: dict[str, Any], parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    """AWS::Serverless-2016-10-31 → plain CloudFormation, as the CloudFormation service does."""
    if "Transform" not in template:
        return copy.deepcopy(template)
    try:
        with _translator_region():
            return transform(copy.deepcopy(template), dict(parameters or {}), _NoManagedPolicies())
    except InvalidDocumentException as error:
        causes = "; ".join(cause.message for cause in error.causes)
        raise TemplateError(f"SAM transform failed: {causes}") from error
    finally:
        # The translator records usage metrics for a dummy publisher and warns when they
        # are garbage-collected unpublished; flushing them keeps stderr quiet.
        MetricsMethodWrapperSingleton.get_instance().publish()


_TRANSLATOR_REGION = threading.Lock()


@contextmanager
def _translator_region() -> Iterator[None]:
    """The translator takes its region (`AWS::Region`, ARN partitions) from the environment
    and refuses to work without one: us-east-1 then, for this call only. The process's
    environment is left as it was (a variable set for good would reach everything after)."""
    with _TRANSLATOR_REGION:
        if os.environ.get("AWS_DEFAULT_REGION"):
            yield
            return
        os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
        try:
            yield
        finally:
            os.environ.pop("AWS_DEFAULT_REGION", None)


def transform_template(
    template_path: Path, parameters: dict[str, str] | None = None
) -> dict[str, Any]:
    """The CloudFormation template `sam deploy` would submit (artifacts hashed, not uploaded)."""
    return sam_transform(package_template(template_path).template, parameters)


def dump_json(template: dict[str, Any]) -> str:
    """Stable JSON for a transformed template (for cfn-lint, diffs and create_stack)."""
    return json.dumps(template, indent=1, sort_keys=False, default=str)
