"""Cold starts are gated: at most INIT_CONCURRENCY environments initialise at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from rollout.local import lambda_runtime
from rollout.local.runtime_api import EnvironmentSpec

SPEC = EnvironmentSpec("app.handler", Path("."), {}, "stream", ("python",))


class FakeEnvironment:
    """Stands in for a process: counts how many are initialising at the same time."""

    lock = threading.Lock()
    initialising = 0
    most = 0
    created: list[FakeEnvironment] = []

    def __init__(self, spec: EnvironmentSpec, on_init_end: Callable[[], None]) -> None:
        self._on_init_end = on_init_end
        with FakeEnvironment.lock:
            FakeEnvironment.initialising += 1
            FakeEnvironment.most = max(FakeEnvironment.most, FakeEnvironment.initialising)
            FakeEnvironment.created.append(self)

    def finish_init(self) -> None:
        with FakeEnvironment.lock:
            FakeEnvironment.initialising -= 1
        self._on_init_end()

    def close(self) -> None:
        """The pool closes what it retires; nothing to do for a fake."""


def test_a_burst_of_cold_starts_waits_at_the_gate(monkeypatch):
    monkeypatch.setattr(lambda_runtime, "INIT_CONCURRENCY", 2)
    monkeypatch.setattr(lambda_runtime, "ExecutionEnvironment", FakeEnvironment)
    pool = lambda_runtime.EnvironmentPool()
    starters = [threading.Thread(target=pool._start, args=(SPEC,)) for _ in range(5)]
    for starter in starters:
        starter.start()

    finished = 0
    while finished < 5:
        deadline = threading.Event()
        for _ in range(200):  # up to 2 s for the next environment to be created
            if len(FakeEnvironment.created) > finished:
                break
            deadline.wait(0.01)
        assert len(FakeEnvironment.created) > finished, "a queued cold start never began"
        assert FakeEnvironment.initialising <= 2
        FakeEnvironment.created[finished].finish_init()
        finished += 1

    for starter in starters:
        starter.join(timeout=5)
        assert not starter.is_alive()
    assert FakeEnvironment.most == 2
    assert len(FakeEnvironment.created) == 5
