"""The stack-consistency seam (rollout/local/stacks.py): lazy resources created once
whatever thread reads first, no Outputs while in progress, and the moto internals it uses."""

from __future__ import annotations

import inspect
import threading
import time
from typing import Any

import pytest
from moto.cloudformation import models, parsing

from rollout.local.stacks import StackConsistency, creation_lock

# moto's own ResourceMap and Stack, with no cloud's StackConsistency installed over them.
pytestmark = pytest.mark.usefixtures("no_cloud")


class _Slow:
    """A resource whose creation takes a while, as an API call through the server does."""

    created = 0

    def __init__(self) -> None:
        type(self).created += 1
        time.sleep(0.2)


def _lazy_map(monkeypatch: Any) -> parsing.ResourceMap:
    resource_map = parsing.ResourceMap.__new__(parsing.ResourceMap)
    resource_map._parsed_resources = {}
    resource_map._resource_json_map = {"Slow": {"Type": "Test::Slow"}}
    resource_map._account_id, resource_map._region_name = "123456789012", "us-east-1"
    monkeypatch.setattr(parsing, "parse_and_create_resource", lambda *args, **kwargs: _Slow())
    return resource_map


def _read_from_two_threads(resource_map: parsing.ResourceMap) -> list[Any]:
    seen: list[Any] = []
    threads = [threading.Thread(target=lambda: seen.append(resource_map["Slow"])) for _ in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return seen


def test_moto_alone_creates_a_lazy_resource_twice_when_two_threads_read_it(monkeypatch):
    """Why the seam exists; when this fails, moto has a lock of its own."""
    _Slow.created = 0
    seen = _read_from_two_threads(_lazy_map(monkeypatch))
    assert _Slow.created == 2 and seen[0] is not seen[1]


def test_with_the_seam_a_lazy_resource_is_created_once(monkeypatch):
    _Slow.created = 0
    seam = StackConsistency()
    seam.install(None)  # type: ignore[arg-type]
    try:
        seen = _read_from_two_threads(_lazy_map(monkeypatch))
    finally:
        seam.uninstall()
    assert _Slow.created == 1 and seen[0] is seen[1]


def test_creation_lock_is_one_reentrant_lock_per_map(monkeypatch):
    first, second = _lazy_map(monkeypatch), _lazy_map(monkeypatch)
    assert creation_lock(first) is creation_lock(first)
    assert creation_lock(first) is not creation_lock(second)
    with creation_lock(first), creation_lock(first):  # re-entrant: creation reads references
        pass


def test_uninstall_restores_moto():
    before = (parsing.ResourceMap.__getitem__, models.Stack.outputs, models.Stack.stack_resources)
    seam = StackConsistency()
    seam.install(None)  # type: ignore[arg-type]
    assert parsing.ResourceMap.__getitem__ is not before[0]
    seam.uninstall()
    after = (parsing.ResourceMap.__getitem__, models.Stack.outputs, models.Stack.stack_resources)
    assert after == before


def test_moto_internals_the_seam_relies_on():
    assert list(inspect.signature(parsing.ResourceMap.__getitem__).parameters) == ["self", "key"]
    assert isinstance(inspect.getattr_static(models.Stack, "outputs"), property)
    assert isinstance(inspect.getattr_static(models.Stack, "stack_resources"), property)
    init = inspect.getsource(parsing.ResourceMap.__init__)
    assert "self._parsed_resources" in init
    getitem = inspect.getsource(parsing.ResourceMap.__getitem__)
    assert "parse_and_create_resource" in getitem and "Lock" not in getitem
