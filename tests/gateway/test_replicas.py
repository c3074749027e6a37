"""Replicas sharing Redis: a key deleted at one is refused at every other at once.

Each replica remembers resolved keys; these tests give that memory 10 minutes, so
only the revocation announcement can make the other replica refuse in time.
"""

import time
from collections.abc import Callable
from typing import NamedTuple

import httpx
import pytest
from redis import Redis

from computemesh.gateway.auth import revocations
from tests.gateway import harness
from tests.gateway.conftest import Wallet, bearer, new_key

StartGateway = Callable[..., harness.Process]
CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}]}
LONG_CACHE_S = "600"
# Announcements arrive in milliseconds; this only bounds a slow CI box.
REFUSED_WITHIN_S = 5.0


def _chat(url: str, key: str) -> int:
    response = httpx.post(url + "/api/v1/chat/completions", json=CHAT, headers=bearer(key))
    return response.status_code


def _refused_within(url: str, key: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _chat(url, key) == 401:
            return True
        time.sleep(0.05)
    return False


class Replicas(NamedTuple):
    """Two gateway URLs, and a key (with its id and owner's login) the second remembers."""

    first: str
    second: str
    key: str
    key_id: str
    token: str

    def delete_key_at_first(self) -> None:
        http = httpx.Client(base_url=self.first, timeout=30)
        deleted = http.delete(f"/api/api-keys/{self.key_id}", headers=bearer(self.token))
        assert deleted.json() == {"success": True}


def _key_remembered_by_second(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str, **settings: str
) -> Replicas:
    """Two replicas; a key created at the first and used (so remembered) at the second."""
    first = start_gateway([upstream.url], sqlite_url, key_cache_ttl=LONG_CACHE_S, **settings)
    second = start_gateway([upstream.url], sqlite_url, key_cache_ttl=LONG_CACHE_S, **settings)
    http = httpx.Client(base_url=first.url, timeout=30)
    token = Wallet().login(http)
    created = new_key(http, token)
    assert _chat(second.url, created["key"]) == 200
    return Replicas(first.url, second.url, created["key"], created["id"], token)


def test_a_key_deleted_at_one_replica_is_refused_at_the_other(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str, redis_url: str
) -> None:
    replicas = _key_remembered_by_second(start_gateway, upstream, sqlite_url, redis_url=redis_url)
    replicas.delete_key_at_first()
    assert _chat(replicas.first, replicas.key) == 401
    assert _refused_within(replicas.second, replicas.key, REFUSED_WITHIN_S)


def test_without_redis_the_other_replica_still_remembers_the_key(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    # The contrast that shows the announcement is what refuses the key above.
    replicas = _key_remembered_by_second(start_gateway, upstream, sqlite_url)
    replicas.delete_key_at_first()
    assert _chat(replicas.first, replicas.key) == 401
    assert _chat(replicas.second, replicas.key) == 200


def test_a_replica_that_lost_its_subscription_misses_no_revocation(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str, redis_url: str
) -> None:
    replicas = _key_remembered_by_second(start_gateway, upstream, sqlite_url, redis_url=redis_url)
    # Cut every subscription, then revoke at once: the announcement may well be sent
    # while the second replica is not listening.
    Redis.from_url(redis_url).client_kill_filter(_type="pubsub")
    replicas.delete_key_at_first()
    assert _refused_within(replicas.second, replicas.key, REFUSED_WITHIN_S)


@pytest.mark.parametrize("data", [b"key-1", "key-1"])
def test_announcements_decode_to_key_ids(data: bytes | str) -> None:
    assert revocations._text(data) == "key-1"
