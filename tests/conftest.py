"""Fixtures shared by every test directory.

moto keeps its state in process-global backends, so one LocalCloud runs in the test
process at a time. `cloud` is the shared one, with template.yaml deployed (started on
first use, reused by every module that asks for it); seam tests that want a cloud with
only some seams use `isolated_cloud`, which stops the shared one first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from rollout.local.cloud import LocalCloud

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"


class CloudManager:
    """Hands out the shared deployed cloud, or an isolated one, never two at once."""

    def __init__(self) -> None:
        self._shared: LocalCloud | None = None

    def shared(self) -> LocalCloud:
        if self._shared is None:
            self._shared = LocalCloud().start()
        return self._shared

    def release_shared(self) -> None:
        if self._shared is not None:
            self._shared.stop()
            self._shared = None

    @contextmanager
    def isolated(self, **kwargs: Any) -> Iterator[LocalCloud]:
        self.release_shared()
        kwargs.setdefault("template", None)
        with LocalCloud(**kwargs) as cloud:
            yield cloud


@pytest.fixture(scope="session")
def cloud_manager() -> Iterator[CloudManager]:
    manager = CloudManager()
    yield manager
    manager.release_shared()


@pytest.fixture(scope="module")
def cloud(cloud_manager: CloudManager) -> LocalCloud:
    """The local cloud with the application deployed as stack `rollout`."""
    return cloud_manager.shared()


@pytest.fixture(scope="module")
def isolated_cloud(
    cloud_manager: CloudManager,
) -> Callable[..., AbstractContextManager[LocalCloud]]:
    """`with isolated_cloud(seams=[...]) as cloud:` — a cloud with only the given seams."""
    return cloud_manager.isolated


@pytest.fixture(scope="session")
def load_event() -> Callable[[str], Any]:
    """`load_event("console/canary.json")`: samples from events/, so tests and samples agree."""
    return lambda relative: json.loads((EVENTS / relative).read_text())
