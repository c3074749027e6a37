"""Which claimed addresses a node dials (p2p.plausible): the rule, address by address."""

import ipaddress

import pytest
from libp2p.peer.id import ID
from multiaddr import Multiaddr

from computemesh.p2p.identity import generate
from computemesh.p2p.plausible import AddressPolicy, Network, local_networks

LAN = ipaddress.ip_network("192.168.7.0/24")
LOOPBACK_NET = ipaddress.ip_network("127.0.0.0/8")


def peer() -> ID:
    return ID.from_base58(generate("ed25519").peer_id)


def policy(
    listen: str = "/ip4/192.168.7.2/tcp/4001", networks: list[Network] | None = None
) -> AddressPolicy:
    return AddressPolicy(
        lambda: [Multiaddr(listen)],
        lambda: [LOOPBACK_NET, LAN] if networks is None else networks,
    )


def tcp(ip: str, port: int = 4001) -> Multiaddr:
    family = "ip6" if ":" in ip else "ip4"
    return Multiaddr(f"/{family}/{ip}/tcp/{port}")


def test_a_loopback_address_of_a_peer_seen_on_another_machine_is_not_dialed() -> None:
    rules, other = policy(listen="/ip4/127.0.0.1/tcp/4001"), peer()
    rules.observe(other, "192.168.7.9")
    assert not rules.plausible(other, tcp("127.0.0.1", 8092))
    assert not rules.plausible(other, tcp("::ffff:127.0.0.1", 8092))
    assert rules.plausible(other, tcp("192.168.7.9"))


def test_a_loopback_address_of_a_never_seen_peer_is_dialed_only_by_a_loopback_node() -> None:
    unseen = peer()
    assert policy(listen="/ip4/127.0.0.1/tcp/4001").plausible(unseen, tcp("127.0.0.1"))
    assert not policy(listen="/ip4/0.0.0.0/tcp/4001").plausible(unseen, tcp("127.0.0.1"))
    assert not policy(listen="/ip4/192.168.7.2/tcp/4001").plausible(unseen, tcp("127.0.0.1"))
    assert not policy(listen="/ip6/::1/tcp/4001").plausible(unseen, tcp("192.168.99.1"))


def test_a_loopback_address_of_a_peer_reached_over_loopback_is_dialed() -> None:
    rules, local = policy(listen="/ip4/0.0.0.0/tcp/4001"), peer()
    rules.observe(local, "127.0.0.1")
    assert rules.plausible(local, tcp("127.0.0.1", 5000))


def test_a_private_address_is_dialed_only_on_the_same_lan_or_where_the_peer_was_seen() -> None:
    rules, other = policy(), peer()
    assert rules.plausible(other, tcp("192.168.7.50"))
    assert not rules.plausible(other, tcp("10.77.0.5"))
    assert not rules.plausible(other, tcp("100.64.3.4"))  # shared address space (CGNAT)
    assert not rules.plausible(other, tcp("169.254.1.1"))
    assert not rules.plausible(other, tcp("fd00::5"))
    rules.observe(other, "10.77.0.5")
    assert rules.plausible(other, tcp("10.77.0.5", 9999))
    assert not rules.plausible(peer(), tcp("10.77.0.5"))  # what was seen is per peer


def test_public_addresses_are_dialed_names_and_nonsense_are_not() -> None:
    rules, other = policy(), peer()
    assert rules.plausible(other, tcp("11.22.33.44"))
    assert rules.plausible(other, tcp("2a00:1450::1"))
    for refused in (
        Multiaddr("/dns4/localhost/tcp/4001"),
        Multiaddr("/dns4/example.com/tcp/4001"),
        tcp("0.0.0.0"),
        tcp("::"),
        tcp("224.0.0.251"),
    ):
        assert not rules.plausible(other, refused), refused


def test_the_operators_addresses_are_dialed_as_given() -> None:
    rules, bootstrap = policy(listen="/ip4/0.0.0.0/tcp/4001"), peer()
    given = [Multiaddr("/dns4/bootstrap.example/tcp/4001"), tcp("10.77.0.5")]
    rules.trust(bootstrap, given)
    assert all(rules.plausible(bootstrap, addr) for addr in given)
    assert not rules.plausible(bootstrap, tcp("10.77.0.6"))
    assert bootstrap in rules.trusted_peers()


def test_forgetting_a_peer_drops_where_it_was_seen() -> None:
    rules, gone, kept = policy(), peer(), peer()
    rules.observe(gone, "10.77.0.5")
    rules.observe(kept, "10.77.0.6")
    rules.forget(gone)
    rules.retain({kept})
    assert not rules.plausible(gone, tcp("10.77.0.5"))
    assert rules.plausible(kept, tcp("10.77.0.6"))
    rules.retain(set())
    assert not rules.plausible(kept, tcp("10.77.0.6"))


@pytest.mark.parametrize("garbage", ["", "not-an-ip", "fe80::1%eth0"])
def test_an_unreadable_remote_address_is_ignored(garbage: str) -> None:
    rules, other = policy(), peer()
    rules.observe(other, garbage)
    assert not rules.plausible(other, tcp("10.77.0.5"))


def test_this_machines_interfaces_include_loopback() -> None:
    assert any(ipaddress.ip_address("127.0.0.1") in network for network in local_networks())
