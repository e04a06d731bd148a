"""Step Functions seam: execution names and status-change events as AWS has them.

moto 5.2.5 names a nameless execution "None" (so the second nameless start fails with
ExecutionAlreadyExists), accepts inputs over the 256 KB limit, answers input that isn't
JSON with an error that has no code (StartExecution: InvalidExecutionInput, "The provided
JSON input data is invalid"), and never puts "Step Functions Execution Status Change" events
on the default bus. The interpreter runs each execution in a thread that calls
`BaseExecutionWorkerCommunication.terminated()` once the program has ended — succeeded,
failed, timed out, or stopped by StopExecution — so that is the one place to hook.

A stopped execution stays stopped: "StopExecution … Stops an execution", whose status is
then ABORTED (StopExecution, AWS Step Functions API Reference,
https://docs.aws.amazon.com/step-functions/latest/apireference/API_StopExecution.html).
moto's `Environment.set_error` (and `set_timed_out`) overwrite the ProgramStopped state,
so a task still running when the stop came (a `.waitForTaskToken` wait, which blocks until
its timeout) ends the execution FAILED when its timeout is caught. The seam leaves a
stopped program as it is.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import threading
import uuid
from typing import Any

from antlr4 import CommonTokenStream, InputStream, ParserRuleContext
from moto.stepfunctions.exceptions import InvalidExecutionInput, ValidationException
from moto.stepfunctions.parser.api import ExecutionStatus, StateMachineType
from moto.stepfunctions.parser.asl.antlr.runtime.ASLLexer import ASLLexer
from moto.stepfunctions.parser.asl.antlr.runtime.ASLParser import ASLParser
from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.asl.parse.asl_parser import (
    AmazonStateLanguageParser,
    ASLParserException,
    SyntaxErrorListener,
)
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.backend.execution import (
    BaseExecutionWorkerCommunication,
    Execution,
)
from moto.stepfunctions.parser.models import StepFunctionsParserBackend

from rollout.local.eventbridge import put_service_event
from rollout.local.patching import Patches
from rollout.local.seam import Cloud

logger = logging.getLogger(__name__)

DETAIL_TYPE = "Step Functions Execution Status Change"
TERMINAL = frozenset(
    {
        ExecutionStatus.SUCCEEDED,
        ExecutionStatus.FAILED,
        ExecutionStatus.TIMED_OUT,
        ExecutionStatus.ABORTED,
    }
)


def _epoch_ms(moment: datetime.datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def status_change_detail(execution: Execution) -> dict[str, Any]:
    """The event `detail` AWS sends for an execution, built from DescribeExecution."""
    described = execution.to_describe_output()
    listed = execution.to_execution_list_item()
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": listed["stateMachineArn"],
        "stateMachineVersionArn": listed.get("stateMachineVersionArn"),
        "stateMachineAliasArn": None,
        "name": execution.name,
        "status": execution.status,
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": _epoch_ms(execution.stop_date),
        "input": described.get("input"),
        "output": described.get("output"),
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if "output" in described else None,
        "error": execution.error,
        "cause": execution.cause,
        "redriveCount": 0,
        "redriveDate": None,
        "redriveStatus": "NOT_REDRIVABLE",
        "redriveStatusReason": "Execution is not redrivable",
    }


def emit_status_change(execution: Execution) -> None:
    """Put the status-change event of a Standard execution on the default bus."""
    if execution.exec_status not in TERMINAL:
        return
    if execution.state_machine.sm_type != StateMachineType.STANDARD:
        return  # Express workflows send no status-change events on AWS
    put_service_event(
        execution.account_id,
        execution.region_name,
        "aws.states",
        DETAIL_TYPE,
        status_change_detail(execution),
        [execution.exec_arn],
    )


class StepFunctionsEvents:
    """Names nameless executions with a UUID; emits terminal status-change events."""

    def __init__(self) -> None:
        self._patches = Patches()

    def install(self, cloud: Cloud) -> None:
        # Read the originals first: each replacement delegates to the method it replaces.
        start = StepFunctionsParserBackend.start_execution
        terminated = BaseExecutionWorkerCommunication.terminated
        parse = AmazonStateLanguageParser.parse
        self._patches.replace(StepFunctionsParserBackend, "start_execution", _named(start))
        self._patches.replace(
            BaseExecutionWorkerCommunication, "terminated", _announcing(terminated)
        )
        self._patches.replace(AmazonStateLanguageParser, "parse", _one_at_a_time(parse))
        for name in ("set_error", "set_timed_out"):
            self._patches.replace(Environment, name, _unless_stopped(getattr(Environment, name)))

    def uninstall(self) -> None:
        self._patches.undo()


def _unless_stopped(original: Any) -> Any:
    """The program's end, unless StopExecution ended it first (it stays ABORTED)."""

    @functools.wraps(original)
    def ending(self: Environment, *args: Any, **kwargs: Any) -> None:
        if isinstance(self._program_state, ProgramStopped):
            return
        original(self, *args, **kwargs)

    return ending


