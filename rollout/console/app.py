"""The console put together: `open_console`, for `rollout console` and `rollout demo`."""

from __future__ import annotations

from rollout.aws import AwsContext, find_state_machine
from rollout.commands.control import caller
from rollout.console.access import Access, new_token
from rollout.console.live import Live
from rollout.console.server import Console, ConsoleServer

# Every client the console uses, made before its threads start (a boto3 Session is not
# safe to make clients from in several threads at once; the clients themselves are).
SERVICES = ("stepfunctions", "lambda", "dynamodb", "sts", "cloudformation")


def open_console(
    aws: AwsContext, state_machine: str | None = None, host: str = "127.0.0.1", port: int = 8080
) -> ConsoleServer:
    """The console for the rollout state machine, serving (call `.stop()` to end it)."""
    for service in SERVICES:
        aws.client(service)
    machine = find_state_machine(aws, state_machine)
    identity = caller(aws.client("sts"))
    live = Live(aws.client("stepfunctions"), machine).start()
    console = Console(aws, machine, identity, live, Access(new_token(), host, port))
    try:
        return ConsoleServer(console).start()
    except OSError:
        live.stop()
        raise
