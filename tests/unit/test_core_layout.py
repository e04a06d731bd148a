"""rollout_core's own index: its docstring names every module, so the list can't drift."""

from __future__ import annotations

from pathlib import Path

import rollout_core

CORE = Path(rollout_core.__file__).parent


def test_the_package_docstring_lists_every_module():
    modules = {p.stem for p in CORE.glob("*.py") if p.stem != "__init__"}
    packages = {f"{p.name}/" for p in CORE.iterdir() if (p / "__init__.py").exists()}
    doc = rollout_core.__doc__ or ""
    words = {word.strip(":;,.") for word in doc.split()}
    assert (modules | packages) - words == set()
