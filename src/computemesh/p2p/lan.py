"""Finding the nodes of this network on the LAN by mDNS, in libp2p's mDNS format.

A node announces a DNS-SD service (type from ``rendezvous.lan_service_type``) whose
TXT record lists its addresses as ``dnsaddr=<multiaddr>/p2p/<peer id>``, and browses
for the same type; each node found is handed to ``on_found``, which dials it.

Only interfaces that carry one of the node's listen addresses take part: a node
listening on 127.0.0.1 (tests, benches, the demo) has none, so it starts no mDNS at
all and never sends a multicast packet; one listening on 0.0.0.0 uses every
interface with an IPv4 address that is not loopback.

py-libp2p 0.8.1's ``MDNSDiscovery`` is not used, for its defects: it opens zeroconf
on every interface whatever the host listens on (a loopback-only node multicasts on
the LAN); it announces as A records the address of the default route, or 127.0.0.1
when there is none; it writes the peerstore from zeroconf's thread; and it reports
peers through a process-wide emitter shared by every host. Here zeroconf is opened
on the chosen interfaces only, announces their addresses, and its thread hands what
it finds to the trio loop, which owns everything else.
"""

import ipaddress
import logging
import secrets
import socket
from collections.abc import Callable

import psutil
import trio
from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

from computemesh.ids import PeerId

log = logging.getLogger(__name__)

Found = Callable[[PeerId, list[str]], None]
INFO_TIMEOUT_MS = 3000
DNSADDR = b"dnsaddr"


def lan_ips(listen_addrs: list[str]) -> list[str]:
    """The IPv4 addresses of the interfaces that carry one of ``listen_addrs``."""
    own = _interface_ipv4()
    chosen: list[str] = []
    for addr in listen_addrs:
        parts = addr.split("/")
        if len(parts) < 3 or parts[1] != "ip4":
            continue
        ip = ipaddress.IPv4Address(parts[2])
        candidates = [a for a in own if not a.is_loopback] if ip.is_unspecified else [ip]
        chosen.extend(str(a) for a in candidates if a in own and not a.is_loopback)
    return sorted(set(chosen))


def _interface_ipv4() -> list[ipaddress.IPv4Address]:
    found: list[ipaddress.IPv4Address] = []
    for entries in psutil.net_if_addrs().values():
        ipv4 = (e.address for e in entries if e.family == socket.AF_INET)
        found.extend(ipaddress.IPv4Address(address) for address in ipv4)
    return found


def on_lan(addrs: list[str], ips: list[str]) -> list[str]:
    """Those of this node's ``addrs`` that are on one of the mDNS interfaces."""
    return [a for a in addrs if a.split("/")[2:3] and a.split("/")[2] in ips]


def txt_record(peer: PeerId, addrs: list[str]) -> dict[bytes, bytes]:
    """libp2p's mDNS TXT record: ``dnsaddr``, ``dnsaddr2``, … one address each."""
    record: dict[bytes, bytes] = {}
    for i, addr in enumerate(addrs):
        key = DNSADDR if i == 0 else DNSADDR + str(i + 1).encode()
        record[key] = f"{addr}/p2p/{peer}".encode()
    return record


def parse_txt(properties: dict[bytes, bytes | None]) -> tuple[PeerId, list[str]] | None:
    """The peer and its addresses from a TXT record, or None if it names no single peer."""
    peers: set[str] = set()
    addrs: list[str] = []
    for key, value in properties.items():
        if not key.startswith(DNSADDR) or value is None:
            continue
        addr, _, peer = value.decode(errors="replace").partition("/p2p/")
        if addr and peer:
            peers.add(peer)
            addrs.append(addr)
    if len(peers) != 1:
        return None
    return PeerId(peers.pop()), addrs


async def announce_and_browse(
    service_type: str, peer: PeerId, addrs: list[str], ips: list[str], on_found: Found
) -> None:
    """Announce this node on ``ips``' interfaces and report others until cancelled."""
    token = trio.lowlevel.current_trio_token()
    zeroconf = await trio.to_thread.run_sync(_open, ips)
    name = f"{secrets.token_hex(16)}.{service_type}"
    info = ServiceInfo(
        service_type,
        name,
        port=_port(addrs),
        properties=txt_record(peer, addrs),
        server=f"{name.split('.', 1)[0]}.local.",
        addresses=[socket.inet_aton(ip) for ip in ips],
    )

    def changed(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        # zeroconf's browser thread: resolve here (it may block), hand over to trio.
        if state_change is ServiceStateChange.Removed:
            return
        found = zeroconf.get_service_info(service_type, name, timeout=INFO_TIMEOUT_MS)
        parsed = parse_txt(found.properties) if found is not None else None
        if parsed is None or parsed[0] == peer:
            return
        try:
            token.run_sync_soon(on_found, *parsed)
        except trio.RunFinishedError:
            return

    browser: ServiceBrowser | None = None
    try:
        await trio.to_thread.run_sync(zeroconf.register_service, info)
        browser = ServiceBrowser(zeroconf, service_type, handlers=[changed])
        log.info("mDNS: announcing %s on %s", ", ".join(addrs), ", ".join(ips))
        await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            await trio.to_thread.run_sync(_close, zeroconf, browser, info)


def _open(ips: list[str]) -> Zeroconf:
    return Zeroconf(interfaces=list(ips), ip_version=IPVersion.V4Only)


def _close(zeroconf: Zeroconf, browser: ServiceBrowser | None, info: ServiceInfo) -> None:
    if browser is not None:
        browser.cancel()
    try:
        zeroconf.unregister_service(info)
    finally:
        zeroconf.close()


def _port(addrs: list[str]) -> int:
    for addr in addrs:
        parts = addr.split("/")
        if len(parts) > 4 and parts[3] == "tcp":
            return int(parts[4])
    return 0
