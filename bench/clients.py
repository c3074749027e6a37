"""The HTTP client settings every bench uses."""

import httpx

# Servers here (nodes, llama.cpp, the test upstream) close a connection idle for 5 s,
# and httpx keeps one for 5 s: a request sent on it as the server closes it fails with
# "Server disconnected without sending a response" (seen in a forward bench). Bench
# clients drop idle connections first.
CLIENT_KEEPALIVE_S = 2.0


def client_limits(connections: int = 64) -> httpx.Limits:
    """Pool limits for a bench's httpx client."""
    return httpx.Limits(
        max_connections=connections,
        max_keepalive_connections=connections,
        keepalive_expiry=CLIENT_KEEPALIVE_S,
    )
