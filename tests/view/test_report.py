"""`rollout report` on real executions of the local cloud: a successful rollout, one rolled
back under real traffic, a request rejected by Prepare and one still waiting between checks.
All are started at once so the module takes about as long as the slowest (a few seconds).
The browser test opens each report in headless Chromium and looks at what is rendered."""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from rollout import samples
from rollout.cli import main
from tests.conftest import REPO

pytestmark = pytest.mark.cloud

ALIAS = "live"
HANDLER = """
def handler(event, context):
    if {faulty} and isinstance(event, dict) and event.get("order") == "bad":
        raise RuntimeError("broken build")
    return {{"ok": True}}
"""
HOSTILE = "<script>alert('x')</script>"
FAST_STEPS = {
    "steps": [{"percentage": 10, "waitSeconds": 100}, {"percentage": 50, "waitSeconds": 100}]
}  # 1 s each at timeScale 0.01
SCREENSHOTS = REPO / "reports" / "screenshots"


def code_zip(faulty: bool) -> bytes:
    return samples.code_zip({"app.py": HANDLER.format(faulty=faulty)})


def function_with_new_version(lam: Any, role: str, name: str, faulty: bool = False) -> str:
    """`name` with version 1 behind the alias and version 2 published; returns "2"."""
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code_zip(False)},
    )
    lam.create_alias(
        FunctionName=name,
        Name=ALIAS,
        FunctionVersion=lam.publish_version(FunctionName=name)["Version"],
    )
    lam.update_function_code(FunctionName=name, ZipFile=code_zip(faulty))
    return str(lam.publish_version(FunctionName=name)["Version"])


@pytest.fixture(scope="module")
def env(cloud: Any) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in cloud.client_env().items():
            patch.setenv(key, value)
        patch.delenv("ROLLOUT_STATE_MACHINE_ARN", raising=False)
        yield


@pytest.fixture(scope="module")
def executions(cloud: Any, env: None) -> Iterator[dict[str, str]]:
    """Execution ARNs by kind; the "running" one is waiting for its next health check."""
    lam, sfn = cloud.client("lambda"), cloud.client("stepfunctions")
    role = cloud.client("iam").create_role(RoleName="report-e2e", AssumeRolePolicyDocument="{}")[
        "Role"
    ]["Arn"]
    versions = {
        name: function_with_new_version(lam, role, name, faulty=name == "report-bad")
        for name in ("report-ok", "report-bad", "report-slow", "report-idle")
    }
    inputs = {
        "succeeded": {"functionName": "report-ok", "strategy": FAST_STEPS, "timeScale": 0.01},
        # half the traffic for 3 s: the faulty version can't go unnoticed by chance
        "rolled-back": {
            "functionName": "report-bad",
            "timeScale": 0.01,
            "strategy": {"steps": [{"percentage": 50, "waitSeconds": 300}]},
            "health": {"minInvocations": 1},
        },
        # a function of their own, so another rollout's lock can't be the reason
        "rejected": {
            "functionName": "report-idle",
            "targetVersion": "999",
            "strategy": "AllAtOnce",
        },
        "hostile": {"functionName": "report-idle", "note": HOSTILE},
        "running": {
            "functionName": "report-slow",
            "strategy": "Canary10Percent30Minutes",
            "checkIntervalSeconds": 300,
        },
    }
    machine = cloud.stack_outputs["RolloutStateMachineArn"]
    stop = threading.Event()
    traffic = threading.Thread(target=send_traffic, args=(lam, stop), daemon=True)
    traffic.start()
    try:
        arns = {
            kind: sfn.start_execution(
                stateMachineArn=machine,
                name=f"report-{kind}",
                input=json.dumps(
                    {
                        "alias": ALIAS,
                        "checkIntervalSeconds": 1,
                        "targetVersion": versions[doc["functionName"]],
                        **doc,
                    }
                ),
            )["executionArn"]
            for kind, doc in inputs.items()
        }
        wait_until_finished(sfn, [arn for kind, arn in arns.items() if kind != "running"])
        wait_until_in_state(sfn, arns["running"], "Wait for next check")
    finally:
        stop.set()
        traffic.join(timeout=10)
    yield arns
    sfn.stop_execution(executionArn=arns["running"])


