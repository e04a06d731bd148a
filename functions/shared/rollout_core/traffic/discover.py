"""Discovery: every traffic source of the functions a rollout moves, read once in Prepare.

`discover` reads each function's aliases, then the sources in as few calls as each API
allows (the modules of this package), and returns one `FunctionTraffic` per function for
the plan. A permission statement whose source another read explains (the rule, topic or API
it names was found invoking the function, or the URL it allows was listed) is shown as that
source; one nothing explains is listed as the permission it is.

`refusal` and `notes` say what the plan's `bypass` setting makes of the result: refused
before anything moves ("fail"), or listed in the plan's notes ("warn"); what could not be
read is always a note.
"""

from __future__ import annotations

from .. import clients
from ..models import FunctionTraffic, TrafficSource
from . import apis, mappings, policies, rules, schedules, subscriptions, urls
from .policies import Grant
from .reading import Reading, attempt
from .subject import Subject

MAX_ALIASES = 20
FIX = (
    "point each at the alias instead (a mapping's FunctionName, a rule's, schedule's or "
    "subscription's target, an integration's URI, a permission's qualifier: the alias ARN; "
    "in a SAM template, declare the source on the rolled alias, as README.md's 'Use it with "
    'your SAM app\' shows), or set bypass to "warn" to roll out anyway'
)


def discover(subjects: list[Subject]) -> list[FunctionTraffic]:
    readings = [Reading() for _ in subjects]
    subjects = [_with_aliases(s, r) for s, r in zip(subjects, readings, strict=True)]
    mappings.read(subjects, readings)
    schedules.read(subjects, readings)
    for subject, reading in zip(subjects, readings, strict=True):
        _read_function(subject, reading)
    return [
        FunctionTraffic(
            functionName=subject.function_name,
            alias=subject.alias,
            sources=reading.sources,
            unread=reading.unread,
        )
        for subject, reading in zip(subjects, readings, strict=True)
    ]


def _with_aliases(subject: Subject, reading: Reading) -> Subject:
    what = f"aliases of {subject.function_name} (ListAliases)"
    names = attempt(reading.unread, what, lambda: _alias_names(subject))
    if names is None:
        return subject
    if len(names) > MAX_ALIASES:
        reading.unread.append(
            f"{subject.function_name}: the permissions and rule targets of "
            f"{len(names) - MAX_ALIASES} more aliases were not read"
        )
    return Subject(
        subject.function_name,
        subject.function_arn,
        subject.alias,
        subject.versions,
        tuple(names[:MAX_ALIASES]),
    )


def _alias_names(subject: Subject) -> list[str]:
    pages = clients.lambda_().get_paginator("list_aliases")
    return [
        str(alias["Name"])
        for page in pages.paginate(FunctionName=subject.function_name)
        for alias in page.get("Aliases", [])
    ]


def _read_function(subject: Subject, reading: Reading) -> None:
    grants = policies.read(subject, reading)
    urls_read = urls.read(subject, reading)
    named = [g.source_arn for g in grants if g.source_arn]
    rules.read(subject, reading, {rules.bus_of(a) for a in named if ":rule/" in a})
    subscriptions.read(
        subject, reading, [a for a in named if a.startswith("arn:") and ":sns:" in a]
    )
    apis.read(subject, reading, [api for a in named if (api := apis.api_of(a))])
    for grant in grants:
        if not _explained(grant, reading.sources, urls_read):
            reading.add(_permission(grant))


def _explained(grant: Grant, sources: list[TrafficSource], urls_read: bool) -> bool:
    if grant.function_url:
        return urls_read
    if grant.source_arn is None:
        return False
    named = {grant.source_arn, apis.api_of(grant.source_arn)}
    return any(source.source in named for source in sources if source.kind != "permission")


def _permission(grant: Grant) -> TrafficSource:
    return TrafficSource(
        kind="permission",
        source=grant.source_arn or grant.principal,
        qualifier=grant.qualifier,
        detail=f"principal {grant.principal}",
    )


def refusal(traffic: list[FunctionTraffic]) -> str | None:
    """InvalidRolloutRequest's message when sources bypass a rolled alias (bypass "fail")."""
    lines = [_bypass_line(found, source) for found in traffic for source in found.bypasses]
    if not lines:
        return None
    rolled = ", ".join(f"{f.functionName}:{f.alias}" for f in traffic if f.bypasses)
    return f"bypass: traffic reaches {rolled} around the alias: {'; '.join(lines)}; {FIX}"


def notes(traffic: list[FunctionTraffic], bypass: str) -> list[str]:
    """The plan's notes: each bypass the rollout goes on with ("warn"), each unread source."""
    found = []
    if bypass == "warn":
        found += [
            f"traffic: {_bypass_line(f, s)}, not {f.alias}: its traffic doesn't follow the rollout"
            for f in traffic
            for s in f.bypasses
        ]
    found += [f"traffic: {note}" for f in traffic for note in f.unread]
    return found


def _bypass_line(found: FunctionTraffic, source: TrafficSource) -> str:
    detail = f" ({source.detail})" if source.detail else ""
    return f"{source.kind} {source.source}{detail} invokes {found.functionName}:{source.qualifier}"
