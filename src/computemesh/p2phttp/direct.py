"""Sends a forwarded request straight to the transport mounted for its URL scheme.

A node relays other people's requests, so it must not act like one user's client.
httpx's ``AsyncClient`` keeps every cookie an upstream sets and sends it with later
requests to that host, whoever makes them, and adds its own default headers. None of
that belongs in a relay, and skipping the client's per-request work (cookies, auth,
redirects, hooks) also saves CPU on every forward.
"""

from collections.abc import AsyncIterable, Mapping

import httpx


class DirectSender:
    """``libp2p://`` and ``http://`` requests, each to its mounted transport as it is."""

    def __init__(self, transports: Mapping[str, httpx.AsyncBaseTransport]) -> None:
        self._transports = dict(transports)  # by URL scheme, e.g. "libp2p", "http"

    def build(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes | AsyncIterable[bytes],
        timeout: httpx.Timeout,
    ) -> httpx.Request:
        """The request with only the caller's headers (plus Host and the body's framing)."""
        return httpx.Request(
            method, url, headers=headers, content=body, extensions={"timeout": timeout.as_dict()}
        )

    async def send(self, request: httpx.Request) -> httpx.Response:
        transport = self._transports.get(request.url.scheme)
        if transport is None:
            raise httpx.UnsupportedProtocol(
                f"cannot forward to a {request.url.scheme!r} URL", request=request
            )
        response = await transport.handle_async_request(request)
        response.request = request
        return response
