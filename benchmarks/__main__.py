"""`python -m benchmarks [--quick]`: run every section and write the results.

`python -m benchmarks quotas` runs only issue 22's sections (account scale: calls per check
against AWS's quotas, a concurrent run under them; exposure, new design beside the old),
about a quarter of an hour, and writes them into docs/benchmarks.md and the README's figures
in place of those sections' last figures (each section says its own load).

`python -m benchmarks coldstart` runs only the task Lambdas' import times and package sizes
(a minute or two) and writes that section into docs/benchmarks.md with its own load.

`python -m benchmarks pipeline` runs only issue 25's section (waves: a 3-wave pipeline's
transitions against 3 separate rollouts, its overhead per wave, the time from a failure in
the last wave to every target restored) on a cloud of two accounts and two Regions, and
writes it into docs/benchmarks.md in place of its last figures."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import (
    account,
    coldstart,
    controls,
    exposure,
    judge,
    pipeline,
    reaction,
    releases,
    report,
    scale,
    strategies,
    transitions,
)
from benchmarks.pricing import USD_PER_TRANSITION
from benchmarks.targets import Fleet
from rollout.local.cloud import LocalCloud
from rollout.local.package import load_template
from rollout.local.quotas import use as quota_use

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
README = ROOT / "README.md"
SERVICES = ("lambda", "stepfunctions", "cloudwatch", "dynamodb", "logs")


# Runs only while a rollout is paused or awaiting approval, priced per waiting hour in
# docs/workflow.md ("What waiting costs"), not per rollout.
HELD_ONLY = frozenset({"WaitForOperatorFunction"})


def memory_mb(template: Path = ROOT / "template.yaml") -> int:
    """The task Lambdas' MemorySize (Globals). A function that overrides it with less (the
    waits' and the pipeline's small functions) is priced at the Globals' size, an upper
    bound; one that asks for more is refused: price it per function."""
    document = load_template(template)
    memory = int(document["Globals"]["Function"]["MemorySize"])
    for name, resource in document["Resources"].items():
        if name in HELD_ONLY:
            continue
        if int(resource.get("Properties", {}).get("MemorySize", 0)) > memory:
            raise ValueError(f"{name} overrides MemorySize upwards; price it per function")
    return memory


COLDSTART_REPEAT = 5  # fresh-interpreter imports per task Lambda; the median is reported


def machine() -> dict[str, Any]:
    return {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "load average at start": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


def run_cloud_sections(cloud: LocalCloud, quick: bool) -> dict[str, Any]:
    """Every section that needs the local cloud, on an already started one."""
    arn = cloud.stack_outputs["RolloutStateMachineArn"]
    # set-up and observation under AWS's quotas, retried as a careful script retries them
    clients = {s: cloud.client(s, max_pool_connections=64) for s in SERVICES}
    fleet = Fleet(cloud, prefix=f"bench{int(time.time()) % 100000}")
    cases = strategies.cases(step_seconds=2, linear_scale=0.1)
    if quick:  # only the 10-step plan, with no waits (one check per step all the same)
        cases = strategies.cases(step_seconds=0, linear_scale=0.1)[-1:]
    memory = memory_mb()
    rows = strategies.run(clients["stepfunctions"], fleet, arn, memory, cases)
    settings = reaction.Settings(
        check_interval=1 if quick else 2, poll=0.02, batch=1 if quick else 5, traffic_per_second=5
    )
    return {
        "memoryMb": memory,
        "strategies": rows,
        "extrapolation": strategies.extrapolate(rows[-1]),
        "transitions": _transitions(rows),
        "reaction": reaction.run(clients, fleet, arn, 1 if quick else 20, settings),
        "controls": controls.run(
            clients,
            fleet,
            arn,
            cloud.stack_outputs["RolloutTableName"],
            1 if quick else 20,
            settings,
        ),
        "scale": scale.run(clients, fleet, arn, [2] if quick else [1, 10, 50]),
        "releases": releases.run(clients["stepfunctions"], fleet, arn, 1 if quick else 3),
        # measured under AWS's API rate quotas (LocalCloud's default): what was throttled
        "quotas": {"enforced": cloud.quotas.enforced, "use": quota_use(cloud.quotas.stats())},
    }


def _transitions(rows: list[dict[str, Any]]) -> dict[str, Any]:
    states = transitions.load_states()
    unscaled = transitions.linear_every_minute_unscaled(states)
    linear = next((r for r in rows if r["strategy"].startswith("Linear")), rows[-1])
    return {
        "unscaledPredicted": unscaled,
        "unscaledCostUsd": unscaled * USD_PER_TRANSITION,
        "fixed": transitions.fixed_transitions(states),
        "scaledMeasured": linear["transitions"],
        "scaledPredicted": linear["predictedTransitions"],
        "row": linear["strategy"],
    }


def write(
    results: dict[str, Any], out: Path, docs: Path | None, readme: Path | None = None
) -> Path:
    """latest.json and latest.md in `out`; with `docs`, the page there too, and with
    `readme`, its Benchmarks figures (report.readme_block) from the same run."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=1, default=str))
    page = out / "latest.md"
    page.write_text(report.markdown(results))
    if docs is not None:
        shutil.copyfile(page, docs)
    if readme is not None:
        readme.write_text(report.write_readme(readme.read_text(), results))
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="minimal sizes: checks that every code path runs, not a benchmark",
    )
    parser.add_argument(
        "section",
        nargs="?",
        choices=["all", "quotas", "pipeline", "judge", "coldstart"],
        default="all",
        help="quotas: only the account-scale and exposure sections (issue 22); pipeline: "
        "only the waves section (issue 25); judge: only the canary judge's statistics "
        "(issue 24); coldstart: only the task Lambdas' import times (issue 24's budget)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--runs",
        type=int,
        default=None,
        help=f"quotas: runs of the exposure section (default {exposure.RUNS}); pipeline: runs "
        f"of each of its measures (default {pipeline.RUNS}); coldstart: imports per task "
        f"Lambda (default {COLDSTART_REPEAT})",
    )
    parser.add_argument(
        "--rewrite",
        action="store_true",
        help="measure nothing: write docs/benchmarks.md and the README's figures again from "
        "the last run's latest.json (after a change to how the report reads)",
    )
    args = parser.parse_args(argv)
    if args.rewrite:
        results = json.loads((args.out / "latest.json").read_text())
        print(write(results, args.out, DOCS, README).read_text())
        return 0
    if args.section == "quotas":
        return _quotas_only(args.out, args.quick, args.runs or exposure.RUNS)
    if args.section == "pipeline":
        return _pipeline_only(args.out, args.quick, args.runs or pipeline.RUNS)
    if args.section == "judge":
        return _judge_only(args.out, args.quick)
    if args.section == "coldstart":
        return _coldstart_only(args.out, args.quick, args.runs or COLDSTART_REPEAT)
    started = time.monotonic()
    results: dict[str, Any] = {"machine": machine()}
    print("cold starts and package sizes …", flush=True)
    results["coldstart"] = coldstart.run(
        repeat=1 if args.quick else COLDSTART_REPEAT,
        tasks=coldstart.TASKS[:1] if args.quick else None,
    )
    print("the canary judge's statistics, in-process …", flush=True)
    results["judge"] = judge.run(quick=args.quick)
    print("rollouts on the local cloud …", flush=True)
    with LocalCloud() as cloud:
        results |= run_cloud_sections(cloud, args.quick)
    print("exposure under AWS's delays, on a cloud of its own …", flush=True)
    results["exposure"] = exposure.run(1 if args.quick else exposure.RUNS)
    print("account scale under AWS's quotas, on a cloud of its own …", flush=True)
    results["account"] = account.run(quick=args.quick)
    print("waves across two accounts and two Regions, on a cloud of its own …", flush=True)
    results["pipeline"] = pipeline.run(quick=args.quick)
    results["machine"]["load average at end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    results["machine"]["benchmark run"] = f"{time.monotonic() - started:.0f} s"
    page = write(results, args.out, *((None, None) if args.quick else (DOCS, README)))
    print(page.read_text())
    return 0


def _quotas_only(out: Path, quick: bool, runs: int) -> int:
    """Issue 22's sections, spliced into docs/benchmarks.md and the README's figures as the
    last full run wrote them (each section says its own load); quotas.json holds them."""
    results: dict[str, Any] = {"machine": machine()}
    print("account scale under AWS's quotas …", flush=True)
    results["account"] = account.run(quick=quick)
    print("exposure under AWS's delays …", flush=True)
    results["exposure"] = exposure.run(1 if quick else runs)
    _save(out, "quotas", results)
    if not quick:
        DOCS.write_text(report.splice_page(DOCS.read_text(), results))
        README.write_text(report.splice_readme(README.read_text(), results))
    print(report.account_section(results["account"]))
    print(report.exposure_section(results["exposure"]))
    return 0


def _pipeline_only(out: Path, quick: bool, runs: int) -> int:
    """Issue 25's section, spliced into docs/benchmarks.md (it says its own load);
    pipeline.json holds it."""
    print("waves across two accounts and two Regions …", flush=True)
    results = {"machine": machine(), "pipeline": pipeline.run(quick=quick, runs=runs)}
    _save(out, "pipeline", results)
    text = pipeline.section(results["pipeline"])
    if not quick:
        DOCS.write_text(report.replace_section(DOCS.read_text(), "## Waves", text))
    print(text)
    return 0


def _judge_only(out: Path, quick: bool) -> int:
    """Issue 24's section alone (a few minutes, no cloud), into benchmarks/results/judge.json,
    spliced into docs/benchmarks.md with when and at what load it ran (it measures shares of
    simulated rollouts, and the judge's own time, which a busy machine moves), printed."""
    started = machine()
    results = judge.run(quick=quick)
    _save(out, "judge", results)
    measured = (
        f"Measured {started['when']} with `python -m benchmarks judge` (the rest of this page "
        "is the last full run's; a full `make bench` rewrites this section with it). "
    )
    text = report.judge_section(results, measured)
    if not quick:
        DOCS.write_text(report.replace_section(DOCS.read_text(), "## Canary judge", text))
    print(text)
    return 0


def _coldstart_only(out: Path, quick: bool, repeat: int) -> int:
    """The cold-start section alone (a minute or two, no cloud), spliced into
    docs/benchmarks.md with when and at what load it ran: the import budget is a median of
    a few hundred milliseconds, which a busy machine moves by tens."""
    started = machine()
    results = coldstart.run(repeat=1 if quick else repeat)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    _save(out, "coldstart", {"machine": started, "coldstart": results})
    measured = (
        f"Measured {started['when']} with `python -m benchmarks coldstart` (the rest of this "
        f"page is the last full run's); load average {started['load average at start']} at "
        f"the start, {load} at the end.\n\n"
    )
    text = report.coldstart_section(results, measured)
    if not quick:
        page = report.replace_section(DOCS.read_text(), "## Cold start", text)
        DOCS.write_text(report.splice_coldstart_target(page, results))
        README.write_text(report.splice_coldstart_target(README.read_text(), results))
    print(text)
    return 0


def _save(out: Path, name: str, results: dict[str, Any]) -> None:
    """`out`/<name>.json: the raw figures of a section run alone."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    sys.exit(main())
