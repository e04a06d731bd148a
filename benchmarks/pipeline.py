"""Waves (issue 25): what a pipeline of waves costs beside the rollouts it runs, on a local
cloud of two accounts and two Regions, the rollout stack in each (as `rollout local up
--regions us-east-1,eu-west-1 --accounts …`), AWS's API quotas on.

`python -m benchmarks pipeline` runs this section alone and writes it into
docs/benchmarks.md; every figure is read from execution histories (Step Functions' own
timestamps), nothing is timed on the client side.

(a) Transitions. The same release, three places, one after another: as a pipeline of three
    waves of one target each (the rollout execution that hands it over, the pipeline's own
    history, and its three children), and as three separate rollouts started in turn, one
    in each place. The difference is what the pipeline adds; per wave, what a wave costs.
(b) Overhead per wave. Each wave's span in the pipeline's history (Roll out wave entered to
    the next wave's, or to Finish pipeline) less its longest child rollout and its bake:
    the time the pipeline spends per wave beyond the rollouts it waits for. Prepare
    pipeline (a dry run of the rollout in every target) is shown apart.
(c) Restore. Three waves, the last with two targets, one of whose new version fails every
    request: from the failing rollout's end (it restored its own alias) to the end of the
    last Restore target (every completed target back on its version, newest wave first).
"""

from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from datetime import datetime
from itertools import pairwise
from typing import Any

from rollout_core.pipeline.follow import POLL_SECONDS as FOLLOW_SECONDS
from rollout_core.pipeline.names import PipelineState as S

from benchmarks import cloudrun
from benchmarks.history import figures
from rollout.local.accounts import HOME_ACCOUNT, AccountRegion
from rollout.local.cloud import DEFAULT_TEMPLATE, LocalCloud
from rollout.samples import code_zip, lambda_role
from rollout.view.pipeline import pipeline_in

MEMBER_ACCOUNT = "210987654321"
REGIONS = ["us-east-1", "eu-west-1"]
ACCOUNTS = [HOME_ACCOUNT, MEMBER_ACCOUNT]
HOME = AccountRegion(HOME_ACCOUNT, "us-east-1")
HOME_EU = AccountRegion(HOME_ACCOUNT, "eu-west-1")
MEMBER_US = AccountRegion(MEMBER_ACCOUNT, "us-east-1")
MEMBER_EU = AccountRegion(MEMBER_ACCOUNT, "eu-west-1")
ORDER = [HOME, MEMBER_US, HOME_EU]  # (a), (b): one place per wave
ALIAS = "live"
BAKE_SECONDS = 2
RUNS = 3  # of each measure: medians
TIMEOUT = 900.0  # s: a pipeline on a loaded, shared machine
# The rollout every target runs: one weighted step, checked every second, then promoted.
STRATEGY = {"steps": [{"percentage": 10, "waitSeconds": 3}]}
QUICK_STRATEGY = "AllAtOnce"
HANDLER = """\
import os


def handler(event, context):
    if os.environ["MODE"] == "fail":
        raise RuntimeError("bad release")
    return {"ok": True}
"""


def run(quick: bool = False, runs: int = RUNS) -> dict[str, Any]:
    load_start = " ".join(f"{v:.2f}" for v in os.getloadavg())
    started = time.monotonic()
    repeat = 1 if quick else runs
    with LocalCloud(template=DEFAULT_TEMPLATE, regions=REGIONS, accounts=ACCOUNTS) as cloud:
        bench = PipelineBench(cloud, quick)
        compared = [bench.compare() for _ in range(repeat)]
        restores = [bench.restore() for _ in range(repeat)]
        quotas = cloud.quotas.enforced
    return {
        "quotasEnforced": quotas,
        "runs": repeat,
        "strategy": QUICK_STRATEGY if quick else STRATEGY,
        "bakeSeconds": BAKE_SECONDS,
        "compared": compared,
        "restores": restores,
        "summary": summary(compared, restores),
        "loadAverage": {
            "start": load_start,
            "end": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        },
        "wallSeconds": round(time.monotonic() - started),
    }


