from rollout.cli import main
from rollout.graph import load_definition, mermaid, node_id
from tests.conftest import REPO

TINY = {
    "StartAt": "Check health",
    "States": {
        "Check health": {
            "Type": "Task",
            "Next": "Done?",
            "Catch": [{"ErrorEquals": ["HealthCheckFailed"], "Next": "Roll back"}],
        },
        "Done?": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.done",
                    "BooleanEquals": True,
                    "Next": "Rolled out",
                    "Comment": "step done",
                }
            ],
            "Default": "Check health",
        },
        "Roll back": {"Type": "Fail", "Error": "X"},
        "Rolled out": {"Type": "Succeed"},
    },
}


def test_every_state_and_edge_is_drawn():
    text = mermaid(TINY)
    assert text.startswith("flowchart TD\n  start((Start)) --> Check_health\n")
    assert '  Done{"Done?"}' in text
    assert '  Check_health -.->|"HealthCheckFailed"| Roll_back' in text
    assert '  Done -->|"step done"| Rolled_out' in text
    assert '  Done -->|"otherwise"| Check_health' in text
    assert "  class Roll_back fail" in text
    assert "  class Rolled_out succeed" in text


def test_node_ids_are_mermaid_safe():
    assert node_id("Wait for next check") == "Wait_for_next_check"
    assert node_id("Roll out?") == "Roll_out"


def test_graph_command_prints_the_diagram(tmp_path, capsys):
    import json

    path = tmp_path / "tiny.asl.json"
    path.write_text(json.dumps(TINY))
    assert main(["graph", "--definition", str(path)]) == 0
    assert capsys.readouterr().out == mermaid(TINY)


def test_the_readme_diagram_is_the_generated_one():
    """The README shows `rollout graph`'s output for the real ASL; regenerate it when this fails."""
    readme = (REPO / "README.md").read_text()
    start = readme.index("-->", readme.index("<!-- graph:start")) + len("-->")
    section = readme[start : readme.index("<!-- graph:end -->")]

    assert section.strip() == f"```mermaid\n{mermaid(load_definition())}```"
