"""The Redis limiter: one Lua script decides for every descriptor at once, so replicas agree.

Each descriptor keeps a sorted set of admitted request ids scored by Redis's own
clock (``TIME``, so replicas with skewed clocks still share one window), a sorted
set of token charges and their running sum. The script expires old entries, checks
every limit, and admits under all of them or none: atomic, because Redis runs a
script alone.
"""

from typing import Any

from redis import exceptions
from redis.asyncio import Redis

from computemesh.gateway.errors import Unavailable
from computemesh.gateway.ratelimit.limits import WINDOW_S, Decision, Limit, Usage

WINDOW_MS = int(WINDOW_S * 1000)
# Without these a server that accepts and never answers (not Redis, or a stuck one)
# would hold the start, or a request, for ever.
TIMEOUT_S = 5.0

_EXPIRE = """
local function expire(rk, tk, sk, cutoff)
  redis.call('ZREMRANGEBYSCORE', rk, '-inf', cutoff)
  local gone = 0
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', tk, '-inf', cutoff)) do
    gone = gone + tonumber(string.match(member, ':(%d+)$'))
  end
  if gone > 0 then
    redis.call('ZREMRANGEBYSCORE', tk, '-inf', cutoff)
    redis.call('DECRBY', sk, gone)
  end
end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""

ACQUIRE = (
    _EXPIRE
    + """
local now, window, member = now_ms(), tonumber(ARGV[1]), ARGV[2]
local n = #KEYS / 3
local counts, tokens, resets = {}, {}, {}
local retry = 0
for i = 1, n do
  local rk, tk, sk = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
  local rlimit, tlimit = tonumber(ARGV[2*i+1]), tonumber(ARGV[2*i+2])
  expire(rk, tk, sk, now - window)
  counts[i] = redis.call('ZCARD', rk)
  tokens[i] = tonumber(redis.call('GET', sk) or '0')
  if rlimit > 0 and counts[i] >= rlimit then
    local edge = redis.call('ZRANGE', rk, counts[i] - rlimit, counts[i] - rlimit, 'WITHSCORES')
    retry = math.max(retry, tonumber(edge[2]) + window - now)
  end
  if tlimit > 0 and tokens[i] >= tlimit then
    local spent = tokens[i]
    for _, entry in ipairs(redis.call('ZRANGE', tk, 0, -1, 'WITHSCORES')) do
      if type(entry) == 'string' and string.find(entry, ':') then
        spent = spent - tonumber(string.match(entry, ':(%d+)$'))
      elseif spent < tlimit then
        retry = math.max(retry, tonumber(entry) + window - now)
        break
      end
    end
  end
end
local allowed = 0
if retry <= 0 then
  allowed = 1
  for i = 1, n do
    redis.call('ZADD', KEYS[3*i-2], now, member)
    counts[i] = counts[i] + 1
    for j = 0, 2 do redis.call('PEXPIRE', KEYS[3*i-j], window) end
  end
end
for i = 1, n do
  local oldest = redis.call('ZRANGE', KEYS[3*i-2], 0, 0, 'WITHSCORES')
  resets[i] = oldest[2] and (tonumber(oldest[2]) + window - now) or 0
end
return {allowed, retry, counts, tokens, resets}
"""
)

ADD_TOKENS = (
    _EXPIRE
    + """
local now, window, member = now_ms(), tonumber(ARGV[1]), ARGV[2]
for i = 1, #KEYS / 3 do
  local rk, tk, sk = KEYS[3*i-2], KEYS[3*i-1], KEYS[3*i]
  expire(rk, tk, sk, now - window)
  redis.call('ZADD', tk, now, member)
  redis.call('INCRBY', sk, tonumber(ARGV[3]))
  for j = 0, 2 do redis.call('PEXPIRE', KEYS[3*i-j], window) end
end
return 1
"""
)


class RedisRateLimiter:
    def __init__(self, url: str, prefix: str = "computemesh:rl:") -> None:
        self._redis: Redis = Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S
        )
        self._prefix = prefix
        self._acquire: Any = self._redis.register_script(ACQUIRE)
        self._add_tokens: Any = self._redis.register_script(ADD_TOKENS)

    async def ping(self) -> None:
        """Unavailable, in one line, unless a Redis server answers at the URL."""
        try:
            await self._redis.ping()
        except (exceptions.RedisError, OSError) as error:
            kwargs = self._redis.connection_pool.connection_kwargs
            where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
            reason = str(error) or type(error).__name__
            raise Unavailable(f"Redis at {where} cannot be used: {reason}") from None

    async def acquire(self, limits: list[Limit], request_id: str) -> Decision:
        thresholds = [str(v) for limit in limits for v in (limit.requests, limit.tokens)]
        reply = await self._acquire(
            keys=self._keys(limits), args=[WINDOW_MS, request_id, *thresholds]
        )
        allowed, retry_ms, counts, tokens, resets = reply
        usages = tuple(
            Usage(limit, int(count), int(spent), int(reset) / 1000)
            for limit, count, spent, reset in zip(limits, counts, tokens, resets, strict=True)
        )
        return Decision(allowed=bool(allowed), retry_after=int(retry_ms) / 1000, usages=usages)

    async def add_tokens(self, limits: list[Limit], request_id: str, tokens: int) -> None:
        if tokens > 0 and limits:
            member = f"{request_id}:{tokens}"
            await self._add_tokens(keys=self._keys(limits), args=[WINDOW_MS, member, tokens])

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _keys(self, limits: list[Limit]) -> list[str]:
        # One hash tag for all keys of a descriptor keeps each descriptor on one cluster slot.
        return [
            f"{self._prefix}{{{limit.name}}}:{part}" for limit in limits for part in ("r", "t", "s")
        ]
