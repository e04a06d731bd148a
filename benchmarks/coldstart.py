"""Cold-start import time and deployment package size of each task Lambda.

The code is laid out as Lambda would see it: each function's zip (as
rollout.local.package builds it) extracted as the task root and the layer's zip as /opt,
both read-only, so our own modules are compiled on every cold start
(PYTHONDONTWRITEBYTECODE). Dependencies come from the project's virtualenv, as in the
local runtime. Each import runs in a fresh interpreter; the median of `repeat` is kept.
"""

from __future__ import annotations

import importlib.metadata
import io
import os
import site
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from rollout.local.package import zip_folder

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ROOT / "functions"
LAYER = FUNCTIONS / "shared"
TASKS = (
    "prepare",
    "traffic_check",
    "shift_traffic",
    "check_health",
    "promote",
    "rollback",
    "finalize",
)
# What `sam build` would add to the layer from its requirements.txt (boto3 comes with the
# runtime); zipped from the installed distributions to estimate the real layer size.
LAYER_DISTRIBUTIONS = (
    "aws-lambda-powertools",
    "aws-xray-sdk",
    "wrapt",
    "jmespath",
    "pydantic",
    "pydantic-core",
    "annotated-types",
    "typing-extensions",
    "typing-inspection",
)
# -S: site-packages come from PYTHONPATH, so the development virtualenv's .pth hooks
# (the editable install's finder) stay out of the measurement, as they are on Lambda.
PROBE = "import time; t = time.perf_counter(); import app; print(time.perf_counter() - t)"


def _extract(content: bytes, target: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        archive.extractall(target)
    return target


def _env(task_root: Path, opt: Path, task: str) -> dict[str, str]:
    """Lambda's search path (task root, /opt/python, the runtime's packages) and variables.

    LAMBDA_TASK_ROOT matters: the X-Ray SDK checks it to pick Lambda's local sampler
    instead of creating an X-Ray API client at import.
    """
    inherited = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
    return {
        **inherited,
        "PYTHONPATH": os.pathsep.join(
            [str(task_root), str(opt / "python"), *site.getsitepackages()]
        ),
        "PYTHONDONTWRITEBYTECODE": "1",
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": "app.lambda_handler",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": task,
        "POWERTOOLS_SERVICE_NAME": "lambda-rollout",
        "POWERTOOLS_METRICS_NAMESPACE": "LambdaRollout",
    }


def import_seconds(env: dict[str, str], cwd: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-S", "-c", PROBE],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return float(out.stdout.strip().splitlines()[-1])


def top_imports(env: dict[str, str], cwd: Path, count: int = 5) -> list[dict[str, Any]]:
    """The handler's direct imports that cost most (cumulative, from -X importtime)."""
    out = subprocess.run(
        [sys.executable, "-S", "-X", "importtime", "-c", "import app"],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    direct = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2]
            if len(name) - len(name.lstrip()) == 3:  # "| " + two spaces: imported by app
                direct.append({"module": name.strip(), "ms": round(int(parts[1]) / 1000, 1)})
    return sorted(direct, key=lambda d: -d["ms"])[:count]


def dependencies_zip_size() -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in LAYER_DISTRIBUTIONS:
            for file in importlib.metadata.files(name) or []:
                path = Path(str(file.locate()))
                if path.is_file() and "__pycache__" not in path.parts:
                    archive.write(path, "python/" + str(file))
    return len(buffer.getvalue())


def run(repeat: int = 5, tasks: tuple[str, ...] | None = None) -> dict[str, Any]:
    layer_zip = zip_folder(LAYER, "python/")
    results: dict[str, Any] = {
        "repeat": repeat,
        "layerZipBytes": len(layer_zip),
        "layerWithDependenciesZipBytes": dependencies_zip_size() + len(layer_zip),
        "functions": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        opt = _extract(layer_zip, Path(tmp, "opt"))
        for task in tasks or TASKS:
            function_zip = zip_folder(FUNCTIONS / task)
            task_root = _extract(function_zip, Path(tmp, task))
            env = _env(task_root, opt, task)
            times = [import_seconds(env, task_root) for _ in range(repeat)]
            results["functions"].append(
                {
                    "function": task,
                    "zipBytes": len(function_zip),
                    "importMedianMs": round(1000 * statistics.median(times), 1),
                    "importMinMs": round(1000 * min(times), 1),
                    "topImports": top_imports(env, task_root),
                }
            )
    return results
