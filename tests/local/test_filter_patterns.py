"""CloudWatch Logs filter patterns (rollout/local/filter_patterns.py), on the examples of
AWS's "Filter pattern syntax" page and on the lines Lambda writes."""

from __future__ import annotations

import json

import pytest

from rollout.local.filter_patterns import FilterPatternError, UnsupportedPattern, compile_pattern

# The page's JSON examples.
TRAIL = json.dumps(
    {
        "eventType": "UpdateTrail",
        "sourceIPAddress": "111.111.111.111",
        "arrayKey": ["value", "another value"],
        "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}],
        "SomeObject": None,
        "ThisFlag": True,
    }
)
USERS = json.dumps(
    {
        "user": {"id": 1, "email": "John.Stiles@example.com"},
        "users": [
            {"id": 2, "email": "John.Doe@example.com"},
            {"id": 3, "email": "Jane.Doe@example.com"},
        ],
        "actions": ["GET", "PUT", "DELETE"],
        "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]],
    }
)
REPORT_TEXT = (
    "REPORT RequestId: 6234bffe-149a-b642-81ff-2e8e376d8aff\tDuration: 46.84 ms\t"
    "Billed Duration: 47 ms\tMemory Size: 192 MB\tMax Memory Used: 72 MB"
)
REPORT_JSON = json.dumps(
    {
        "time": "2026-10-08T06:53:49.283Z",
        "type": "platform.report",
        "record": {"requestId": "43a951b3", "metrics": {"durationMs": 2.761}, "status": "success"},
    }
)


def matches(pattern: str, message: str) -> bool:
    return compile_pattern(pattern)(message)


@pytest.mark.parametrize("pattern", ["", "   ", None])
def test_the_empty_pattern_matches_everything(pattern):
    assert compile_pattern(pattern)("anything at all")


def test_terms_are_case_sensitive_substrings_and_all_are_required():
    assert matches("ERROR", "[ERROR] A fatal exception has occurred")
    assert matches("ERROR", "Exiting with ERRORCODE: -1")
    assert not matches("ERROR", "error in lower case")
    assert matches("ERROR Exception", "[ERROR] Caught IllegalArgumentException")
    assert not matches("ERROR Exception", "[ERROR] all good")


def test_quoted_terms_are_exact_phrases_and_minus_excludes():
    assert matches('"Failed to process"', "[WARN] Failed to process the request")
    assert not matches('"Failed to process"', "[WARN] Failed: to process")
    assert not matches('"ERROR" - "Exiting"', "Exiting with ERRORCODE: -1")
    assert matches('"ERROR" - "Exiting"', "[ERROR] A fatal exception has occurred")
    assert matches("ERROR -WARN", "ERROR message")
    assert not matches("ERROR -WARN", "ERROR WARN message")
    assert matches('"REPORT RequestId:"', REPORT_TEXT)


def test_question_marks_are_or():
    for message, expected in (("ERROR WARN message", True), ("WARN message", True), ("x", False)):
        assert matches("?ERROR ?WARN", message) is expected
    assert matches('?"REPORT RequestId" ?"[ERROR]"', "[ERROR] ValueError: boom")


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ $.eventType = "UpdateTrail" }', True),
        ("{ $.eventType = UpdateTrail }", True),
        ('{ $.eventType = "Update" }', False),
        ("{ $.eventType = Update* }", True),
        ("{ $.eventType = *Trail }", True),
        ("{ $.eventType = Up*ail }", False),
        ("{ $.sourceIPAddress != 123.123.* }", True),
        ('{ $.arrayKey[0] = "value" }', True),
        ("{ $.objectList[1].id = 2 }", True),
        ("{ $.objectList[1].id > 1 }", True),
        ("{ $.objectList[1].id >= 3 }", False),
        ("{ $.SomeObject IS NULL }", True),
        ("{ $.SomeOtherObject NOT EXISTS }", True),
        ("{ $.eventType NOT EXISTS }", False),
        ("{ $.ThisFlag IS TRUE }", True),
        ("{ $.ThisFlag IS FALSE }", False),
        ("{ $.arrayKey = value }", False),  # an array is not a value node: no match either way
        ("{ $.arrayKey != value }", False),
        ("{ $.eventType = * }", True),
        ("{ $.missing = * }", False),
        ("{ $.missing != x }", False),
    ],
)
def test_json_conditions_on_the_pages_examples(pattern, expected):
    assert matches(pattern, TRAIL) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ('{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }', True),
        ('{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }', False),
        (
            '{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch'
            " && $.actions[2] = nomatch }",
            True,
        ),
        (
            '{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = nonmatch)'
            " && $.actions[2] = nomatch }",
            False,
        ),
    ],
)
def test_json_compound_conditions_follow_the_order_of_operations(pattern, expected):
    assert matches(pattern, USERS) is expected


def test_json_patterns_on_lambdas_json_log_format():
    assert matches('{ $.type = "platform.report" }', REPORT_JSON)
    assert matches('{ $.type = "platform.report" || $.level = "ERROR" }', REPORT_JSON)
    assert not matches('{ $.type = "platform.report" }', REPORT_TEXT)  # not JSON: no match
    assert matches("{ $.record.metrics.durationMs < 10 }", REPORT_JSON)


def test_regular_expressions():
    assert matches("%Duration: [0-9.]+ ms%", REPORT_TEXT)
    assert not matches("%^START%", REPORT_TEXT)
    assert matches("{ $.record.status = %succ|err% }", REPORT_JSON)


@pytest.mark.parametrize(
    "pattern",
    ['"unclosed', "{ $.a = }", "{ $.a = 1", "{ a = 1 }", "{ $.a < text }", "{ ($.a = 1 }"],
)
def test_invalid_patterns_are_refused(pattern):
    with pytest.raises(FilterPatternError):
        compile_pattern(pattern)


def test_space_delimited_patterns_are_refused_as_unsupported():
    with pytest.raises(UnsupportedPattern, match="space-delimited"):
        compile_pattern("[ip, user, ..., status_code = 4*, bytes]")