def send_traffic(lam: Any, stop: threading.Event) -> None:
    """Real requests through the aliases: the faulty version fails its share of them."""
    while not stop.wait(0.05):
        lam.invoke(FunctionName=f"report-bad:{ALIAS}", Payload=b'{"order": "bad"}')
        lam.invoke(FunctionName=f"report-ok:{ALIAS}", Payload=b'{"order": "good"}')


def wait_until_finished(sfn: Any, arns: list[str], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while any(sfn.describe_execution(executionArn=a)["status"] == "RUNNING" for a in arns):
        assert time.monotonic() < deadline, "executions still running"
        time.sleep(0.25)


def wait_until_in_state(sfn: Any, arn: str, state: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        events = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=5)[
            "events"
        ]
        if any(e.get("stateEnteredEventDetails", {}).get("name") == state for e in events):
            return
        assert time.monotonic() < deadline, f"{arn} never reached {state}"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def reports(executions: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The report of each execution, written by the command as a user would run it."""
    folder = tmp_path_factory.mktemp("reports")
    written = {}
    for kind, arn in executions.items():
        path = folder / f"{kind}.html"
        assert main(["report", arn, "-o", str(path)]) == 0
        written[kind] = path.read_text(encoding="utf-8")
    return written


def state_class(report: str, state: str) -> str:
    """The status class of a state's node in the graph ("succeeded", "not-reached", ...)."""
    node = re.escape(f'data-state="{html.escape(state)}"')
    found = re.search(r'<g class="state ([\w-]+) [^"]*" ' + node, report)
    assert found, f"no node for {state!r}"
    return found.group(1)


def summary_value(report: str, label: str) -> str:
    found = re.search(f"<dt>{re.escape(label)}</dt><dd>(.*?)</dd>", report)
    assert found, f"no {label!r} in the summary"
    return html.unescape(found.group(1))


def asl_state_names() -> list[str]:
    definition = json.loads((REPO / "statemachine" / "rollout.asl.json").read_text())
    return list(definition["States"])


# -- content ----------------------------------------------------------------------------


def test_a_successful_rollout(reports):
    report = reports["succeeded"]

    assert summary_value(report, "Outcome") == "succeeded"
    assert summary_value(report, "Function") == "report-ok"
    assert summary_value(report, "Stable → new version") == "1 → 2"
    assert "Steps (10% → 50% → 100%)" in summary_value(report, "Strategy")
    assert "version 2 is live on report-ok:live" in report
    assert state_class(report, "Rolled out") == "succeeded"
    assert state_class(report, "Roll back") == "not-reached"
    assert re.search(r'data-state="Shift traffic">.*?>\u00d72<', report), "Shift traffic ran twice"
    assert report.count('class="marker shift"') == 2 and 'class="marker promote"' in report


def test_a_rolled_back_rollout(reports):
    report = reports["rolled-back"]

    assert summary_value(report, "Outcome") == "rolled back"
    assert summary_value(report, "Stable → new version") == "1 → 2"
    assert "HealthCheckFailed: Rolled back report-bad:live to version 1" in report
    assert state_class(report, "Check health") == "caught"
    assert state_class(report, "Rolled back") == "failed"
    assert state_class(report, "Rolled out") == "not-reached"
    assert 'class="marker rollback"' in report
    assert '<tr class="failed">' in report  # the failed check in the health table


def test_a_rejected_request(reports):
    report = reports["rejected"]

    assert summary_value(report, "Outcome") == "rejected"
    assert "InvalidRolloutRequest" in report and "has no published version 999" in report
    assert state_class(report, "Prepare") == "caught"
    assert state_class(report, "Request rejected") == "failed"
    assert state_class(report, "Shift traffic") == "not-reached"
    assert "No traffic was moved" in report


def test_a_running_rollout(reports):
    report = reports["running"]

    assert summary_value(report, "Outcome") == "running"
    assert summary_value(report, "Duration").endswith("so far")
    assert state_class(report, "Wait for next check") == "running"
    assert state_class(report, "Shift traffic") == "succeeded"
    assert "Still running" in report
    assert 'class="line running"' in report  # the traffic line reaches "now"


@pytest.mark.parametrize("kind", ["succeeded", "rolled-back", "rejected", "running"])
def test_every_state_is_drawn_and_nothing_is_fetched(reports, kind):
    report = reports[kind]

    for name in asl_state_names():
        assert f'data-state="{html.escape(name)}"' in report
    assert re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", report, re.I) is None
    assert re.search(r"<script\b", report, re.I) is None
    assert re.search(r"<link\b", report, re.I) is None
    assert "@import" not in report and "url(http" not in report


def test_execution_input_is_escaped(reports):
    report = reports["hostile"]

    assert summary_value(report, "Outcome") == "rejected"
    assert HOSTILE not in report
    assert html.escape(HOSTILE) in report


def test_report_writes_next_to_you_by_default(executions, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)

    assert main(["report", "report-rejected"]) == 0  # by name, state machine from the stack

    assert capsys.readouterr().out.strip() == "rollout-report-report-rejected.html"
    assert "has no published version 999" in (
        tmp_path / "rollout-report-report-rejected.html"
    ).read_text(encoding="utf-8")


def test_report_of_an_unknown_execution_fails_cleanly(env, tmp_path, capsys):
    assert main(["report", "no-such-execution", "-o", str(tmp_path / "x.html")]) == 1

    assert "no-such-execution" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


# -- in a browser -----------------------------------------------------------------------

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


def chromium(url: str, profile: Path, *flags: str) -> str:
    done = subprocess.run(
        [CHROMIUM or "chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *flags, url],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    return done.stdout


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary (apt-get install chromium)")
def test_reports_render_in_a_browser(reports, tmp_path):
    kinds = ["succeeded", "rolled-back", "rejected", "running"]
    for kind in kinds:
        (tmp_path / f"{kind}.html").write_text(reports[kind], encoding="utf-8")

    def render(kind: str) -> tuple[str, Path]:
        """The DOM after rendering, and a screenshot, from one Chromium run."""
        shot = tmp_path / f"{kind}.png"
        dom = chromium(
            (tmp_path / f"{kind}.html").as_uri(),
            tmp_path / f"profile-{kind}",
            "--dump-dom",
            f"--screenshot={shot}",
            "--window-size=1280,2400",
        )
        return dom, shot

    with ThreadPoolExecutor(max_workers=len(kinds)) as pool:
        rendered = dict(zip(kinds, pool.map(render, kinds), strict=True))

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for kind, (dom, shot) in rendered.items():
        shutil.copy(shot, SCREENSHOTS / f"report-{kind}.png")
        assert '<section class="summary">' in dom and "<dt>Outcome</dt>" in dom
        assert '<svg class="graph"' in dom and 'data-state="Prepare"' in dom
        assert distinct_colours(shot) > 30, f"{kind}: the screenshot looks blank"


def distinct_colours(png: Path, bands: int = 4, rows: int = 40) -> int:
    """Distinct pixel colours in a few bands of rows of an 8-bit RGB(A) PNG (Chromium's
    screenshots). A band starts at a row whose filter doesn't need the row above."""
    width, height, pixel, raw = _png_rows(png.read_bytes())
    stride = width * pixel + 1
    colours: set[bytes] = set()
    for band in range(bands):
        start = next(
            (y for y in range(band * height // bands, height) if raw[y * stride] in (0, 1)), None
        )
        previous = bytearray(stride - 1)
        for y in range(start, min(start + rows, height)) if start is not None else ():
            previous = _unfilter(raw[y * stride : (y + 1) * stride], previous, pixel)
            colours.update(bytes(previous[i : i + pixel]) for i in range(0, len(previous), pixel))
    return len(colours)


def _png_rows(data: bytes) -> tuple[int, int, int, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        header = body if kind == b"IHDR" else header
        chunks += [body] if kind == b"IDAT" else []
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, "unexpected PNG format"
    return width, height, 3 if colour_type == 2 else 4, zlib.decompress(b"".join(chunks))


def _unfilter(line: bytes, above: bytearray, pixel: int) -> bytearray:
    kind, row = line[0], bytearray(line[1:])
    for i in range(len(row)):
        left = row[i - pixel] if i >= pixel else 0
        up, corner = above[i], above[i - pixel] if i >= pixel else 0
        if kind == 1:
            row[i] = (row[i] + left) & 255
        elif kind == 2:
            row[i] = (row[i] + up) & 255
        elif kind == 3:
            row[i] = (row[i] + (left + up) // 2) & 255
        elif kind == 4:
            guess = left + up - corner
            near = min(
                (abs(guess - left), 0, left),
                (abs(guess - up), 1, up),
                (abs(guess - corner), 2, corner),
            )[2]
            row[i] = (row[i] + near) & 255
    return row