class PipelineBench:
    def __init__(self, cloud: LocalCloud, quick: bool) -> None:
        self.cloud = cloud
        self.quick = quick
        self._clients: dict[tuple[str, AccountRegion], Any] = {}

    def client(self, service: str, place: AccountRegion) -> Any:
        key = (service, place)
        if key not in self._clients:
            self._clients[key] = self.cloud.client(
                service, account=place.account_id, region=place.region
            )
        return self._clients[key]

    # -- (a) and (b) ----------------------------------------------------------------------

    def compare(self) -> dict[str, Any]:
        """The pipeline of three one-target waves, then three separate rollouts."""
        name = self.functions(ORDER)
        arn, handover = self.start_pipeline(self.rollout(name), [[place] for place in ORDER])
        pipeline = {"handoverTransitions": handover, **self.read_pipeline(arn)}
        separate_name = self.functions(ORDER)
        separate = []
        for place in ORDER:  # wave by wave, as someone would start them by hand
            machine = self.cloud.stacks[place]["RolloutStateMachineArn"]
            sfn = self.client("stepfunctions", place)
            figures_ = cloudrun.run(sfn, machine, self.rollout(separate_name), TIMEOUT)
            if figures_.status != "SUCCEEDED":
                raise RuntimeError(f"the separate rollout in {place} ended {figures_.status}")
            separate.append({"transitions": figures_.transitions, "wall": figures_.wall_seconds})
        return {**pipeline, "separate": separate}

    # -- (c) ------------------------------------------------------------------------------

    def restore(self) -> dict[str, Any]:
        waves = [[HOME], [MEMBER_US], [HOME_EU, MEMBER_EU]]
        name = self.functions([HOME, MEMBER_US, HOME_EU, MEMBER_EU], failing=MEMBER_EU)
        arn, _ = self.start_pipeline(self.rollout(name), waves, expect="FAILED")
        events = cloudrun.history(self.client("stepfunctions", HOME), arn)
        outcomes = _outputs(events, S.RECORD_TARGET)
        failed = next(o for o in outcomes if o["status"] == "failed")
        child = self.client("stepfunctions", AccountRegion(failed["account"], failed["region"]))
        failed_end = child.describe_execution(executionArn=failed["executionArn"])["stopDate"]
        restored = [e for e in events if _exited(e) == S.RESTORE_TARGET]
        versions = {
            str(place): self.client("lambda", place).get_alias(FunctionName=name, Name=ALIAS)[
                "FunctionVersion"
            ]
            for place in (HOME, MEMBER_US, HOME_EU, MEMBER_EU)
        }
        if set(versions.values()) != {"1"}:
            raise RuntimeError(f"not every target was restored: {versions}")
        return {
            "restoredTargets": len(restored),
            "failureToRestoredSeconds": _seconds(failed_end, restored[-1]["timestamp"]),
            "failureToEndSeconds": _seconds(failed_end, events[-1]["timestamp"]),
        }

    # -- driving ---------------------------------------------------------------------------

    def functions(self, places: list[AccountRegion], failing: AccountRegion | None = None) -> str:
        """A function in each place: version 1 live, version 2 published (failing where
        told: every request raises)."""
        name = f"waves-{uuid.uuid4().hex[:8]}"
        for place in places:
            lam = self.client("lambda", place)
            role = lambda_role(self.client("iam", place), "bench-pipeline-function")
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="app.handler",
                Code={"ZipFile": code_zip({"app.py": HANDLER})},
                Environment={"Variables": {"MODE": "ok"}},
            )
            lam.get_waiter("function_active_v2").wait(FunctionName=name)
            lam.publish_version(FunctionName=name)
            lam.create_alias(FunctionName=name, Name=ALIAS, FunctionVersion="1")
            mode = "fail" if place == failing else "ok"
            lam.update_function_configuration(
                FunctionName=name, Environment={"Variables": {"MODE": mode}}
            )
            lam.get_waiter("function_updated_v2").wait(FunctionName=name)
            lam.publish_version(FunctionName=name)
        return name

    def rollout(self, name: str) -> dict[str, Any]:
        return {
            "functionName": name,
            "alias": ALIAS,
            "targetVersion": "2",
            "strategy": QUICK_STRATEGY if self.quick else STRATEGY,
            "checkIntervalSeconds": 1,
            "preTraffic": {"payload": {}},
        }

    def start_pipeline(
        self, rollout: dict[str, Any], waves: list[list[AccountRegion]], expect: str = "SUCCEEDED"
    ) -> tuple[str, int]:
        """Through the home rollout state machine, as users start one: its pipeline's ARN
        once it ended as expected, and the transitions of the rollout that handed it over."""
        document = {
            **rollout,
            "waves": [
                {
                    "name": f"wave-{i + 1}",
                    "targets": [{"account": p.account_id, "region": p.region} for p in group],
                    "bakeSeconds": BAKE_SECONDS,
                }
                for i, group in enumerate(waves)
            ],
        }
        sfn = self.client("stepfunctions", HOME)
        handover = cloudrun.start(sfn, self.cloud.stack_outputs["RolloutStateMachineArn"], document)
        described = cloudrun.wait_for_end(sfn, handover, TIMEOUT)
        arn = pipeline_in(json.loads(described.get("output") or "{}"))
        if arn is None:
            raise RuntimeError(f"the rollout did not hand over its waves: {described}")
        ended = cloudrun.wait_for_end(sfn, arn, TIMEOUT)
        if ended["status"] != expect:
            raise RuntimeError(f"{arn} ended {ended['status']}: {ended.get('cause')}")
        return arn, figures(described, cloudrun.history(sfn, handover)).transitions

    def read_pipeline(self, arn: str) -> dict[str, Any]:
        """The pipeline's own figures, its children's, and each wave's overhead."""
        sfn = self.client("stepfunctions", HOME)
        described = sfn.describe_execution(executionArn=arn)
        events = cloudrun.history(sfn, arn)
        own = figures(described, events)
        children = []
        for outcome in _outputs(events, S.RECORD_TARGET):
            place = AccountRegion(outcome["account"], outcome["region"])
            there = self.client("stepfunctions", place)
            child = there.describe_execution(executionArn=outcome["executionArn"])
            history = cloudrun.history(there, outcome["executionArn"])
            children.append(
                {
                    "wave": outcome["wave"],
                    "transitions": figures(child, history).transitions,
                    "wall": _seconds(child["startDate"], child["stopDate"]),
                }
            )
        return {
            "pipelineTransitions": own.transitions,
            "children": children,
            "pipelineWall": own.wall_seconds,
            "prepareSeconds": _span(events, S.PREPARE, S.ROLL_OUT_WAVE),
            "waveOverheads": _wave_overheads(events, children),
        }


