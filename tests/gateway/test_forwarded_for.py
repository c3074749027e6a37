"""Per-client limits behind a proxy: ``X-Forwarded-For`` names the client only when the proxy
is in ``trusted_proxies`` (the rightmost hop that is not a trusted proxy); from anyone else
it is ignored, so it cannot buy a caller fresh budgets. Real gateway processes."""

from collections.abc import Callable

import httpx

from tests.gateway import harness

StartGateway = Callable[..., harness.Process]
CHAT = {"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}]}


def statuses(url: str, forwarded_for: list[str]) -> list[int]:
    return [
        httpx.post(
            url + "/v1/chat/completions", json=CHAT, headers={"x-forwarded-for": hop}
        ).status_code
        for hop in forwarded_for
    ]


def test_forwarded_for_from_an_untrusted_caller_is_ignored(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    gateway = start_gateway([upstream.url], sqlite_url, ip_rpm="2")
    # Three made-up clients are still the one caller on 127.0.0.1.
    assert statuses(gateway.url, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) == [200, 200, 429]


def test_a_trusted_proxy_names_each_client(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    gateway = start_gateway(
        [upstream.url], sqlite_url, ip_rpm="2", trusted_proxies="127.0.0.0/8, 192.168.1.1"
    )
    assert statuses(gateway.url, ["10.0.0.1", "10.0.0.2", "10.0.0.1"]) == [200, 200, 200]
    # A client's own X-Forwarded-For is left of what the proxies appended: the rightmost
    # untrusted hop is the client, whatever it claims before that.
    spoofed = ["203.0.113.7, 10.0.0.1", "198.51.100.9, 10.0.0.1, 192.168.1.1"]
    assert statuses(gateway.url, spoofed) == [429, 429]
    assert statuses(gateway.url, ["10.0.0.2", "10.0.0.2", "10.0.0.3"]) == [200, 429, 200]


def test_login_messages_are_limited_per_forwarded_client(
    start_gateway: StartGateway, upstream: harness.Process, sqlite_url: str
) -> None:
    gateway = start_gateway(
        [upstream.url], sqlite_url, nonce_ip_rpm="1", trusted_proxies="127.0.0.1"
    )

    def ask(client: str) -> int:
        address = "0x" + client.split(".")[-1].rjust(40, "0")
        return httpx.get(
            gateway.url + "/api/auth/nonce",
            params={"address": address},
            headers={"x-forwarded-for": client},
        ).status_code

    assert [ask("10.0.0.1"), ask("10.0.0.2"), ask("10.0.0.1")] == [200, 200, 429]
