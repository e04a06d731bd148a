"""The per-alias lock: one owner, idempotent for that owner, released only by it."""

import pytest
from rollout_core import lock
from rollout_core.errors import RolloutInProgress

KEY = "orders:live"


def test_one_owner_at_a_time(world):
    lock.acquire(world.table, KEY, "run-1", 600)
    with pytest.raises(RolloutInProgress, match="orders:live is being rolled out by run-1"):
        lock.acquire(world.table, KEY, "run-2", 600)
    assert world.lock_owner() == "run-1"


def test_same_owner_reacquires(world):
    lock.acquire(world.table, KEY, "run-1", 600)
    lock.acquire(world.table, KEY, "run-1", 600)
    assert world.lock_owner() == "run-1"


def test_only_the_owner_releases(world):
    lock.acquire(world.table, KEY, "run-1", 600)
    assert lock.release(world.table, KEY, "run-2") is False
    assert world.lock_owner() == "run-1"
    assert lock.release(world.table, KEY, "run-1") is True
    assert lock.release(world.table, KEY, "run-1") is False  # already released
    assert world.lock_owner() is None


def test_an_expired_lock_is_taken_over(world):
    lock.acquire(world.table, KEY, "crashed-run", -1)  # already past its TTL
    assert lock.holder_of(world.table, KEY) is None
    lock.acquire(world.table, KEY, "run-2", 600)
    assert world.lock_owner() == "run-2"


def test_the_lock_item_has_a_ttl(world):
    lock.acquire(world.table, KEY, "run-1", 600)
    item = world.ddb.get_item(TableName=world.table, Key={"lockKey": {"S": KEY}})["Item"]
    assert int(item["expiresAt"]["N"]) - int(item["acquiredAt"]["N"]) == 600


def test_a_failed_prepare_releases_only_the_locks_it_holds(world):
    """Prepare failed after taking its lock: no plan names the key, the owner finds it."""
    lock.acquire(world.table, KEY, "run-1", 600)
    lock.acquire(world.table, "billing:live", "run-2", 600)
    assert lock.release_held_by(world.table, "run-1") == [KEY]
    assert world.lock_owner() is None
    assert lock.holder_of(world.table, "billing:live") == "run-2"
    assert lock.release_held_by(world.table, "run-1") == []  # a retry finds nothing


@pytest.mark.parametrize(
    "function",
    [
        "orders",
        "arn:aws:lambda:us-east-1:123456789012:function:orders",
        "arn:aws:lambda:us-east-1:123456789012:function:orders:live",
    ],
)
def test_a_lock_is_keyed_by_the_functions_bare_name(function):
    assert lock.lock_key(lock.function_key(function), "live") == KEY