# -- reading histories ----------------------------------------------------------------------


def _entered(event: dict[str, Any]) -> str | None:
    return (event.get("stateEnteredEventDetails") or {}).get("name")


def _exited(event: dict[str, Any]) -> str | None:
    return (event.get("stateExitedEventDetails") or {}).get("name")


def _outputs(events: list[dict[str, Any]], state: str) -> list[dict[str, Any]]:
    return [
        json.loads(e["stateExitedEventDetails"]["output"]) for e in events if _exited(e) == state
    ]


def _seconds(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds(), 3)


def _span(events: list[dict[str, Any]], first: str, until: str) -> float:
    """From `first` entered to `until` first entered after it."""
    start = next(e["timestamp"] for e in events if _entered(e) == first)
    end = next(e["timestamp"] for e in events if _entered(e) == until and e["timestamp"] >= start)
    return _seconds(start, end)


def _wave_overheads(events: list[dict[str, Any]], children: list[dict[str, Any]]) -> list[float]:
    """Per wave: its span (Roll out wave entered to the next wave's, or to Finish pipeline)
    less its longest child and its bake."""
    starts = [e["timestamp"] for e in events if _entered(e) == S.ROLL_OUT_WAVE]
    bounds = [*starts, next(e["timestamp"] for e in events if _entered(e) == S.FINISH)]
    overheads = []
    for index, (start, end) in enumerate(pairwise(bounds)):
        longest = max(c["wall"] for c in children if c["wave"] == index)
        overheads.append(round(_seconds(start, end) - longest - BAKE_SECONDS, 3))
    return overheads


# -- the figures ------------------------------------------------------------------------------


