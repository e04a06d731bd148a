"""benchmarks/exposure.py: the table it prints from its outcomes (the run itself takes
minutes under AWS's metric delay; `python -m benchmarks.exposure --quick`)."""

from benchmarks.exposure import Outcome, table


def test_the_table_has_every_way_side_by_side_for_each_failure() -> None:
    outcomes = [
        Outcome("logs", "100 %", 4, 100, 11.0, "FAILED"),
        Outcome("metrics", "100 %", 40, 100, 95.0, "FAILED"),
        Outcome("alarm", "100 %", 90, 200, 150.0, "FAILED"),
        Outcome("logs", "20 %", 2, 100, None, "RUNNING"),
    ]
    text = table(outcomes, 60)
    assert "| 100 % | logs | 1 | 4 | 11.0 / 11.0 |" in text
    assert "| 100 % | alarm | 1 | 90 | 150.0 / 150.0 |" in text
    assert "| 20 % | logs | 1 | 2 | not restored |" in text
    assert "| 20 % | metrics | 0 | 0 | not restored |" in text
