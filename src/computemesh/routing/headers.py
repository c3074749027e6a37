"""Which headers cross a proxy hop (RFC 9110 §7.6.1: hop-by-hop ones never do), and the
request id that every hop carries."""

from collections.abc import Iterable

from computemesh import request_id

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        # Recomputed for the next hop by the HTTP client or server.
        "host",
        "content-length",
    }
)

Headers = list[tuple[str, str]]


def end_to_end(headers: Iterable[tuple[str, str]]) -> Headers:
    """Drop hop-by-hop headers, including any the ``Connection`` header names."""
    pairs = [(name.lower(), value) for name, value in headers]
    named = {
        token.strip().lower()
        for name, value in pairs
        if name == "connection"
        for token in value.split(",")
    }
    return [(name, value) for name, value in pairs if name not in HOP_BY_HOP | named]


def with_request_id(headers: Headers) -> Headers:
    """``headers`` naming the request being served (``X-Request-Id``), when there is one.

    A forward built from the client's headers already carries it; one the node builds
    itself (AICN's calls to peers) gets it here, so the provider's log names it too.
    """
    current = request_id.current.get()
    if current is None or any(name == request_id.HEADER for name, _ in headers):
        return headers
    return [*headers, (request_id.HEADER, current)]