def summary(compared: list[dict[str, Any]], restores: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over the runs."""
    waves = len(ORDER)
    pipeline_total = [
        c["handoverTransitions"]
        + c["pipelineTransitions"]
        + sum(child["transitions"] for child in c["children"])
        for c in compared
    ]
    separate_total = [sum(s["transitions"] for s in c["separate"]) for c in compared]
    added = [p - s for p, s in zip(pipeline_total, separate_total, strict=True)]
    overheads = [o for c in compared for o in c["waveOverheads"]]
    return {
        "waves": waves,
        "pipelineTransitions": statistics.median(pipeline_total),
        "separateTransitions": statistics.median(separate_total),
        "addedTransitions": statistics.median(added),
        "addedTransitionsPerWave": round(statistics.median(added) / waves, 1),
        "ownTransitions": statistics.median(c["pipelineTransitions"] for c in compared),
        "waveOverheadSeconds": {
            "median": round(statistics.median(overheads), 2),
            "max": round(max(overheads), 2),
        },
        "prepareSeconds": statistics.median(c["prepareSeconds"] for c in compared),
        "pipelineWallSeconds": statistics.median(c["pipelineWall"] for c in compared),
        "childrenWallSeconds": statistics.median(
            sum(child["wall"] for child in c["children"]) for c in compared
        ),
        "separateWallSeconds": statistics.median(
            sum(s["wall"] for s in c["separate"]) for c in compared
        ),
        "failureToRestoredSeconds": statistics.median(
            r["failureToRestoredSeconds"] for r in restores
        ),
        "restoredTargets": statistics.median(r["restoredTargets"] for r in restores),
    }


def rows(s: dict[str, Any]) -> list[tuple[str, str]]:
    """(figure, measured) rows of the summary `s`."""
    overhead = s["waveOverheadSeconds"]
    return [
        (
            "transitions, 3-wave pipeline (hand-over + pipeline + its 3 rollouts)",
            f"{s['pipelineTransitions']:g}",
        ),
        ("transitions, the same 3 rollouts started separately", f"{s['separateTransitions']:g}"),
        (
            "transitions the pipeline adds",
            f"{s['addedTransitions']:g} ({s['addedTransitionsPerWave']:g} per wave; "
            f"its own history {s['ownTransitions']:g})",
        ),
        (
            "overhead per wave beyond its rollout and bake",
            f"{overhead['median']:g} s (max {overhead['max']:g} s)",
        ),
        ("Prepare pipeline (a dry run in every target)", f"{s['prepareSeconds']:g} s"),
        (
            "wall time: the pipeline (its rollouts' own) / the separate rollouts back to back",
            f"{s['pipelineWallSeconds']:g} s ({s['childrenWallSeconds']:g} s) / "
            f"{s['separateWallSeconds']:g} s",
        ),
        (
            f"failure in the last wave → every target restored ({s['restoredTargets']:g})",
            f"{s['failureToRestoredSeconds']:g} s",
        ),
    ]


def section(results: dict[str, Any]) -> str:
    """The docs/benchmarks.md section."""
    load = results["loadAverage"]
    table = "\n".join(f"| {figure} | {value} |" for figure, value in rows(results["summary"]))
    quotas = "on" if results["quotasEnforced"] else "OFF"
    return (
        "## Waves (issue 25)\n\n"
        f"A local cloud of two accounts and two Regions, the rollout stack in each, AWS's API "
        f"quotas {quotas}; {results['runs']} run(s), medians; load average {load['start']} at "
        f"the start, {load['end']} at the end ({results['wallSeconds']} s). Every target's "
        f"rollout: `{json.dumps(results['strategy'])}`, checks every second, a pre-traffic "
        f"invocation; each wave bakes {results['bakeSeconds']} s. `python -m benchmarks "
        "pipeline` measures it again.\n\n"
        f"| figure | measured |\n| --- | --- |\n{table}\n\n"
        "The pipeline's own transitions are fixed per wave and target, whatever its rollouts "
        "check; a target in another Region than the pipeline's is followed by reading its "
        f"execution every {FOLLOW_SECONDS:g} s, so its wave's overhead includes up to that "
        "wait (the third wave here, in eu-west-1).\n"
    )
