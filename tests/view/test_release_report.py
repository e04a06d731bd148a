"""The HTML report of a release (issue 15) from histories shaped per the contract: a
Functions table with one row per function, a traffic line and an error-rate series per
function, each labelled, the health checks per function, and the Cause."""

from __future__ import annotations

import html
import json
import re

from rollout.graph import load_definition
from rollout.view.history import build_run
from rollout.view.report import build_report
from tests.cli.histories import (
    RELEASE_CAUSE,
    ROLLBACK_FAILED_CAUSE,
    T0,
    release_rollback_failed,
    release_rolled_back,
    release_succeeded,
    succeeded,
)

NAMES = ["orders-api:live", "orders-worker:live", "orders-cron:live"]
MACHINE = {"name": "rollout", "definition": json.dumps(load_definition())}


def section(page: str, css_class: str) -> str:
    start = page.index(f'<section class="{css_class}">')
    return page[start : page.index("</section>", start)]


def function_rows(page: str) -> list[str]:
    table = section(page, "functions")
    body = table[table.index("<tbody>") : table.index("</tbody>")]
    return re.findall(r"<tr.*?</tr>", body)


def rolled_back_page() -> str:
    h = release_rolled_back()
    run = build_run(h.describe("FAILED", "HealthCheckFailed", RELEASE_CAUSE), h.events, MACHINE)
    return build_report(run, T0)


def test_a_failed_release_has_a_row_per_function_and_names_the_failing_one():
    page = rolled_back_page()

    assert "<h1>Release of 3 functions</h1>" in page
    rows = function_rows(page)
    assert len(rows) == 3
    for row, name in zip(rows, NAMES, strict=True):
        assert name in row and "0%" in row and "restored" in row
    api, worker, cron = rows
    assert worker.startswith('<tr class="failed">') and "pill bad" in worker
    assert (
        "metrics: version 8 error rate 30.00% (30/100 invocations failed) above 1%"
        in html.unescape(worker)
    )
    assert "30/100 errors" in worker and "logs: 30/98 failed" in worker
    assert "7 → 8" in worker and "3 → 4" in api and "1 → 2" in cron
    assert 'class="failed"' not in api + cron and "healthy" in api + cron


def test_the_cause_of_a_failed_release_is_the_reason_and_ends_the_timeline():
    page = html.unescape(rolled_back_page())

    reason = page[page.index('<p class="reason bad">') :]
    reason = reason[: reason.index("</p>")]
    assert "Rolled back every alias of the release (orders-api:live, orders-worker:live, " in reason
    assert "orders-worker: metrics: version 8 error rate" in reason
    assert RELEASE_CAUSE in page  # the whole Cause, under the run's end


def test_the_traffic_chart_has_a_labelled_line_per_function():
    page = rolled_back_page()
    traffic = section(page, "traffic")

    lines = re.findall(r'<g class="function (fn-\d)"[^>]*><title>([^<]*)</title>', traffic)
    assert lines == [("fn-0", NAMES[0]), ("fn-1", NAMES[1]), ("fn-2", NAMES[2])]
    legend = re.findall(r'<li class="(fn-\d)"><span class="key"></span>([^<]*)</li>', traffic)
    assert legend == lines
    assert ">rolled back</text>" in traffic and ">50%</text>" in traffic


def test_the_error_rate_chart_has_a_series_per_function():
    rates = section(rolled_back_page(), "rates")

    series = re.findall(r'<g class="series fn (fn-\d)"><title>([^<]*)</title>', rates)
    assert [name for _, name in series] == NAMES
    assert "new version of orders-worker:live" in rates


def test_each_health_check_has_a_line_per_function():
    checks = html.unescape(section(rolled_back_page(), "health"))

    assert checks.count('rowspan="3"') == 8  # two checks: at, traffic, result, alarms
    assert checks.count("orders-worker:live") == 2
    text = re.sub(r"<[^>]+>", "", checks)
    assert "v8 30/100 errors" in text and "v7 4/900 errors" in text


def test_a_succeeded_release_shows_every_function_live():
    h = release_succeeded()
    page = build_report(build_run(h.describe("SUCCEEDED"), h.events, MACHINE), T0)

    rows = function_rows(page)
    assert all("100%" in row and "healthy" in row and "restored" not in row for row in rows)
    assert "every alias of the release runs its new version" in page


def test_a_failed_rollback_points_each_row_to_the_cause():
    h = release_rollback_failed()
    run = build_run(h.describe("FAILED", "RollbackFailed", ROLLBACK_FAILED_CAUSE), h.events)
    rows = function_rows(build_report(run, T0))

    assert all("see cause" in row and "<td>?</td>" in row for row in rows)


def test_a_function_name_from_the_execution_is_escaped():
    h = release_rolled_back()
    hostile = "<script>x</script>"
    for event in h.events:
        for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
            details = event.get(key) or {}
            for field in ("input", "output"):
                if field in details:
                    details[field] = details[field].replace("orders-cron", hostile)
    run = build_run(h.describe("FAILED", "HealthCheckFailed", RELEASE_CAUSE), h.events)
    page = build_report(run, T0)

    assert hostile not in page and html.escape(hostile) in page


def test_a_single_rollout_report_has_no_functions_section():
    h = succeeded()
    page = build_report(build_run(h.describe("SUCCEEDED"), h.events, MACHINE), T0)

    assert '<section class="functions">' not in page and 'class="function ' not in page
    assert "<h1>Rollout orders:live</h1>" in page
