"""Fixtures for the reliability tests: the shared local cloud, its fault seam (cleared after
every test), and sample functions with a live alias to roll out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rollout.local.faults import FaultInjection


@pytest.fixture
def faults(cloud: Any) -> Iterator[FaultInjection]:
    """The shared cloud's fault seam; every rule a test adds is gone after it."""
    seam: FaultInjection = cloud.faults
    seam.clear()
    yield seam
    seam.clear()
