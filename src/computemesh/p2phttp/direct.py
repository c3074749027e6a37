"""Sends a forwarded request straight to the transport mounted for its URL scheme.

A node relays other people's requests, so it must not act like one user's client.
httpx's ``AsyncClient`` keeps every cookie an upstream sets and sends it with later
requests to that host, whoever makes them, and adds its own default headers. None of
that belongs in a relay, and skipping the client's per-request work (cookies, auth,
redirects, hooks, and building an ``httpx.Request``) also saves CPU on every forward.
"""

from collections.abc import Mapping

import httpx

from computemesh.p2phttp.transport import Body, H11Transport, Outgoing


class DirectSender:
    """``libp2p://`` and ``http://`` requests, each to its mounted transport as it is."""

    def __init__(self, transports: Mapping[str, H11Transport]) -> None:
        self._transports = dict(transports)  # by URL scheme, e.g. "libp2p", "http"

    def build(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: Body,
        timeout: httpx.Timeout,
        deadline: float | None = None,
    ) -> Outgoing:
        """The request with only the caller's headers (plus Host and the body's framing).

        ``deadline`` (``time.monotonic()``) bounds the response body's reads too.
        """
        return Outgoing(method, url, headers, body, timeout.as_dict(), deadline)

    async def send(self, request: Outgoing) -> httpx.Response:
        scheme = request.url.partition("://")[0]
        transport = self._transports.get(scheme)
        if transport is None:
            raise httpx.UnsupportedProtocol(f"cannot forward to a {scheme!r} URL")
        return await transport.send(request)
