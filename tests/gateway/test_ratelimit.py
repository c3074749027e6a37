"""Rate limits: requests and tokens per minute, per key and per IP; 429 with Retry-After."""

import asyncio
import uuid

from computemesh.gateway.ratelimit.limits import Limit
from computemesh.gateway.ratelimit.memory import MemoryRateLimiter
from computemesh.gateway.ratelimit.redis import RedisRateLimiter
from tests.gateway.conftest import MakeClient, Wallet, bearer, new_key

CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": "Hello, how are you?"}]}


def test_requests_per_key(make_client: MakeClient, wallet: Wallet) -> None:
    client = make_client(key_rpm=3, ip_rpm=0)
    token = wallet.login(client)
    key, other = bearer(new_key(client, token)["key"]), bearer(new_key(client, token)["key"])
    remaining = []
    for _ in range(3):
        response = client.post("/api/v1/chat/completions", json=CHAT, headers=key)
        assert response.status_code == 200
        remaining.append(response.headers["x-ratelimit-remaining-requests"])
    assert remaining == ["2", "1", "0"]
    refused = client.post("/api/v1/chat/completions", json=CHAT, headers=key)
    assert refused.status_code == 429
    assert refused.json() == {"detail": "rate limit exceeded"}
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-limit-requests"] == "3"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    # Another key has its own budget.
    assert client.post("/api/v1/chat/completions", json=CHAT, headers=other).status_code == 200


def test_tokens_per_key(make_client: MakeClient, wallet: Wallet) -> None:
    client = make_client(key_tpm=10, ip_rpm=0)
    key = bearer(new_key(client, wallet.login(client))["key"])
    first = client.post("/api/v1/chat/completions", json=CHAT, headers=key)
    assert first.status_code == 200
    assert first.headers["x-ratelimit-remaining-tokens"] == "10"  # charged after the answer
    refused = client.post("/api/v1/chat/completions", json=CHAT, headers=key)
    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-remaining-tokens"] == "0"
    assert "retry-after" in refused.headers


def test_requests_per_ip_cover_open_routes(make_client: MakeClient) -> None:
    client = make_client(ip_rpm=2)
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
    assert client.get("/api/models/public").status_code == 200
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 429
    assert client.get("/health").status_code == 200  # health checks are never limited


def _limit(requests: int = 0, tokens: int = 0) -> Limit:
    return Limit(f"test:{uuid.uuid4()}", requests, tokens)


async def _burst(limiter: MemoryRateLimiter | RedisRateLimiter, limits: list[Limit], n: int) -> int:
    decisions = await asyncio.gather(
        *(limiter.acquire(limits, str(uuid.uuid4())) for _ in range(n))
    )
    return sum(d.allowed for d in decisions)


def test_memory_limiter_is_exact_and_atomic_across_descriptors() -> None:
    async def scenario() -> None:
        limiter = MemoryRateLimiter()
        tight, loose = _limit(requests=5), _limit(requests=100)
        assert await _burst(limiter, [tight, loose], 50) == 5
        # Refused requests were not charged to the looser descriptor either.
        decision = await limiter.acquire([loose], "x")
        assert decision.usages[0].requests == 6

    asyncio.run(scenario())


def test_redis_limiter_is_exact_under_concurrency(redis_url: str) -> None:
    async def scenario() -> None:
        limiters = [RedisRateLimiter(redis_url) for _ in range(4)]  # as if 4 replicas
        try:
            tight, loose = _limit(requests=50), _limit(requests=1000)
            results = await asyncio.gather(*(_burst(lim, [tight, loose], 50) for lim in limiters))
            assert sum(results) == 50
            decision = await limiters[0].acquire([loose], "x")
            assert decision.usages[0].requests == 51
            refused = await limiters[1].acquire([tight], "y")
            assert not refused.allowed
            assert 0 < refused.retry_after <= 60
        finally:
            for limiter in limiters:
                await limiter.aclose()

    asyncio.run(scenario())


def test_redis_token_budget(redis_url: str) -> None:
    async def scenario() -> None:
        limiter = RedisRateLimiter(redis_url)
        try:
            budget = [_limit(tokens=100)]
            assert (await limiter.acquire(budget, "a")).allowed
            await limiter.add_tokens(budget, "a", 60)
            assert (await limiter.acquire(budget, "b")).allowed
            await limiter.add_tokens(budget, "b", 60)
            refused = await limiter.acquire(budget, "c")
            assert not refused.allowed
            assert refused.usages[0].tokens == 120
            assert 0 < refused.retry_after <= 60
        finally:
            await limiter.aclose()

    asyncio.run(scenario())
