"""A Python function imports what Lambda would let it: its code, its layers, the runtime's boto3."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollout.local.cloud import LocalCloud
from rollout.local.dependencies import (
    Entry,
    MissingDependency,
    closure,
    read_requirements,
    runtime_included,
)
from rollout.local.lambda_logs import LambdaLogs
from rollout.local.lambda_runtime import CodeStore, LambdaRuntime
from rollout.local.package import TemplateError, build_zip, zip_folder
from rollout.local.python_runtime import HOST_PYTHON, interpreter_gap
from rollout.samples import lambda_role
from tests.conftest import REPO

pytestmark = pytest.mark.cloud

PROBE = """
import importlib, sys

def handler(event, context):
    found = {}
    for name in event["modules"]:
        try:
            importlib.import_module(name)
            found[name] = True
        except ImportError:
            found[name] = False
    return {"found": found, "path": sys.path, "version": sys.version}
"""
VENV_ONLY = ["rich", "pydantic", "moto", "requests", "aws_lambda_powertools", "rollout", "yaml"]
SDK = ["boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3"]


def zipped(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def runtime_cloud(isolated_cloud: Any) -> Iterator[LocalCloud]:
    with isolated_cloud(seams=[LambdaLogs, LambdaRuntime]) as cloud:
        yield cloud


@pytest.fixture(scope="module")
def create(runtime_cloud: LocalCloud) -> Any:
    lam = runtime_cloud.client("lambda")
    role = lambda_role(runtime_cloud.client("iam"), "python-runtime")

    def create_function(name: str, code: bytes, layers: list[str] | None = None) -> str:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code},
            Layers=layers or [],
        )
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        return name

    return create_function


def probe(runtime_cloud: LocalCloud, name: str, modules: list[str]) -> dict[str, Any]:
    response = runtime_cloud.client("lambda").invoke(
        FunctionName=name, Payload=json.dumps({"modules": modules})
    )
    answer: dict[str, Any] = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, answer
    return answer


def test_a_plain_zip_imports_the_sdk_and_nothing_of_the_virtualenv(runtime_cloud, create):
    name = create("plain", zipped({"app.py": PROBE}))
    answer = probe(runtime_cloud, name, VENV_ONLY + SDK)
    assert answer["found"] == {**dict.fromkeys(VENV_ONLY, False), **dict.fromkeys(SDK, True)}
    assert not [
        entry for entry in answer["path"] if "site-packages" in entry and "/opt/" not in entry
    ]


def test_the_function_runs_on_this_machines_python_and_says_so(runtime_cloud, create):
    """The declared python3.12 is not faked: sys.version is the host's (the README's gap)."""
    name = create("version", zipped({"app.py": PROBE}))
    assert probe(runtime_cloud, name, [])["version"] == sys.version
    gap = interpreter_gap("python3.12")
    assert gap is not None and "python3.12" in gap and HOST_PYTHON in gap
    assert interpreter_gap(HOST_PYTHON) is None
    assert interpreter_gap("nodejs20.x") is None


def test_a_layers_packages_are_importable(runtime_cloud, create):
    """From /opt/python and the declared runtime's site-packages (the function is python3.12),
    never another Python version's, though the interpreter running it is that version."""
    other = HOST_PYTHON if HOST_PYTHON != "python3.12" else "python3.11"
    lam = runtime_cloud.client("lambda")
    layer = lam.publish_layer_version(
        LayerName="helpers",
        Content={
            "ZipFile": zipped(
                {
                    "python/helper_top.py": "X = 1\n",
                    "python/lib/python3.12/site-packages/helper_deep.py": "Y = 2\n",
                    f"python/lib/{other}/site-packages/helper_other.py": "Z = 3\n",
                }
            )
        },
    )["LayerVersionArn"]
    name = create("layered", zipped({"app.py": PROBE}), [layer])
    modules = ["helper_top", "helper_deep", "helper_other", "rich"]
    found = probe(runtime_cloud, name, modules)["found"]
    assert found == {"helper_top": True, "helper_deep": True, "helper_other": False, "rich": False}


