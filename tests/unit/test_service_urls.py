"""Service URLs, hosts and ports checked at the edge; claims and probes that cannot fail."""

import socket

import httpx
import pytest

from computemesh.errors import ConfigError
from computemesh.ids import PeerId
from computemesh.registry import service_urls
from computemesh.registry.health import probe_once
from computemesh.registry.own_record import OwnRecord
from computemesh.registry.service_urls import (
    BadServiceAddress,
    OwnEndpoints,
    ServiceAddress,
    check_host,
    check_port,
    check_url,
    service_url,
)
from computemesh.registry.services import LocalService, parse_services

BAD_URLS = [
    "http://127.0.0.1:abc/v1/chat/completions",
    "http://127.0.0.1:99999/v1/chat/completions",
    "http://127.0.0.1:0/v1",
    "http://\u007f@127.0.0.1/v1/chat/completions",
    "http://user@127.0.0.1:8000/v1",
    "http://127.0.0.1:8000/v1 chat",
    "http://127.0.0.1:8000/v1\n",
    "http://127.0.0.1:8000/caf\u00e9",
    "http://:8000/v1",
    "http://ex\u00e4mple.com/v1",
    "ftp://127.0.0.1/x",
    "127.0.0.1:8000",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_unusable_urls_are_refused_with_a_reason(url: str) -> None:
    with pytest.raises(BadServiceAddress, match=r"\S"):
        check_url(url)


def test_usable_urls_give_scheme_host_and_port() -> None:
    assert check_url("http://127.0.0.1:1042/v1/chat/completions") == ServiceAddress(
        "http", "127.0.0.1", 1042
    )
    assert check_url("https://LocalHost/v1").origin == "https://localhost:443"
    assert check_url("http://[::1]:8000/v1").origin == "http://[::1]:8000"


@pytest.mark.parametrize("host", ["a\x7fb", "a b", "evil/x", "a@b", "", "-x.com", "x" * 300])
def test_bad_hosts_are_refused(host: str) -> None:
    with pytest.raises(BadServiceAddress):
        check_host(host)


@pytest.mark.parametrize("port", ["abc", 0, 65536, 99999, -1, "8o", True, 1.5, "\u0661"])
def test_bad_ports_are_refused(port: object) -> None:
    with pytest.raises(BadServiceAddress):
        check_port(port)


def test_service_urls_bracket_ipv6() -> None:
    assert service_url("::1", "8000") == "http://[::1]:8000"
    assert service_url("vllm.internal", 8000) == "http://vllm.internal:8000"


def test_config_services_are_checked_the_same() -> None:
    with pytest.raises(ConfigError, match="--service llm: not a usable URL"):
        parse_services(["llm=http://127.0.0.1:abc"], [])


OWN = OwnEndpoints.of(8092, ["/ip4/127.0.0.1/tcp/43905/p2p/x", "/ip4/10.9.8.7/udp/4001/quic"])


@pytest.mark.parametrize(
    ("host", "port"),
    [
        ("127.0.0.1", 8092),
        ("127.0.0.2", 8092),
        ("localhost", 43905),
        ("0.0.0.0", 8092),
        ("::1", 4001),
        ("::ffff:127.0.0.1", 8092),
    ],
)
def test_a_service_may_not_point_at_the_nodes_own_ports(host: str, port: int) -> None:
    with pytest.raises(BadServiceAddress, match="own port"):
        OWN.check_not_self(ServiceAddress("http", host, port))


def test_other_ports_and_other_hosts_are_fine() -> None:
    OWN.check_not_self(ServiceAddress("http", "127.0.0.1", 8000))
    OWN.check_not_self(ServiceAddress("http", "192.0.2.1", 8092))  # not this machine


async def test_a_name_resolving_to_this_machine_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = socket.gethostname()  # resolves to one of this machine's addresses
    with pytest.raises(BadServiceAddress, match="own port"):
        OWN.check_not_self(ServiceAddress("http", name.lower(), 8092))
    # Not known by name any more: only the resolver can tell it is this machine.
    monkeypatch.setattr(service_urls.socket, "gethostname", lambda: "elsewhere")
    monkeypatch.setattr(service_urls.socket, "getfqdn", lambda: "elsewhere")
    OWN.check_not_self(ServiceAddress("http", name.lower(), 8092))
    with pytest.raises(BadServiceAddress, match="own port"):
        await OWN.check_not_self_resolved(ServiceAddress("http", name.lower(), 8092))
    await OWN.check_not_self_resolved(ServiceAddress("http", "no-such-host.invalid", 8092))


def test_a_service_whose_claim_fails_is_left_out_of_the_record() -> None:
    own = OwnRecord(peer_id=PeerId("p"), ttl=10, version="1")
    own.services["bad"] = LocalService("bad", "http://127.0.0.1:abc")
    own.services["good"] = LocalService("good", "http://127.0.0.1:8000")
    claims = own.next_claims()
    assert [service.name for service in claims.services] == ["good"]


async def test_a_probe_of_a_url_httpx_refuses_marks_it_unhealthy() -> None:
    # httpx.InvalidURL is no httpx.HTTPError: it used to escape the probe loop.
    own = OwnRecord(peer_id=PeerId("p"), ttl=10, version="1")
    own.services["bad"] = LocalService("bad", "http://\x7f@127.0.0.1")
    changes: list[bool] = []
    async with httpx.AsyncClient(trust_env=False) as client:
        await probe_once(client, own, lambda: changes.append(True))
    assert not own.services["bad"].healthy
    assert changes == [True]
