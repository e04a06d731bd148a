"""One boto3 client per cloud, service and config in a test process.

Building a client costs 3-7 ms of CPU (botocore loads and wires the service model), and
test helpers asked for one per call: per poll, per scenario, per sample function. Clients
are thread-safe (boto3 docs: "Low-level clients are thread safe"), so the scenarios a
module runs at once share them. Building is serialised: boto3's default session is not
safe to build clients on from several threads. A test that changes a client (registers
an event handler, stubs it) builds its own with `cloud.client`.

A helper's client retries throttling as a careful script does (`cloud.client`'s default,
PATIENT_RETRIES) unless it says otherwise: the harness shares each account's API quotas
with the rollouts under test, and its set-up or polling giving up after the SDK's three
attempts failed tests in one order and not another.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from rollout.local.cloud import LocalCloud

_clients: dict[tuple[str, str, str, str], Any] = {}
_building = threading.Lock()


def shared_client(cloud: Any, service: str, **config: Any) -> Any:
    """`cloud.client(service, **config)`, built once per process for an in-process
    `LocalCloud` (its endpoint names it); any other cloud builds a client per call."""
    if not isinstance(cloud, LocalCloud):
        return cloud.client(service, **config)
    key = (cloud.endpoint, cloud.region, service, json.dumps(config, sort_keys=True, default=repr))
    with _building:
        if key not in _clients:
            _clients[key] = cloud.client(service, **config)
        return _clients[key]
