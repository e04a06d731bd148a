"""Fixtures shared by every test directory, and the one owner of moto in a test process.

moto keeps its state, its configuration and the seams' patches in process globals, so a
test process uses it one way at a time (`CloudManager`):
- `cloud`: the shared LocalCloud, with template.yaml deployed. Started on first use and
  kept for every module that asks for it, on every xdist worker its own.
- `isolated_cloud(seams=[...])`: a cloud with only some seams; stops the shared one first.
- `own_cloud`: the code under test starts a LocalCloud itself (the demo, a benchmark's run,
  `rollout local up`); the shared one stops first. Undeclared, such a start fails in every
  order, not only after a module that left the shared cloud running (`_clouds_are_declared`).
- moto in-process (`mock_aws`), or moto's classes looked at alone: no cloud may run
  (`no_cloud`, or `cloud_manager.without_cloud()` in a module fixture). `mock_aws` refuses
  to start beside a cloud (`_moto_has_one_owner`): the seams would change what the mock
  does (a SAM-shaped CloudFormation, executing state machines), and its reset would empty
  the cloud.

Tests run in parallel (pytest-xdist, one process per worker) and in random order
(pytest-randomly); the README's Development section says how to replay an order.
"""

from __future__ import annotations

import functools
import gc
import inspect
import json
import os
import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from moto.core.models import MockAWS

from rollout.local.cloud import LocalCloud

REPO = Path(__file__).resolve().parents[1]
EVENTS = REPO / "events"

# A test process holds about half a million long-lived objects (moto's models, botocore's
# service models, pytest's) while its in-process cloud allocates many short-lived ones per
# request. With CPython's default thresholds (700, 10, 10) its cyclic collector took 6-10 %
# of the process's CPU (tests/workflow: 4.2 of 69 CPU-s, timed by gc.callbacks), mostly in
# full collections; these thresholds take half that, with no full collection in those modules.
# `rollout local up` is left at the defaults: its heap is smaller, and there the same
# thresholds measured no difference.
GC_THRESHOLDS = (50_000, 20, 20)
gc.set_threshold(*GC_THRESHOLDS)

T = TypeVar("T")

# What the `isolated_cloud` fixture gives a test: `with isolated_cloud(seams=[...]) as cloud:`.
IsolatedCloud = Callable[..., AbstractContextManager[LocalCloud]]


class CloudManager:
    """Hands out the shared deployed cloud or an isolated one, never two at once, and
    neither while moto runs in-process."""

    def __init__(self) -> None:
        self._shared: LocalCloud | None = None
        self._attached: dict[str, Any] = {}  # what was built on the shared cloud, by name
        # Set by without_cloud(), reset by every cloud and at every module's start: mock_aws
        # needs it in every order, not only when no cloud happens to run.
        self.moto_alone = False
        # Set by own_cloud(), reset at every module's start: a LocalCloud started by the code
        # under test needs it in every order, not only when the shared cloud happens to run.
        self.own_clouds = False
        self._starting = False  # the manager starts a cloud of its own (shared or isolated)

    def shared(self) -> LocalCloud:
        if self._shared is None:
            _refuse_inside_mock_aws()
            self.moto_alone = False
            with self._managed():
                self._shared = LocalCloud().start()
        return self._shared

    def attached(self, name: str, make: Callable[[LocalCloud], T]) -> T:
        """`make(shared cloud)`, once per start of the shared cloud (a restarted cloud is
        empty: what was built on the previous one is gone with it)."""
        cloud = self.shared()
        if name not in self._attached:
            self._attached[name] = make(cloud)
        return self._attached[name]  # type: ignore[no-any-return]

    def release_shared(self) -> None:
        self._attached.clear()
        if self._shared is not None:
            self._shared.stop()
            self._shared = None

    @contextmanager
    def isolated(self, **kwargs: Any) -> Iterator[LocalCloud]:
        self.release_shared()
        _refuse_inside_mock_aws()
        self.moto_alone = False
        kwargs.setdefault("template", None)
        cloud = LocalCloud(**kwargs)
        with self._managed():
            cloud.start()
        try:
            yield cloud
        finally:
            cloud.stop()

    def own_cloud(self) -> None:
        """The code under test starts a LocalCloud itself: stop the shared one (moto is one
        per process), whichever module left it running."""
        self.release_shared()
        self.own_clouds = True

    def may_start(self) -> bool:
        return self._starting or self.own_clouds

    @contextmanager
    def _managed(self) -> Iterator[None]:
        self._starting = True
        try:
            yield
        finally:
            self._starting = False

    def without_cloud(self) -> None:
        """Stop the shared cloud; an isolated one still running is a test's mistake."""
        self.release_shared()
        running = LocalCloud._running
        if running is not None:
            raise RuntimeError(
                f"a LocalCloud on port {running.port} still runs: a test needs moto alone or "
                "in-process while its module holds an isolated cloud; give that test a module "
                "of its own, or scope the cloud fixture to the test"
            )
        self.moto_alone = True


