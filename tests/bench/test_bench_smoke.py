"""The benchmark's code paths at minimal sizes, so `make bench` can't rot. Nothing is timed
here: the assertions are about structure and outcomes (every rollout ended as intended,
transition counts match the model, the report has every table)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchmarks import coldstart, report, transitions
from benchmarks.__main__ import run_cloud_sections, write

pytestmark = [pytest.mark.cloud, pytest.mark.slow]


@pytest.fixture(scope="module")
def results(cloud: Any) -> dict[str, Any]:
    found = run_cloud_sections(cloud, quick=True)
    found["machine"] = {"cpus": 2}
    found["coldstart"] = coldstart.run(repeat=1, tasks=("promote",))
    return found


def test_every_strategy_row_succeeded_with_the_predicted_transitions(results):
    rows = results["strategies"]

    assert [r["status"] for r in rows] == ["SUCCEEDED"] * len(rows)
    assert [r["transitions"] for r in rows] == [r["predictedTransitions"] for r in rows]
    ten_steps = rows[-1]
    assert ten_steps["waitsSeconds"] == 0
    assert len(ten_steps["stepOverheads"]) == 10
    assert len(ten_steps["checkCycleOverheads"]) == 10
    # 7 once (Start telemetry among them) + per step: shift, the wait (a task) and one check
    assert ten_steps["taskInvocations"] == 37
    assert 0 < ten_steps["cost"]["totalUsd"] < 0.01


def test_both_failure_kinds_were_rolled_back(results):
    reaction = results["reaction"]

    for kind in ("alarm", "errors"):
        assert reaction[kind]["rolledBack"] == reaction[kind]["summary"]["n"] == 1
        assert reaction[kind]["summary"]["min"] > 0


def test_both_controls_took_effect(results):
    controls = results["controls"]
    for kind in ("abort", "approve"):
        assert controls[kind]["asExpected"] == controls[kind]["summary"]["n"] == 1
        assert controls[kind]["summary"]["min"] > 0


def test_a_ten_function_release_makes_as_many_transitions_as_one_function(results):
    releases = results["releases"]

    assert [r["functions"] for r in releases["rows"]] == [1, 10]
    assert [r["status"] for r in releases["rows"]] == ["SUCCEEDED"] * 2
    assert releases["rows"][0]["transitions"] == releases["rows"][1]["transitions"]
    assert releases["transitionRatio"] == 1
    assert "A release of ten functions next to one" in report.markdown(results)


def test_scale_runs_the_concurrent_rollouts(results):
    (level,) = results["scale"]

    assert level["concurrency"] == 2
    assert level["waitsSeconds"] == 3
    assert level["maxWallSeconds"] >= level["medianWallSeconds"] > 3


def test_the_benchmarks_ran_under_aws_api_rate_quotas(results, tmp_path):
    assert results["quotas"]["enforced"] is True
    assert results["quotas"]["use"].startswith("AWS's API rate quotas enforced: ")
    assert results["quotas"]["use"] in write(results, tmp_path, None).read_text()


def test_transition_model_matches_the_asl():
    states = transitions.load_states()

    # Prepare, Roll out?, Pre-traffic check, Start telemetry; Promote … Clean up old versions
    assert transitions.fixed_transitions(states) == 10
    assert transitions.linear_every_minute_unscaled(states) == 190


def test_cold_start_measures_the_function_and_the_layer(results):
    (promote,) = results["coldstart"]["functions"]

    assert promote["function"] == "promote"
    assert promote["importMedianMs"] > 0 and promote["zipBytes"] > 0
    assert (
        results["coldstart"]["layerWithDependenciesZipBytes"]
        > results["coldstart"]["layerZipBytes"]
        > 0
    )


def test_the_report_has_every_section_and_target(results, tmp_path):
    page = write(results, tmp_path, None).read_text()

    for title in (
        "## Targets",
        "## Per strategy",
        "## Reaction time",
        "## Operator controls",
        "## Scale",
        "## Cold start and package size",
        "## Prices",
    ):
        assert title in page
    assert len(report.targets(results)) == 6
    assert json.loads((tmp_path / "latest.json").read_text())["scale"][0]["concurrency"] == 2


def test_the_report_has_the_exposure_section_and_its_targets_when_measured(results, tmp_path):
    from tests.bench.test_exposure import _results as exposure_results

    page = write(results | {"exposure": exposure_results()}, tmp_path, None).read_text()

    assert "## Exposure under AWS's delays" in page
    assert len(report.targets(results | {"exposure": exposure_results()})) == 12


def test_the_readme_block_has_the_same_tables_and_replaces_only_its_own(results):
    from tests.bench.test_exposure import _results as exposure_results

    measured = results | {"exposure": exposure_results()}
    measured["machine"] |= {"when": "today", "python": "3.11", "load average at start": "1"}
    readme = f"# x\n\n{report.README_START}\nold\n{report.README_END}\n\n## Next\n"
    written = report.write_readme(readme, measured)
    block = written[written.index(report.README_START) : written.index(report.README_END)]
    assert "old" not in block and written.endswith(f"{report.README_END}\n\n## Next\n")
    page = report.markdown(measured)
    for table in ("| target | measured | |", "| strategy | waits (s)", "| failing | way | checks"):
        assert table in block and table in page


def test_the_cold_start_section_run_alone_says_when_and_replaces_only_its_own(results):
    measured = "Measured 2026-01-01 00:00 UTC with `python -m benchmarks coldstart`. "
    section = report.coldstart_section(results["coldstart"], measured)
    page = "# Benchmarks\n\n## Cold start and package size\n\nold\n\n## Prices\n\nkept\n"

    replaced = report.replace_section(page, "## Cold start", section)

    assert section.startswith(f"## Cold start and package size\n\n{measured}Import of `app`")
    assert "| promote |" in replaced and "\n\nold\n" not in replaced
    assert replaced.endswith("## Prices\n\nkept\n")


def test_the_cold_start_run_alone_replaces_only_the_import_budgets_row(results):
    other = "| rollback p95 ≤ check interval + 2 s = 3 s | 2.00 s | met |"
    budget = f"| {report.IMPORT_TARGET} | 999 ms (x) | **missed** |"
    table = f"| target | measured | |\n{other}\n{budget}"

    spliced = report.splice_coldstart_target(table, results["coldstart"])

    target, measured, met = report.coldstart_target(results["coldstart"])
    assert spliced.split("\n")[1] == other
    assert spliced.split("\n")[2] == f"| {target} | {measured} | {'met' if met else '**missed**'} |"
    assert measured.endswith("(promote)")
