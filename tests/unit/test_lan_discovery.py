"""The pure parts of LAN discovery: which interfaces take part, and the TXT record."""

from computemesh.ids import PeerId
from computemesh.p2p import lan
from computemesh.p2p.identity import generate

PEER = PeerId(generate("ed25519").peer_id)


def test_a_node_on_loopback_only_has_no_mdns_interface() -> None:
    assert lan.lan_ips(["/ip4/127.0.0.1/tcp/4001"]) == []
    assert lan.lan_ips(["/ip6/::1/tcp/4001", "/ip4/127.0.0.1/tcp/0"]) == []


def test_a_wildcard_listener_takes_every_interface_but_loopback() -> None:
    found = lan.lan_ips(["/ip4/0.0.0.0/tcp/4001"])
    assert "127.0.0.1" not in found
    assert found == sorted(set(found))


def test_an_address_of_no_interface_of_this_machine_is_not_used() -> None:
    assert lan.lan_ips(["/ip4/192.0.2.77/tcp/4001"]) == []


def test_only_addresses_on_the_mdns_interfaces_are_announced() -> None:
    addrs = ["/ip4/10.0.0.2/tcp/4001", "/ip4/127.0.0.1/tcp/4001"]
    assert lan.on_lan(addrs, ["10.0.0.2"]) == ["/ip4/10.0.0.2/tcp/4001"]


def test_the_txt_record_is_libp2ps_dnsaddr_format_and_reads_back() -> None:
    addrs = ["/ip4/10.0.0.2/tcp/4001", "/ip4/10.1.0.2/tcp/4001"]
    record = lan.txt_record(PEER, addrs)
    assert record[b"dnsaddr"] == f"/ip4/10.0.0.2/tcp/4001/p2p/{PEER}".encode()
    assert b"dnsaddr2" in record
    assert lan.parse_txt(dict(record)) == (PEER, addrs)


def test_a_record_naming_two_peers_or_none_is_ignored() -> None:
    other = PeerId(generate("ed25519").peer_id)
    two = {**lan.txt_record(PEER, ["/ip4/10.0.0.2/tcp/1"])}
    two[b"dnsaddr2"] = f"/ip4/10.0.0.3/tcp/1/p2p/{other}".encode()
    assert lan.parse_txt(two) is None
    assert lan.parse_txt({b"id": PEER.encode(), b"dnsaddr": None}) is None
