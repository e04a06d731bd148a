"""The task clients seam: moto's interpreter reuses one client per Region, service, endpoint."""

from __future__ import annotations

import importlib
import inspect
import pathlib
import re
from concurrent.futures import ThreadPoolExecutor

import moto
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
from moto.stepfunctions.parser.asl.utils import boto_client

from rollout.local.cloud import LocalCloud
from rollout.local.task_clients import CALLERS, POOL_CONNECTIONS, SharedTaskClients

LAMBDA_TASKS = importlib.import_module(
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils"
)


def test_tasks_share_one_client_per_region_and_service(cloud: LocalCloud):
    with ThreadPoolExecutor(8) as pool:
        clients = set(
            pool.map(lambda _: id(LAMBDA_TASKS.boto_client_for(cloud.region, "lambda")), range(16))
        )
    assert len(clients) == 1
    assert LAMBDA_TASKS.boto_client_for(cloud.region, "lambda") is not (
        LAMBDA_TASKS.boto_client_for(cloud.region, "stepfunctions")
    )
    assert LAMBDA_TASKS.boto_client_for("eu-west-1", "lambda") is not (
        LAMBDA_TASKS.boto_client_for(cloud.region, "lambda")
    )


def test_shared_clients_keep_motos_settings_with_a_bigger_pool(cloud: LocalCloud):
    client = LAMBDA_TASKS.boto_client_for(cloud.region, "lambda")
    assert client.meta.endpoint_url == f"http://localhost:{cloud.port}"
    assert client.meta.config.max_pool_connections == POOL_CONNECTIONS
    assert client.meta.config.retries["total_max_attempts"] == 1
    assert client.meta.config.read_timeout == TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS
    assert client.list_functions()["ResponseMetadata"]["HTTPStatusCode"] == 200


# -- contract with moto ---------------------------------------------------------------------


def test_every_module_that_builds_task_clients_is_patched():
    root = pathlib.Path(moto.__file__).parent
    importing = {
        ".".join(("moto", *path.relative_to(root).with_suffix("").parts))
        for path in root.rglob("*.py")
        if re.search(r"import boto_client_for\b", path.read_text())
    }
    assert importing == set(CALLERS)


def test_moto_builds_task_clients_as_the_seam_expects():
    original = boto_client.boto_client_for
    original = getattr(original, "__wrapped__", original)
    assert list(inspect.signature(original).parameters) == [
        "region",
        "service",
        "state_credentials",
    ]
    source = inspect.getsource(original)
    assert "config=Config(" in source  # the seam's bigger pool goes in through Config
    assert "state_credentials" not in source.split(")", 1)[1]  # moto ignores it


def test_uninstall_restores_what_was_there(cloud: LocalCloud):
    """Installed over the shared cloud's own seam, uninstall puts that one back exactly."""
    before = [vars(importlib.import_module(name))["boto_client_for"] for name in CALLERS]
    config = boto_client.Config
    seam = SharedTaskClients()
    seam.install(cloud)
    assert LAMBDA_TASKS.boto_client_for is not before[CALLERS.index(LAMBDA_TASKS.__name__)]
    seam.uninstall()
    after = [vars(importlib.import_module(name))["boto_client_for"] for name in CALLERS]
    assert after == before
    assert boto_client.Config is config
