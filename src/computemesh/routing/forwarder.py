"""One forwarded HTTP exchange: send the request, wait for the head and the first bytes.

The response is handed back only once its first body bytes (or its end) arrived,
so a provider that resets before sending anything is still a clean, retryable
failure: nothing has reached the client yet.
"""

import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx

from computemesh.p2phttp.direct import DirectSender
from computemesh.routing.errors import DeadlineExceeded, Unreachable
from computemesh.routing.headers import Headers, end_to_end, with_request_id

OnClose = Callable[[], None]


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    first_byte: float = 300.0
    total: float = 900.0


@dataclass(frozen=True)
class Outbound:
    """A request to forward; ``path`` is raw (percent-encoded) and starts with ``/``."""

    method: str
    path: str
    query: bytes
    headers: Headers
    body: bytes | AsyncIterable[bytes] = b""

    def target(self) -> str:
        return self.path + ("?" + self.query.decode("latin-1") if self.query else "")


@dataclass
class Forwarded:
    """A response whose head and first bytes arrived; iterate ``chunks`` then ``aclose``."""

    status: int
    headers: Headers
    first: bytes
    elapsed_s: float
    _rest: AsyncIterator[bytes]
    _response: httpx.Response
    _on_close: list[OnClose] = field(default_factory=list)
    complete: bool = False
    """The whole body is ``first`` (its declared length arrived at once): the answer
    can go out in one piece, with a length, instead of as a stream."""

    @property
    def content_type(self) -> str:
        return dict(self.headers).get("content-type", "")

    def on_close(self, callback: OnClose) -> None:
        self._on_close.append(callback)

    async def chunks(self) -> AsyncIterator[bytes]:
        if self.first:
            yield self.first
        async for chunk in self._rest:
            yield chunk

    async def read_all(self) -> bytes:
        return b"".join([chunk async for chunk in self.chunks()])

    async def aclose(self) -> None:
        callbacks, self._on_close = self._on_close, []
        for callback in callbacks:
            callback()
        await self._response.aclose()


async def forward(
    http: DirectSender, url: str, request: Outbound, timeouts: Timeouts, deadline: float
) -> Forwarded:
    """Send ``request`` to ``url``; raise ``Unreachable`` or ``DeadlineExceeded`` on failure.

    The transport keeps the time limits (connect, then first byte, none past
    ``deadline``): a scope of our own around it cost each forward as much again.
    """
    started = time.monotonic()
    remaining = deadline - started
    if remaining <= 0:
        raise DeadlineExceeded("the request deadline passed")
    timeout = httpx.Timeout(
        connect=timeouts.connect, read=timeouts.first_byte, write=timeouts.connect, pool=remaining
    )
    headers = with_request_id(request.headers)
    outbound = http.build(request.method, url, headers, request.body, timeout, deadline)
    try:
        response = await http.send(outbound)
    except httpx.HTTPError as error:
        raise _failure(url, error, deadline) from error
    try:
        # The transport's own chunks: httpx's aiter_raw would add a layer per chunk.
        assert isinstance(response.stream, httpx.AsyncByteStream)
        rest = aiter(response.stream)
        first = await _first_bytes(rest)
        complete = _is_whole_body(response, first)
        if complete:
            async for _ in rest:  # only the end marker is left: frees the connection now
                pass
    except BaseException as error:
        await response.aclose()
        if isinstance(error, httpx.HTTPError):
            raise _failure(url, error, deadline, "broke before the first byte: ") from error
        raise
    return Forwarded(
        status=response.status_code,
        headers=end_to_end(response.headers.multi_items()),
        first=first,
        elapsed_s=time.monotonic() - started,
        _rest=rest,
        _response=response,
        complete=complete,
    )


def _failure(url: str, error: httpx.HTTPError, deadline: float, when: str = "") -> Exception:
    # 1 ms of slack: the time limit ran on trio's clock, the deadline on time.monotonic().
    if isinstance(error, httpx.TimeoutException) and time.monotonic() >= deadline - 0.001:
        return DeadlineExceeded(f"no answer from {url} before the deadline")
    return Unreachable(f"{url}: {when}{error or type(error).__name__}")


def _is_whole_body(response: httpx.Response, first: bytes) -> bool:
    # Raw bytes (still content-encoded) are what Content-Length counts.
    length = response.headers.get("content-length", "")
    return length.isdigit() and int(length) == len(first)


async def _first_bytes(chunks: AsyncIterator[bytes]) -> bytes:
    async for chunk in chunks:
        if chunk:
            return chunk
    return b""
