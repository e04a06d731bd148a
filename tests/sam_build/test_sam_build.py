"""`sam build` of template.yaml, as a user runs it, and what it built.

The build runs the real SAM CLI (installed by `make setup` into .venv-sam, see
requirements-sam.txt) into a temporary folder, with no python3.12 on PATH: every
resource is built by functions/Makefile, which downloads wheels for the functions'
platform. Then every native module in the output is checked against the architecture and
runtime of the function or layer that ships it (tests/sam_build/native.py).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rollout.local.package import _layer_prefix
from tests.sam_build.native import (
    FUNCTION,
    LAYER,
    Target,
    elf_machine,
    layer_problems,
    load_template,
    native_problems,
    targets,
)

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
SAM = Path(os.environ.get("SAM_CLI", REPO / ".venv-sam" / "bin" / "sam"))
BUILD_TIMEOUT = 600


def _path_without_python312() -> str:
    """PATH minus any folder with a python3.12 in it (pyenv shims included), so the
    build proves it needs none."""
    folders = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(f for f in folders if not (Path(f) / "python3.12").exists())


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    assert SAM.is_file(), f"no SAM CLI at {SAM}: run `make setup` (or set SAM_CLI)"
    out = tmp_path_factory.mktemp("sam") / "build"
    env = {
        **os.environ,
        "PATH": _path_without_python312(),
        # functions/Makefile runs pip with this interpreter (the project's venv has pip).
        "PYTHON": sys.executable,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
    }
    assert shutil.which("python3.12", path=env["PATH"]) is None
    command = [str(SAM), "build", "--template-file", str(TEMPLATE), "--build-dir", str(out)]
    started = time.monotonic()
    result = subprocess.run(
        [*command, "--no-cached", "--parallel"],
        cwd=out.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    print(f"sam build: {time.monotonic() - started:.1f}s")
    warnings = [line for line in output.splitlines() if "BuildArchitecture" in line]
    assert not warnings, warnings
    yield out


def test_every_function_and_layer_is_built(build_dir: Path):
    declared = {
        name
        for name, resource in load_template(TEMPLATE)["Resources"].items()
        if resource["Type"] in (FUNCTION, LAYER)
    }
    built = {target.name for target in targets(build_dir)}
    assert built == declared
    for target in targets(build_dir):
        assert target.folder.is_dir(), target


def test_native_modules_match_architecture_and_runtime(build_dir: Path):
    problems, checked = [], 0
    for target in targets(build_dir):
        found, count = native_problems(target)
        problems += found
        checked += count
    assert checked >= 2, "expected pydantic_core and wrapt in the layer"
    assert problems == []


def test_layers_suit_the_functions_that_use_them(build_dir: Path):
    assert layer_problems(build_dir) == []


def test_layer_ships_its_code_where_python_finds_it(build_dir: Path):
    layer = next(t for t in targets(build_dir) if t.name == "CoreLayer")
    assert (layer.folder / "python" / "rollout_core" / "__init__.py").is_file()
    assert (layer.folder / "python" / "pydantic_core").is_dir()
    assert not list(layer.folder.rglob("__pycache__")), "host-compiled bytecode shipped"


def test_functions_ship_their_handler(build_dir: Path):
    for target in targets(build_dir):
        if target.name != "CoreLayer":
            assert (target.folder / "app.py").is_file(), target.name


# -- the checker itself: it must fail on what today's x86_64 layer shipped -----------------


def _elf(path: Path, machine: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HH", 3, machine))
    return path


def _layer(folder: Path, archs: frozenset[str] = frozenset({"arm64"})) -> Target:
    return Target("CoreLayer", folder, frozenset(archs), frozenset({"python3.12"}))


def test_checker_accepts_arm64_cpython312_and_abi3(tmp_path: Path):
    _elf(tmp_path / "python/pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so", 183)
    _elf(tmp_path / "python/cryptography/_rust.abi3.so", 183)
    _elf(tmp_path / "python/numpy.libs/libgfortran-abc.so.5.0.0", 183)
    assert native_problems(_layer(tmp_path)) == ([], 3)


def test_checker_rejects_an_x86_64_module_in_an_arm64_layer(tmp_path: Path):
    # What `sam build` put in CoreLayer before it had BuildArchitecture: arm64.
    _elf(tmp_path / "python/wrapt/_wrappers.cpython-312-x86_64-linux-gnu.so", 62)
    problems, checked = native_problems(_layer(tmp_path))
    assert checked == 1
    assert problems == [
        "CoreLayer: python/wrapt/_wrappers.cpython-312-x86_64-linux-gnu.so is ELF machine 62,"
        " not arm64 (183)",
        "CoreLayer: python/wrapt/_wrappers.cpython-312-x86_64-linux-gnu.so is named for "
        "x86_64, not arm64",
    ]


def test_checker_rejects_another_cpython(tmp_path: Path):
    _elf(tmp_path / "python/pydantic_core/_pydantic_core.cpython-311-aarch64-linux-gnu.so", 183)
    problems, _ = native_problems(_layer(tmp_path))
    assert problems == [
        "CoreLayer: python/pydantic_core/_pydantic_core.cpython-311-aarch64-linux-gnu.so is for"
        " CPython 311, not python3.12"
    ]


def test_checker_rejects_native_code_in_a_two_architecture_layer(tmp_path: Path):
    _elf(tmp_path / "python/x/_x.abi3.so", 183)
    problems, _ = native_problems(_layer(tmp_path, frozenset({"arm64", "x86_64"})))
    assert problems == ["CoreLayer: python/x/_x.abi3.so is ELF machine 183, not x86_64 (62)"]


def test_elf_machine_of_a_non_elf_file(tmp_path: Path):
    (tmp_path / "x.so").write_text("not a shared object")
    assert elf_machine(tmp_path / "x.so") is None


# -- the template, without building ----------------------------------------------------------


def test_layer_build_architecture_is_one_it_declares():
    layer = load_template(TEMPLATE)["Resources"]["CoreLayer"]
    build_arch = layer.get("Metadata", {}).get("BuildArchitecture", "x86_64")  # SAM's default
    assert build_arch in layer["Properties"]["CompatibleArchitectures"]


def test_functions_makefile_targets_the_template_platform():
    template = load_template(TEMPLATE)
    function_globals = template["Globals"]["Function"]
    makefile = (REPO / "functions" / "Makefile").read_text()
    (arch,) = function_globals["Architectures"]
    python = function_globals["Runtime"].removeprefix("python")
    assert f"LAMBDA_ARCH ?= {'aarch64' if arch == 'arm64' else arch}\n" in makefile
    assert f"LAMBDA_PYTHON ?= {python}\n" in makefile


def test_local_cloud_zips_a_makefile_python_layer_under_python():
    layer = load_template(TEMPLATE)["Resources"]["CoreLayer"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert _layer_prefix(layer) == "python/"
    assert _layer_prefix({"Metadata": {"BuildMethod": "makefile"}, "Properties": {}}) == ""
