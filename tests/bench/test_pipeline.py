"""benchmarks/pipeline.py (issue 25's waves section): the figures' shape from a quick run on
a cloud of two accounts and two Regions, and the section it writes. Counts and shapes,
never timings (`python -m benchmarks pipeline` measures)."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import pipeline, report


def _compared(own: int, children: list[int], separate: list[int]) -> dict[str, Any]:
    return {
        "handoverTransitions": 4,
        "pipelineTransitions": own,
        "children": [{"wave": i, "transitions": n, "wall": 10.0} for i, n in enumerate(children)],
        "pipelineWall": 60.0,
        "prepareSeconds": 5.0,
        "waveOverheads": [1.0, 2.0, 3.0],
        "separate": [{"transitions": n, "wall": 9.0} for n in separate],
    }


def test_the_summary_counts_what_the_pipeline_adds_per_wave() -> None:
    three = [20, 20, 20]
    compared = [_compared(40, three, three), _compared(42, three, three)]
    restores = [{"restoredTargets": 3, "failureToRestoredSeconds": 4.0, "failureToEndSeconds": 5}]
    found = pipeline.summary(compared, restores)
    assert found["pipelineTransitions"] == 4 + 41 + 60
    assert found["separateTransitions"] == 60
    assert found["addedTransitions"] == 45 and found["addedTransitionsPerWave"] == 15
    assert found["waveOverheadSeconds"] == {"median": 2.0, "max": 3.0}
    assert found["separateWallSeconds"] == 27.0 and found["childrenWallSeconds"] == 30.0
    assert found["failureToRestoredSeconds"] == 4.0


def test_the_section_replaces_its_last_figures_and_keeps_the_others() -> None:
    results = {
        "quotasEnforced": True,
        "runs": 2,
        "strategy": pipeline.STRATEGY,
        "bakeSeconds": pipeline.BAKE_SECONDS,
        "summary": pipeline.summary(
            [_compared(40, [20, 20, 20], [20, 20, 20])],
            [{"restoredTargets": 3, "failureToRestoredSeconds": 4.0, "failureToEndSeconds": 5}],
        ),
        "loadAverage": {"start": "9.00 8.00 7.00", "end": "3.00 2.00 1.00"},
        "wallSeconds": 300,
    }
    text = pipeline.section(results)
    assert text.startswith("## Waves (issue 25)")
    assert "| transitions the pipeline adds | 44 (14.7 per wave; its own history 40) |" in text
    assert "| failure in the last wave → every target restored (3) | 4 s |" in text
    assert "load average 9.00 8.00 7.00 at the start" in text
    page = "# Benchmarks\n\n## Scale\n\nscale\n\n## Prices\n\nprices\n"
    once = report.replace_section(page, "## Waves", text)
    assert once.index("## Scale") < once.index("## Waves") < once.index("## Prices")
    assert report.replace_section(once, "## Waves", text) == once  # replaced, never added


@pytest.mark.cloud
@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_quick_run_has_every_figure(own_cloud: None) -> None:
    """`pipeline.run(quick=True)` end to end: one run of each measure, its shape (its cloud
    has four places; moto is one per process, so the shared cloud stops first)."""
    found = pipeline.run(quick=True)
    assert found["quotasEnforced"] is True and found["runs"] == 1
    (compared,) = found["compared"]
    assert [c["wave"] for c in compared["children"]] == [0, 1, 2]
    assert len(compared["separate"]) == 3 and len(compared["waveOverheads"]) == 3
    assert all(c["transitions"] > 0 for c in compared["children"])
    (restore,) = found["restores"]
    assert restore["restoredTargets"] == 3  # the last wave's other target, waves 2 and 1
    summary = found["summary"]
    assert summary["pipelineTransitions"] > summary["separateTransitions"] > 0
    assert summary["failureToRestoredSeconds"] >= 0
    assert "## Waves (issue 25)" in pipeline.section(found)
