"""Building blocks for sample functions in a cloud: the demo, the tests and the benchmark
all create Lambda functions with a role and send them traffic."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

LAMBDA_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"},
            }
        ],
    }
)
_ROLE_LOCK = threading.Lock()
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def code_zip(files: Mapping[str, str]) -> bytes:
    """A Lambda code bundle of these files. Fixed timestamps: the same source gives the same
    CodeSha256, so PublishVersion only makes a new version when something changed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=_FIXED_TIME), text)
    return buffer.getvalue()


# callers create functions from several threads at once


def lambda_role(iam: Any, name: str) -> str:
    """The ARN of an execution role Lambda can assume, created on first use."""
    with _ROLE_LOCK:
        try:
            return str(iam.get_role(RoleName=name)["Role"]["Arn"])
        except iam.exceptions.NoSuchEntityException:
            role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)
            return str(role["Role"]["Arn"])


def warm_versions(lam: Any, versions: Mapping[str, str], timeout: float = 120) -> None:
    """An execution environment for each function's version (name → version), all at once,
    before a rollout shifts traffic to them: invoked directly, so no health signal counts it
    (the metric gate counts the alias's traffic; the logs' window starts at the first shift).
    A first request that is a cold start otherwise stalls a one-request-at-a-time Traffic
    for its whole Init. An Init that failed (past Lambda's 10 s limit) leaves no environment
    behind, so that one is invoked again, until `timeout`."""

    def warm(name: str) -> None:
        deadline = time.monotonic() + timeout
        while "FunctionError" in lam.invoke(
            FunctionName=name, Qualifier=versions[name], Payload=b"{}"
        ):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{name} version {versions[name]} never started")

    with ThreadPoolExecutor(max_workers=max(1, len(versions))) as pool:
        list(pool.map(warm, versions))


class Traffic:
    """Requests to `function:alias` from a background thread, as users would send them.
    `payload()` gives each request's body; `sent` and `failed` count what happened."""

    def __init__(
        self,
        lam: Any,
        function: str,
        alias: str,
        per_second: float = 10.0,
        payload: Callable[[], Any] = dict,
    ) -> None:
        self._lam, self._function, self._alias = lam, function, alias
        self._payload = payload
        self._interval = 1.0 / per_second
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"traffic-{function}")
        self.sent = 0
        self.failed = 0
        self.error: Exception | None = None  # what stopped the thread early, raised at exit

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        if self.error is not None and exc[0] is None:
            raise RuntimeError(f"traffic to {self._function}:{self._alias} stopped early") from (
                self.error
            )

    def _run(self) -> None:
        try:
            self._send()
        except Exception as error:  # a silent stop would read as a version with no traffic
            self.error = error

    def _send(self) -> None:
        while not self._stop.wait(self._interval):
            reply = self._lam.invoke(
                FunctionName=self._function,
                Qualifier=self._alias,
                Payload=json.dumps(self._payload()).encode(),
            )
            self.sent += 1
            self.failed += "FunctionError" in reply
