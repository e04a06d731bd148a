"""`rollout local up` in its own process, as a user runs it, for acceptance tests.

`served_cloud()` yields the environment a user would export (AWS_ENDPOINT_URL, fake
credentials) plus BANNER, what the command printed, and READS_WHILE_DEPLOYING. With
`poll_while_starting`, a thread calls DescribeStacks and DescribeStackResources from the
moment the port opens until the stack is complete, as a readiness script would: reads
during the deploy must not change what it deploys.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from rollout.local.deploy import stack_outputs

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
    return session.client(
        service, endpoint_url=env["AWS_ENDPOINT_URL"], config=Config(**config) if config else None
    )


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


@contextmanager
def served_cloud(*args: str, poll_while_starting: bool = False) -> Iterator[dict[str, str]]:
    port = free_port()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    # stderr is read back if it ever fails to stop
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "rollout.cli", "local", "up", "--port", str(port), *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
            # As a background job or a CI runner starts it: SIGINT ignored on entry. Ctrl-C
            # must stop it all the same.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        poller = ReadinessPoller(env) if poll_while_starting else None
        if poller is not None:
            poller.start()
        assert process.stdout is not None
        banner = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            banner.append(line)
            if "Press Ctrl-C to stop." in line or process.poll() is not None:
                break
        if poller is not None:
            poller.join(timeout=30)
        assert "local cloud ready" in "".join(banner), "".join(banner)
        reads = str(poller.reads_in_progress if poller is not None else 0)
        try:
            yield env | {"BANNER": "".join(banner), "READS_WHILE_DEPLOYING": reads}
        finally:
            _stop(process, stderr)


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