def _refuse_inside_mock_aws() -> None:
    if MockAWS._nested_count:
        raise RuntimeError("a LocalCloud can't start inside mock_aws: both use moto's globals")


@pytest.fixture(scope="session")
def cloud_manager() -> Iterator[CloudManager]:
    manager = CloudManager()
    yield manager
    manager.release_shared()


@pytest.fixture(scope="session", autouse=True)
def _moto_has_one_owner(cloud_manager: CloudManager) -> Iterator[None]:
    """`mock_aws` (a context, a decorator or started by hand) starts only where the module
    said no cloud may run: beside one, its seams would change what the mock does."""
    start = MockAWS.start

    def start_alone(mock: MockAWS, reset: bool = True) -> None:
        if not MockAWS._nested_count and not cloud_manager.moto_alone:
            raise RuntimeError(
                "mock_aws needs moto to itself: request the `no_cloud` fixture first (before "
                "fixtures that set the environment: stopping a cloud restores its variables), "
                "or call cloud_manager.without_cloud() in a module fixture."
            )
        start(mock, reset=reset)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MockAWS, "start", start_alone)
        yield


@pytest.fixture(scope="session", autouse=True)
def _clouds_are_declared(cloud_manager: CloudManager) -> Iterator[None]:
    """A LocalCloud that the code under test starts itself starts only where the test said
    so (`own_cloud`): in the orders where the shared cloud still ran it would be refused
    ("a LocalCloud is already running in this process")."""
    start = LocalCloud.start

    def start_declared(cloud: LocalCloud) -> LocalCloud:
        if not cloud_manager.may_start():
            raise RuntimeError(
                "the code under test starts a LocalCloud of its own: request the `own_cloud` "
                "fixture (or call cloud_manager.own_cloud() in a module fixture), which stops "
                "the shared cloud an earlier module may have left running"
            )
        return start(cloud)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(LocalCloud, "start", start_declared)
        yield


@pytest.fixture(scope="module", autouse=True)
def _declarations_are_per_module(cloud_manager: CloudManager) -> None:
    cloud_manager.moto_alone = False
    cloud_manager.own_clouds = False


