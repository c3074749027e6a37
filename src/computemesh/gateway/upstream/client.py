"""Send a request to the first node that takes the connection; stream the answer back.

``OCF_HEAD_URL`` lists nodes in order of preference. A node that refuses the
connection is skipped for a cool-down, so a dead first node costs one failed
connect per cool-down rather than one per request. Only connection failures fail
over: once a node has the request it may have started work, so later errors are
reported (502, or 504 for a timeout) instead of being retried elsewhere.
"""

import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import httpx

from computemesh.gateway.errors import UpstreamError, UpstreamTimeout

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 5.0


@dataclass(slots=True)
class UpstreamResponse:
    """A node's answer with its body not yet read."""

    status: int
    headers: httpx.Headers
    response: httpx.Response

    async def read(self) -> bytes:
        try:
            return await self.response.aread()
        except httpx.TimeoutException:
            raise UpstreamTimeout("the node did not finish its answer in time") from None
        except httpx.HTTPError as error:
            raise UpstreamError(f"the node broke off its answer ({type(error).__name__})") from None
        finally:
            await self.response.aclose()

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.aiter_raw():
                yield chunk
        except httpx.HTTPError as error:
            raise UpstreamError(f"the node broke off its stream ({type(error).__name__})") from None
        finally:
            await self.response.aclose()


class NodeClient:
    def __init__(self, urls: list[str], timeout: float, cooldown: float) -> None:
        self._urls = urls
        self._cooldown = cooldown
        self._down_until: dict[str, float] = {}
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT_S),
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200),
        )

    async def send(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] = {}
    ) -> UpstreamResponse:
        for url in self._in_turn():
            request = self._http.build_request(method, url + path, content=body, headers=headers)
            try:
                response = await self._http.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                log.warning("node %s refused the connection (%s); trying the next", url, error)
                self._down_until[url] = time.monotonic() + self._cooldown
                continue
            except httpx.TimeoutException:
                raise UpstreamTimeout("the node did not answer in time") from None
            except httpx.HTTPError as error:
                raise UpstreamError(f"the node failed ({type(error).__name__})") from None
            self._down_until.pop(url, None)
            return UpstreamResponse(response.status_code, response.headers, response)
        raise UpstreamError("no node could be reached")

    async def get_json(self, path: str) -> object:
        upstream = await self.send("GET", path)
        body = await upstream.read()
        if upstream.status != 200:
            raise UpstreamError(f"the node answered {upstream.status} for {path}")
        try:
            return httpx.Response(200, content=body).json()
        except ValueError:
            raise UpstreamError(f"the node sent invalid JSON for {path}") from None

    async def aclose(self) -> None:
        await self._http.aclose()

    def _in_turn(self) -> list[str]:
        """Nodes not cooling down first, in the configured order; cooling ones as a last resort."""
        now = time.monotonic()
        up = [url for url in self._urls if self._down_until.get(url, 0.0) <= now]
        return up + [url for url in self._urls if url not in up]
