"""The input of a stack release: the changed functions, their tags and the command's flags.

A stack release is configured the way the per-function EventBridge trigger configures a
rollout: from each function's `rollout:*` tags, read by the same code
(rollout_core.eventbridge.request_from_tags). A release shifts every alias together, so a
setting of the whole release (strategy, time scale, health thresholds, approval, ...) is
one value: the functions that set it must agree, or a flag must choose. Alarms add up, as
the release watches every function's alarms. Hooks stay each function's own. Flags and
`--input` win over tags.

One changed function gives the single-function input (what `rollout release --function`
starts); several give `{"functions": [...], ...}` (docs/workflow.md).
"""

from __future__ import annotations

from typing import Any

from rollout_core.errors import InvalidRolloutRequest
from rollout_core.eventbridge import ALIAS_TAG, request_from_tags
from rollout_core.validation import validate

from rollout.aws import CliError
from rollout.exits import Exit
from rollout.stack import Member, Published

PHASES = ("preTraffic", "postTraffic")  # each function's own checks
NESTED = ("health", "approval")  # objects whose keys tags and flags set one by one
ADDED_UP = "alarms"
# Only the stack decides these: which functions, and which version of each.
DECIDED_BY_THE_STACK = ("functionName", "targetVersion", "functions")


def release_input(changed: list[Published], options: dict[str, Any]) -> dict[str, Any]:
    """The StartExecution input rolling out `changed` (one or more), configured by their
    tags and `options` (the flags and --input, without functionName and alias)."""
    settings = _flat(_without(options, PHASES))
    release = _nest({**_shared_settings(changed, set(settings)), **settings})
    entries = [_entry(published, options) for published in changed]
    if len(entries) == 1:
        return {**entries[0], **release}
    return {"functions": entries, **release}


def refuse_decided_keys(options: dict[str, Any]) -> None:
    """--input may carry the release's settings, not the functions or versions."""
    given = [key for key in DECIDED_BY_THE_STACK if key in options]
    if given:
        raise CliError(
            f"--stack decides which functions and versions to roll out: drop "
            f"{', '.join(given)} from --input",
            Exit.INVALID,
        )


def check_tags(members: list[Member]) -> None:
    """Every member's `rollout:*` tags are valid settings, as Prepare checks a rollout
    its tags configure (rollout_core.validation): checked before anything is published,
    whichever functions turn out to have changed."""
    for member in members:
        name = member.function.name
        request = {**_tag_request(name, member.function.tags), "alias": member.alias}
        try:
            validate({**request, "functionName": name})
        except InvalidRolloutRequest as error:
            raise CliError(f"{name}: from its rollout:* tags: {error}", Exit.INVALID) from None


def _entry(published: Published, options: dict[str, Any]) -> dict[str, Any]:
    """One function's part: function, alias, version, and its checks (tags, then flags)."""
    entry: dict[str, Any] = {
        "functionName": published.name,
        "alias": published.member.alias,
        "targetVersion": published.version,
    }
    tagged = _tag_request(published.name, published.member.function.tags)
    for phase in PHASES:
        value = _phase(tagged.get(phase), options.get(phase))
        if value is not None:
            entry[phase] = value
    return entry


def _phase(tagged: Any, given: Any) -> Any:
    """A flag's check object adds to the tag's hook; `true`/`false` replaces it."""
    if isinstance(given, dict):
        return {**(tagged if isinstance(tagged, dict) else {}), **given}
    return tagged if given is None else given


def _shared_settings(changed: list[Published], overridden: set[str]) -> dict[str, Any]:
    """The release-wide settings the tags agree on (flattened), minus those flags set."""
    values: dict[str, dict[str, Any]] = {}  # setting → {function: value}
    tags: dict[str, str] = {}  # setting → the tag that sets it, for messages
    for published in changed:
        for tag, text in published.member.function.tags.items():
            if not tag.startswith("rollout:") or tag == ALIAS_TAG:
                continue
            for key, value in _flat(_tag_request(published.name, {tag: text})).items():
                if key.split(".")[0] not in PHASES and key not in overridden:
                    values.setdefault(key, {})[published.name] = value
                    tags[key] = tag
    return {key: _agreed(key, tags[key], by_function) for key, by_function in values.items()}


def _agreed(key: str, tag: str, by_function: dict[str, Any]) -> Any:
    if key == ADDED_UP:
        return list(dict.fromkeys(name for names in by_function.values() for name in names))
    distinct = {repr(value) for value in by_function.values()}
    if len(distinct) == 1:
        return next(iter(by_function.values()))
    told = ", ".join(f"{name}: {value}" for name, value in by_function.items())
    raise CliError(
        f"the functions' {tag} tags disagree ({told}), and a release has one {key}: "
        "choose with a flag or --input",
        Exit.INVALID,
    )


def _tag_request(function: str, tags: dict[str, str]) -> dict[str, Any]:
    """What these tags of the function ask for (request keys), without function, version
    and alias, which the release decides."""
    try:
        request = request_from_tags(function, "0", tags)
    except InvalidRolloutRequest as error:
        raise CliError(f"{function}: {error}", Exit.INVALID) from None
    return _without(request, ("functionName", "targetVersion", "alias"))


def _without(document: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in keys}


def _flat(document: dict[str, Any]) -> dict[str, Any]:
    """`{"health": {"minInvocations": 5}}` → `{"health.minInvocations": 5}`, for the
    objects whose keys are set one by one (a custom strategy stays whole)."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        if key in (*NESTED, *PHASES) and isinstance(value, dict):
            flat.update({f"{key}.{sub}": item for sub, item in value.items()})
        else:
            flat[key] = value
    return flat


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for dotted, value in flat.items():
        key, _, sub = dotted.partition(".")
        if sub:
            document.setdefault(key, {})[sub] = value
        else:
            document[key] = value
    return document
