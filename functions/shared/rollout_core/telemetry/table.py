"""The telemetry table (template.yaml `TelemetryTable`: key `pk`, `sk`, TTL `expiresAt`):
every kind of item, its key, and who writes and reads it. Each kind has one module that
owns its attributes, its reads and its conditional writes.

| pk | sk | item | module |
| --- | --- | --- | --- |
| `v#<function>#<version>` | `c#<bucket>#<shard>` | invocations, failures | counts |
| `v#<function>#<version>` | `s#<bucket>#<shard>` | per-invocation samples | counts |
| `alarm#<name>` | `state` | the alarm's pushed state, who watches it | alarm_states |
| `rollout#<execution>` | `watch` | the waiting task's token, what wakes it | watches |
| `function#<function>` | `<execution>` | a rollout watching this function | watches |
| `group#<log group>` | `lease` | the rollouts using its subscription filter | subscriptions |
| `budget#<API>` | `bucket` | a token bucket every rollout of the account shares | budget |

Every item expires (DynamoDB TTL) after KEEP_SECONDS at the latest: longer than the
longest execution (266,400 s), so nothing a running rollout needs expires under it, and
nothing a rollout left behind stays.
"""

from __future__ import annotations

import time
from typing import Any

from .. import settings

PK, SK, EXPIRES = "pk", "sk", "expiresAt"
KEEP_SECONDS = 4 * 24 * 3600


def name() -> str:
    return settings.required(settings.load().telemetry_table, "TELEMETRY_TABLE")


def key(pk: str, sk: str) -> dict[str, Any]:
    return {PK: {"S": pk}, SK: {"S": sk}}


def expiry(seconds: float = KEEP_SECONDS) -> dict[str, str]:
    return {"N": str(int(time.time() + seconds))}


def now_ms() -> int:
    """Epoch milliseconds: the table's clock (every Lambda's clock is NTP-synchronised)."""
    return int(time.time() * 1000)