def _environment_without_clouds() -> dict[str, str]:
    """os.environ as it would be with no LocalCloud running: a running cloud's variables as
    they were before it started (it puts them back when it stops)."""
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)  # pytest's own, changed for every test
    running = LocalCloud._running
    for key, value in (running._saved_env if running is not None else {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@pytest.fixture(scope="module", autouse=True)
def _environment_left_as_found() -> Iterator[None]:
    """Each module leaves the process environment as it found it, whichever cloud it left
    running: a variable left behind reaches every later module on the worker."""
    before = _environment_without_clouds()
    yield
    after = _environment_without_clouds()
    changed = sorted(
        key for key in before.keys() | after.keys() if before.get(key) != after.get(key)
    )
    assert not changed, (
        f"the module changed the environment for good: {changed}. Set variables with "
        "monkeypatch, undone inside the lifetime of any cloud started meanwhile."
    )


@pytest.fixture(scope="module")
def cloud(cloud_manager: CloudManager) -> LocalCloud:
    """The local cloud with the application deployed as stack `rollout`."""
    return cloud_manager.shared()


@pytest.fixture(scope="module")
def isolated_cloud(cloud_manager: CloudManager) -> IsolatedCloud:
    """`with isolated_cloud(seams=[...]) as cloud:` — a cloud with only the given seams.

    The shared cloud stops here, before the test's own fixtures change the environment
    (stopping a cloud puts back the variables it set)."""
    cloud_manager.release_shared()
    return cloud_manager.isolated


@pytest.fixture
def own_cloud(cloud_manager: CloudManager) -> Iterator[None]:
    """For a test whose code under test starts a LocalCloud itself (the demo, a benchmark's
    run): the shared cloud stops first. Request it before fixtures that set the environment
    (stopping a cloud puts back the variables it set)."""
    cloud_manager.own_cloud()
    yield
    cloud_manager.own_clouds = False  # said for this test only


@pytest.fixture
def no_cloud(cloud_manager: CloudManager) -> None:
    """For tests of moto alone (its unpatched internals, a seam installed by hand) or
    in-process (`mock_aws`): no LocalCloud, so no seam, while they run. Request it before
    fixtures that set the environment (stopping a cloud puts back the variables it set)."""
    cloud_manager.without_cloud()


@pytest.fixture(scope="session")
def load_event() -> Callable[[str], Any]:
    """`load_event("console/canary.json")`: samples from events/, so tests and samples agree."""
    return lambda relative: json.loads((EVENTS / relative).read_text())


SLOW_TIMEOUT = 600  # seconds: a slow test on a loaded machine comes closest to the default


# What a fixture or test does with the shared cloud, read from its code (CloudManager's calls).
_STARTS_SHARED = (".shared()", ".attached(")
_STOPS_SHARED = (".release_shared()", ".without_cloud()", ".own_cloud()", ".isolated(")
_CLOUD_FIXTURES = {"cloud", "isolated_cloud", "no_cloud", "own_cloud"}


@functools.cache
def _calls(function: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):
        return ""


def _stops_shared_cloud(item: pytest.Item) -> bool | None:
    """True: some fixture or the test stops the shared cloud; False: it uses the shared cloud
    and stops nothing; None: it needs neither. This module's own plumbing (the manager, the
    autouse checks) is in every test and is not counted; its cloud fixtures are."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    functions = [getattr(item, "function", None)] + [
        defs[-1].func
        for name, defs in info.name2fixturedefs.items()
        if defs and (defs[-1].func.__module__ != __name__ or name in _CLOUD_FIXTURES)
    ]
    code = [_calls(function) for function in functions if function is not None]
    if any(call in text for text in code for call in _STOPS_SHARED):
        return True
    if any(call in text for text in code for call in _STARTS_SHARED):
        return False
    return None


def _shared_cloud_blocks(items: list[pytest.Item], shared_first: bool) -> dict[str, int]:
    """Each file's block: files that use the shared cloud together, then (or first) files
    that stop it or need no cloud. Interleaved, every file that stops the shared cloud costs
    the next one that uses it a new deployment and cold starts of every task function."""
    stops: dict[str, bool | None] = {}
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        found = _stops_shared_cloud(item)
        if stops.get(path) is not True and found is not None:
            stops[path] = found
    shared = {path for path, stopping in stops.items() if stopping is False}
    return {
        item.nodeid.split("::", 1)[0]: int(
            (item.nodeid.split("::", 1)[0] in shared) != shared_first
        )
        for item in items
    }


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules marked `slow` first: started last on a worker, one would keep the run going
    alone. Then the files that use the shared cloud as one block, and the others as another,
    in an order drawn from the run's seed (`_shared_cloud_blocks`). Within each, the order is
    pytest-randomly's (a stable sort keeps it). Slow tests get SLOW_TIMEOUT instead of
    pytest-timeout's default."""
    seed = getattr(config.option, "randomly_seed", None)
    shared_first = random.Random(seed).random() < 0.5 if isinstance(seed, int) else True
    blocks = _shared_cloud_blocks(items, shared_first)
    items.sort(
        key=lambda item: (
            item.get_closest_marker("slow") is None,
            blocks[item.nodeid.split("::", 1)[0]],
        )
    )
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))


class WorkerOrder:
    """The test files each xdist worker ran, in order (whole files: `--dist loadfile`).

    A test that fails only after some other file ran in its process is replayed by running
    its worker's files in one process with the same seed: pytest-randomly orders any subset
    of files as it ordered them all."""

    def __init__(self) -> None:
        self.files: dict[str, list[str]] = {}
        self.failed: set[str] = set()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        node = getattr(report, "node", None)  # set by xdist on the controller
        worker = node.gateway.id if node is not None else "main"
        files = self.files.setdefault(worker, [])
        path = report.nodeid.split("::", 1)[0]
        if path not in files:
            files.append(path)
        if report.failed:
            self.failed.add(worker)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        config.pluginmanager.register(WorkerOrder(), "worker-order")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The order's seed last, where a failed run's reader looks (`-q` hides the header)."""
    if not config.pluginmanager.hasplugin("randomly"):
        return
    seed = config.option.randomly_seed
    write = terminalreporter.write_line
    write(f"Random order: --randomly-seed={seed} (`make test PYTEST_ARGS=--randomly-seed={seed}`)")
    order: WorkerOrder = config.pluginmanager.get_plugin("worker-order")
    for worker in sorted(order.failed - {"main"}):
        files = " ".join(order.files[worker])
        replay = f".venv/bin/pytest --randomly-seed={seed} {files}"
        write(f"{worker} failed; its files in one process: {replay}")