MAX_INPUT_BYTES = 262_144  # StartExecution's limit on input, in UTF-8 bytes (moto has none)


def _named(original: Any) -> Any:
    @functools.wraps(original)
    def start_execution(
        self: StepFunctionsParserBackend,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: str | None = None,
        trace_header: str | None = None,
    ) -> Execution:
        if execution_input is not None and len(execution_input.encode()) > MAX_INPUT_BYTES:
            raise ValidationException(
                "1 validation error detected: Value at 'input' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_INPUT_BYTES}"
            )
        _json_input(execution_input)
        return original(
            self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header
        )

    return start_execution


def _json_input(execution_input: str | None) -> None:
    """StartExecution refuses input that isn't JSON (InvalidExecutionInput, HTTP 400)."""
    if execution_input is None:
        return
    try:
        json.loads(execution_input)
    except ValueError as error:
        raise InvalidExecutionInput(f"Invalid State Machine Execution Input: '{error}'") from None


_PARSING = threading.Lock()
TREES_KEPT = 32  # distinct definitions whose parse trees are kept (a cloud has a handful)


def _one_at_a_time(original: Any) -> Any:
    """moto's ASL preprocessor keeps its query-language scope stack in a class attribute, so
    executions starting at once corrupt each other's parse (IndexError: the execution's
    thread dies and it stays RUNNING forever): parses are serialised.

    moto parses the definition again for every execution, and its pure-Python ANTLR parse
    costs 0.15 to 0.3 s of CPU for the rollout workflow. The parse tree depends on the text
    alone and nothing writes to it, so it is kept per definition; each call still builds
    the execution's own program from it, as moto does, so no execution shares a
    component with another. A definition with syntax errors raises as moto's parse does."""

    @functools.wraps(original)
    def parse(definition: str) -> tuple[EvalComponent, ParserRuleContext]:
        with _PARSING:
            tree = _parse_tree(definition)
            return Preprocessor().visit(tree), tree

    return staticmethod(parse)


@functools.lru_cache(maxsize=TREES_KEPT)
def _parse_tree(definition: str) -> ParserRuleContext:
    """moto's lexing and parsing (`AmazonStateLanguageParser.parse`), without its preprocessing."""
    errors = SyntaxErrorListener()
    parser = ASLParser(CommonTokenStream(ASLLexer(InputStream(definition))))
    parser.removeErrorListeners()
    parser.addErrorListener(errors)
    tree = parser.state_machine()
    if errors.errors:
        raise ASLParserException(errors=errors.errors)  # not cached: lru_cache keeps returns
    return tree


def _announcing(original: Any) -> Any:
    @functools.wraps(original)
    def terminated(self: BaseExecutionWorkerCommunication) -> None:
        original(self)
        try:
            emit_status_change(self.execution)
        except Exception:
            # This runs on the interpreter's thread: never let an event break the run.
            logger.exception(
                "could not emit status change", extra={"execution": self.execution.exec_arn}
            )

    return terminated
