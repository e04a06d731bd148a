"""`rollout console` in its own process, as a user runs it, and headless Chromium to open it.

`served_console(env)` starts the console against the cloud `env` points at (tests.local.
served's `rollout local up`) and yields the URL it printed. `chromium()` launches the
machine's Chromium (Debian's package; .ci/run installs it) through Playwright, never a
browser of Playwright's own, with a fresh profile and no network beyond this machine.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def served_console(env: dict[str, str], *args: str) -> Iterator[str]:
    """`rollout console --port 0` until the block ends; yields the URL it printed."""
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "rollout.cli", "console", "--port", "0", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
        assert process.stdout is not None
        printed, url = [], None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline and process.poll() is None:
            line = process.stdout.readline()
            printed.append(line)
            found = re.search(r"open (http://\S+)", line)
            url = found.group(1) if found else None
        if url is None:
            stderr.seek(0)
            pytest.fail(f"`rollout console` printed no URL:\n{''.join(printed)}{stderr.read()}")
        try:
            yield url
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                pytest.fail("`rollout console` did not stop within 20 s of Ctrl-C")


@contextmanager
def chromium() -> Iterator[Any]:
    """A browser context on a fresh profile (a Playwright BrowserContext)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()
