"""`rollout local up` in its own process, as a user runs it, for acceptance tests.

`served_cloud()` yields the environment a user would export (AWS_ENDPOINT_URL, fake
credentials) plus BANNER, what the command printed, and READS_WHILE_DEPLOYING. With
`poll_while_starting`, a thread calls DescribeStacks and DescribeStackResources from the
moment the port opens until the stack is complete, as a readiness script would: reads
during the deploy must not change what it deploys.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from rollout.local.cloud import PATIENT_RETRIES
from rollout.local.deploy import stack_outputs
from rollout.local.faults import ENV_RULES, FaultRule

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def client(env: dict[str, str], service: str, **config: Any) -> Any:
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    config = {"retries": PATIENT_RETRIES, **config}  # as LocalCloud.client: a careful script
    return session.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], config=Config(**config))


def aws(env: dict[str, str], *args: str) -> str:
    """The AWS CLI installed beside this Python, run as a user would."""
    cli = Path(sys.executable).with_name("aws")
    return subprocess.run(
        [str(cli), *args], env=env, check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()


class ServedCloud:
    """A served cloud seen through its environment, in the shape the rollout test helpers
    (tests/reliability/rollouts.py) take: `client()`, `stack_outputs`, `stack_name`."""

    stack_name = "rollout"

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.stack_outputs = stack_outputs(client(env, "cloudformation"), self.stack_name)

    def client(self, service: str, **config: Any) -> Any:
        """As `LocalCloud.client`: `config` is botocore Config's keywords."""
        return client(self.env, service, **config)


class ReadinessPoller(threading.Thread):
    """Reads the stack every 50 ms until it is complete (or `deadline` seconds pass)."""

    def __init__(self, env: dict[str, str], deadline: float = 120) -> None:
        super().__init__(daemon=True)
        config = Config(connect_timeout=1, read_timeout=30, retries={"max_attempts": 1})
        session = boto3.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name=env["AWS_DEFAULT_REGION"],
        )
        self._cloudformation = session.client(
            "cloudformation", endpoint_url=env["AWS_ENDPOINT_URL"], config=config
        )
        self._deadline = time.monotonic() + deadline
        self.reads_in_progress = 0  # reads answered while the stack was still being created

    def run(self) -> None:
        while time.monotonic() < self._deadline:
            try:
                stack = self._cloudformation.describe_stacks(StackName="rollout")["Stacks"][0]
                self._cloudformation.describe_stack_resources(StackName="rollout")
            except (BotoCoreError, ClientError):
                time.sleep(0.05)  # not listening yet, or the stack doesn't exist yet
                continue
            if stack["StackStatus"].endswith("_COMPLETE"):
                return
            self.reads_in_progress += 1
            time.sleep(0.05)


READY = "Press Ctrl-C to stop."
START_DEADLINE = 90.0  # seconds for `rollout local up` to deploy and print its banner
PORT_ATTEMPTS = 3


@contextmanager
def served_cloud(
    *args: str,
    poll_while_starting: bool = False,
    start_deadline: float | None = None,
    faults: tuple[FaultRule, ...] = (),
) -> Iterator[dict[str, str]]:
    """`faults`: rules the cloud starts with (rollout/local/faults.py, ROLLOUT_LOCAL_FAULTS),
    in its own environment only."""
    # The free port is free when probed; another process (a parallel test worker) may bind
    # it before `local up` does, which then refuses it: try another one.
    for _ in range(PORT_ATTEMPTS):
        env = _user_env(free_port())
        rules = {ENV_RULES: json.dumps([_rule(fault) for fault in faults])} if faults else {}
        # stderr is read back if it fails to start or to stop
        with tempfile.TemporaryFile(mode="w+") as stderr:
            process = _local_up(env, args, stderr, rules)
            poller = ReadinessPoller(env) if poll_while_starting else None
            if poller is not None:
                poller.start()
            banner = _banner(process, start_deadline or START_DEADLINE)
            if poller is not None:
                poller.join(timeout=30)
            if "local cloud ready" not in banner:
                error = _ended(process, stderr)
                if "is in use" in error:
                    continue
                raise AssertionError(f"`rollout local up` did not start:\n{banner}{error}")
            reads = str(poller.reads_in_progress if poller is not None else 0)
            try:
                yield env | {"BANNER": banner, "READS_WHILE_DEPLOYING": reads}
            finally:
                _stop(process, stderr)
            return
    raise AssertionError(f"no free port in {PORT_ATTEMPTS} attempts")


def _rule(fault: FaultRule) -> dict[str, Any]:
    return {key: value for key, value in asdict(fault).items() if key != "fired"}


def _user_env(port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    return env


def _local_up(
    env: dict[str, str], args: tuple[str, ...], stderr: Any, extra: dict[str, str]
) -> subprocess.Popen[str]:
    """`rollout local up` on the port `env` names, in this process's environment plus
    `extra` (not the user's: the cloud serves the endpoint, it doesn't call it)."""
    port = env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]
    return subprocess.Popen(
        [sys.executable, "-m", "rollout.cli", "local", "up", "--port", port, *args],
        cwd=REPO,
        env={**os.environ, **extra},
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        start_new_session=True,
        # As a background job or a CI runner starts it: SIGINT ignored on entry. Ctrl-C
        # must stop it all the same.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )


def _banner(process: subprocess.Popen[str], start_deadline: float) -> str:
    """What the process printed up to its ready line, or up to its exit, within
    `start_deadline` seconds (read on a thread: a silent process must not block the test)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
            if READY in line:
                return
        lines.put(None)  # exited

    threading.Thread(target=read, daemon=True).start()
    banner: list[str] = []
    deadline = time.monotonic() + start_deadline
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        banner.append(line)
        if READY in line:
            break
    return "".join(banner)


def _ended(process: subprocess.Popen[str], stderr: Any) -> str:
    """What a process that did not start printed on stderr, once it is gone."""
    if process.poll() is None:
        process.kill()
    process.wait(timeout=30)
    stderr.seek(0)
    return str(stderr.read()[-6000:])


def _stop(process: subprocess.Popen[str], stderr: Any) -> None:
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=30) == 0
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)  # faulthandler: every thread's stack to stderr
        time.sleep(1)
        process.kill()
        stderr.seek(0)
        pytest.fail(f"`rollout local up` did not stop within 30 s:\n{stderr.read()[-6000:]}")