def test_a_requirements_file_is_built_into_the_package(runtime_cloud, create, tmp_path):
    folder = tmp_path / "fn"
    folder.mkdir()
    (folder / "app.py").write_text(PROBE)
    (folder / "requirements.txt").write_text("# what the handler needs\npydantic>=2\n")
    name = create("built", build_zip(folder))
    found = probe(runtime_cloud, name, ["pydantic", "pydantic_core", "typing_extensions", "rich"])
    assert found["found"] == {
        "pydantic": True,
        "pydantic_core": True,
        "typing_extensions": True,
        "rich": False,
    }


def test_a_requirement_not_installed_here_fails_the_build(tmp_path):
    (tmp_path / "requirements.txt").write_text("surely-not-installed-package==1.0\n")
    with pytest.raises(TemplateError, match="surely-not-installed-package"):
        build_zip(tmp_path)
    with pytest.raises(MissingDependency, match="is installed here"):
        closure(["boto3<1"])


def test_the_core_layer_gets_what_its_requirements_need():
    """template.yaml's CoreLayer: on AWS `sam build` installs functions/shared/requirements.txt."""
    text = (REPO / "functions" / "shared" / "requirements.txt").read_text()
    names = {d.metadata["Name"].lower().replace("_", "-") for d in closure(read_requirements(text))}
    assert {"aws-lambda-powertools", "aws-xray-sdk", "pydantic", "pydantic-core", "tzdata"} <= names
    assert not names & {"rich", "moto", "requests", "boto3"}


def test_the_runtime_includes_the_sdk_and_the_runtime_client_only():
    sdk, client = runtime_included()
    tops = {entry.name for entry in sdk if not entry.name.endswith(".dist-info")}
    assert tops == {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3"}
    assert {entry.name for entry in client if not entry.name.endswith(".dist-info")} == {
        "awslambdaric",
        "runtime_client" + _extension_suffix(client),
        "simplejson",
        "snapshot_restore_py.py",
    }
    assert all(Path(entry.path).exists() for entry in sdk + client)


def _extension_suffix(entries: list[Any]) -> str:
    native = [e.name for e in entries if e.name.startswith("runtime_client")]
    return native[0].removeprefix("runtime_client") if native else ""


def test_a_later_layer_never_writes_through_an_earlier_layers_links(tmp_path):
    """Layers extract in order into one /opt, later files replacing earlier ones; where an
    earlier layer linked a dependency, the later file replaces the link, not its target."""
    target_file = tmp_path / "elsewhere" / "shared.py"
    target_dir = tmp_path / "elsewhere" / "pkg"
    target_dir.mkdir(parents=True)
    target_file.write_text("ORIGINAL = True\n")
    (target_dir / "__init__.py").write_text("ORIGINAL = True\n")
    first_folder, second_folder = tmp_path / "first", tmp_path / "second"
    first_folder.mkdir()
    (second_folder / "pkg").mkdir(parents=True)
    (second_folder / "shared.py").write_text("LATER = True\n")
    (second_folder / "pkg" / "extra.py").write_text("LATER = True\n")
    first = zip_folder(
        first_folder,
        "python/",
        [Entry("shared.py", target_file), Entry("pkg", target_dir)],
    )
    second = zip_folder(second_folder, "python/")
    store = CodeStore()
    try:
        opt = store.opt_root((("a", first), ("b", second)))
        assert (opt / "python" / "shared.py").read_text() == "LATER = True\n"
        assert (opt / "python" / "pkg" / "extra.py").is_file()
        assert (opt / "python" / "pkg" / "__init__.py").read_text() == "ORIGINAL = True\n"
        alone = store.opt_root((("a", first),))
        assert (alone / "python" / "shared.py").is_symlink()
    finally:
        store.remove()
    assert target_file.read_text() == "ORIGINAL = True\n"
    assert sorted(p.name for p in target_dir.iterdir()) == ["__init__.py"]
    assert target_dir.exists()  # removing the store removed links, not what they name
