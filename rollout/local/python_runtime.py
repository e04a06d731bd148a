"""What a Python function's process can import: its code, its layers and the runtime's own
files, as in Lambda's Python runtime; never the environment the local cloud runs in.

AWS behaviour ("Working with .zip file archives for Python Lambda functions", section
"Dependency search path and runtime-included libraries", Lambda Developer Guide,
https://docs.aws.amazon.com/lambda/latest/dg/python-package.html): the runtime searches the
function's code first (/var/task), then its layers (/opt/python/lib/python3.x/site-packages,
/opt/python: "Working with layers for Python Lambda functions",
https://docs.aws.amazon.com/lambda/latest/dg/python-layers.html), then the libraries the
runtime includes, "the AWS SDK for Python (Boto3) and its dependencies", and the standard
library. Anything else a function imports must come in its package or a layer. From
Python 3.11 the runtime-included libraries are in /var/lang/lib/python3.x/site-packages,
which "has precedence over /var/runtime in the search path" ("Deploy Python Lambda
functions with container images", https://docs.aws.amazon.com/lambda/latest/dg/python-image.html).

Here the function runs on this machine's interpreter with `-S`, so site-packages (the
project's virtualenv, its `.pth` hooks) never reach `sys.path`; `PYTHONPATH` gives it the
task root, the layers, and two folders of links made once per cloud: `sdk` (boto3,
botocore, s3transfer, jmespath, python-dateutil, six, urllib3) and `runtime` (awslambdaric,
which runs the handler as /var/runtime's client does, with simplejson and
snapshot-restore-py), each linking to exactly those distributions in the virtualenv
(dependencies.py). The packages of the task root and layers come from the offline build
(package.py), which puts a requirements file's closure in the package as `sam build` does.

What can't be emulated without the runtime's interpreter: the Python version. A function
declared `python3.12` runs on the interpreter the cloud runs on, and its `sys.version`
says so; `interpreter_gap` words the difference once per runtime, for the cloud's log.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

from rollout.local.dependencies import Entry, runtime_included

HOST_PYTHON = f"python{sys.version_info.major}.{sys.version_info.minor}"


def link_all(folder: Path, entries: list[Entry]) -> Path:
    """`folder` holding a link to each entry (and nothing else)."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        link = folder / entry.name
        if not link.is_symlink():
            link.symlink_to(entry.path, target_is_directory=entry.path.is_dir())
    return folder


def layer_paths(opt: Path, declared_runtime: str) -> list[Path]:
    """The layers' Python folders in the order Lambda searches them. The site-packages folder
    is the declared runtime's (python3.12: /opt/python/lib/python3.12/site-packages), not the
    interpreter's that runs here: a layer built for another Python version isn't found on
    Lambda, so it mustn't be found here either."""
    return [opt / "python" / "lib" / declared_runtime / "site-packages", opt / "python"]


def interpreter_gap(declared_runtime: str) -> str | None:
    """What differs between the declared runtime and the interpreter that runs it, if anything."""
    if not declared_runtime.startswith("python") or declared_runtime == HOST_PYTHON:
        return None
    return (
        f"functions declared {declared_runtime} run on this machine's {HOST_PYTHON} "
        f"({sys.version.split()[0]}): the local cloud has no {declared_runtime} interpreter "
        "of its own, so sys.version and version-specific behaviour differ from Lambda's"
    )


class PythonRuntime:
    """The runtime's own folders (`sdk`, `runtime`), linked once under `root`."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()
        self._folders: tuple[Path, Path] | None = None

    def command(self, handler: str) -> tuple[str, ...]:
        """The process Lambda's runtime would start: no site-packages (`-S`)."""
        return (sys.executable, "-S", "-m", "awslambdaric", handler)

    def python_path(self, task_root: Path, opt: Path | None, declared_runtime: str) -> str:
        layers = layer_paths(opt, declared_runtime) if opt is not None else []
        sdk, runtime = self._runtime_folders()
        return os.pathsep.join(str(path) for path in [task_root, *layers, sdk, runtime])

    def _runtime_folders(self) -> tuple[Path, Path]:
        with self._lock:
            if self._folders is None:
                sdk, client = runtime_included()
                self._folders = (
                    link_all(self._root / "sdk", sdk),
                    link_all(self._root / "runtime", client),
                )
            return self._folders
