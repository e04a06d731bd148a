"""LocalCloud itself: each one starts empty; a busy port is a clear error."""

import socket

import pytest

from rollout.local.cloud import LocalCloud


def test_a_new_cloud_starts_empty(isolated_cloud):
    with isolated_cloud(seams=[]) as first:
        first.client("sqs").create_queue(QueueName="left-behind")
    with isolated_cloud(seams=[]) as second:
        assert second.client("sqs").list_queues().get("QueueUrls", []) == []


def test_a_busy_port_is_refused_clearly(cloud_manager):
    cloud_manager.release_shared()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"port {port} on 127.0.0.1 is in use"):
            LocalCloud(port=port, template=None, seams=[]).start()
