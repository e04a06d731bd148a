"""Idle environments are shut down after IDLE_LIFETIME_SECONDS, as Lambda recycles them: the
next invocation is a cold start, and a busy or recently used environment is kept."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rollout.local import lambda_runtime
from rollout.local.runtime_api import EnvironmentSpec

SPEC = EnvironmentSpec("app.handler", Path("."), {}, "stream", ("python", "-m", "awslambdaric"))
SLOT = ("orders", "1")
OTHER = ("orders", "2")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class FakeEnvironment:
    """Stands in for a process: initialised at once, records whether it was shut down."""

    def __init__(self, spec: EnvironmentSpec, on_init_end: Callable[[], None]) -> None:
        on_init_end()
        self.alive = True
        self.closed = False

    def close(self) -> None:
        self.closed = True


def _pool(monkeypatch) -> tuple[lambda_runtime.EnvironmentPool, Clock]:
    clock = Clock()
    monkeypatch.setattr(lambda_runtime, "time", clock)
    monkeypatch.setattr(lambda_runtime, "ExecutionEnvironment", FakeEnvironment)
    return lambda_runtime.EnvironmentPool(), clock


def _invoke(pool: lambda_runtime.EnvironmentPool, slot: tuple[str, str]) -> FakeEnvironment:
    env = pool.acquire(slot, "code-1", lambda: SPEC)
    pool.release(slot, "code-1", env)
    return env  # type: ignore[return-value]


def test_an_environment_idle_past_its_lifetime_is_shut_down_and_the_next_call_cold_starts(
    monkeypatch,
):
    pool, clock = _pool(monkeypatch)
    first = _invoke(pool, SLOT)
    clock.now += lambda_runtime.IDLE_LIFETIME_SECONDS - 1
    assert _invoke(pool, SLOT) is first  # still warm: idle for less than the lifetime
    clock.now += lambda_runtime.IDLE_LIFETIME_SECONDS + 1

    second = _invoke(pool, SLOT)

    assert second is not first and first.closed
    assert not second.closed


def test_any_invocation_shuts_down_every_expired_environment_and_keeps_the_others(monkeypatch):
    pool, clock = _pool(monkeypatch)
    old = _invoke(pool, OTHER)  # e.g. a deleted function's: never invoked again
    clock.now += lambda_runtime.IDLE_LIFETIME_SECONDS / 2
    recent = _invoke(pool, SLOT)
    clock.now += lambda_runtime.IDLE_LIFETIME_SECONDS / 2 + 1

    busy = pool.acquire(SLOT, "code-1", lambda: SPEC)

    assert old.closed
    assert busy is recent and not recent.closed  # idle for less than the lifetime: reused
    pool.release(SLOT, "code-1", busy)
    pool.close()
    assert recent.closed
