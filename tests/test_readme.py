"""The README is a contract with its readers: what it shows must be what the code does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from rollout_core.validation import ValidPipeline, validate_input

from rollout.cli import build_parser
from rollout.exits import Exit

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_quick_start_is_exactly_make_demo_and_make_test():
    block = re.search(r"```sh\n(.*?)```", _section("Quick start"), re.S)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]


def test_the_console_sample_is_the_events_file():
    match = re.search(r"\(events/console/([\w-]+\.json)\).*?```json\n(.*?)```", README, re.S)
    assert match is not None
    shown = json.loads(match.group(2))
    assert shown == json.loads((REPO / "events/console" / match.group(1)).read_text())


def test_every_command_in_the_table_exists():
    subcommands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    named = re.findall(r"^\| `rollout (\w+)(?: (\w+))?", _section("Commands"), re.M)
    assert named, "the Commands table lists no command"
    for command, action in named:
        assert command in subcommands, command
        if command == "local":
            local_actions = subcommands["local"]._subparsers._group_actions[0].choices
            assert action in local_actions, action
    assert {command for command, _ in named} == set(subcommands)


def test_layout_lists_paths_that_exist():
    block = re.search(r"```\n(.*?)```", _section("Layout"), re.S)
    assert block is not None
    for line in block.group(1).splitlines():
        if line.startswith(" "):
            continue  # a description carried over from the line above
        path = line.split()[0]
        concrete = path.replace("<task>", "prepare")
        assert (REPO / concrete).exists(), path


def test_parameters_table_matches_the_template():
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load((REPO / "template.yaml").read_text(), Loader=Loader)
    rows = re.findall(r"^\| `(\w+)` \| `?([^|`]*?)`? \|", _section("Deploy to AWS"), re.M)
    documented = dict(rows)
    assert set(documented) == set(template["Parameters"])
    for name, default in documented.items():
        expected = str(template["Parameters"][name].get("Default", ""))
        assert default == (expected or "empty"), name


def _tables(text: str) -> list[str]:
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            tables.append("\n".join(current))
            current = []
    return tables


def test_schema_presets_and_tags_are_the_contracts_tables():
    """The README quotes docs/workflow.md's tables; links are rebased from docs/ to the root."""
    start, end = README.index("<!-- schema:start"), README.index("<!-- schema:end -->")
    quoted = _tables(README[start:end])
    contract = (REPO / "docs/workflow.md").read_text()
    rebased = (
        contract.replace("(security.md)", "(docs/security.md)")
        .replace("(#checks-and-health)", "(docs/workflow.md#checks-and-health)")
        .replace("(#strategies-and-presets)", "(#strategies)")
        .replace(
            "(#releases-of-several-functions)", "(docs/workflow.md#releases-of-several-functions)"
        )
    )
    assert len(quoted) == 4  # input, presets, strategy objects, tags
    for table in quoted:
        assert table in _tables(rebased), table.splitlines()[0]


def test_the_benchmark_figures_are_the_block_make_bench_writes():
    """benchmarks/report.py replaces what is between the markers; figures outside it would
    be hand-copied and go stale."""
    from benchmarks.report import README_END, README_START

    start, end = README.index(README_START), README.index(README_END)
    block = README[start:end]
    assert "| target | measured | |" in block
    assert "| failing | way | checks | runs |" in block
    assert "| target | measured |" not in README[:start] + README[end:]


def test_the_exit_codes_table_is_the_exit_codes_module():
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \|", _section("Commands"), re.M)
    assert [(int(code), name) for code, name in rows] == [(e.value, e.name) for e in Exit]


def test_the_waves_example_is_the_events_file_and_a_valid_pipeline():
    section = _section("Waves: one release across Regions and accounts")
    match = re.search(r"\(events/pipeline/([\w-]+\.json)\).*?```json\n(.*?)```", section, re.S)
    assert match is not None
    shown = json.loads(match.group(2))
    assert shown == json.loads((REPO / "events/pipeline" / match.group(1)).read_text())
    assert isinstance(validate_input(shown), ValidPipeline)
